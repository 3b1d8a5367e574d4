// `move37 train RECIPE [--key.path=value ...]`: validate the recipe, make the run directory, run the trainer.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { locateRecipe, readRecipe, resolveRecipe } from "../recipes/load.js";
import { parseOverrides } from "../recipes/overrides.js";
import type { Trainer, TrainerContext } from "../recipes/registry.js";
import { createRun, RunNotFoundError } from "../runs/run.js";
import { createProgress, type Progress } from "../runs/progress.js";
import { spawnDashboard } from "../dashboard/spawn.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { prefetchRecipeDatasets, resolveRecipeModels, RECIPE_MODEL_KEYS } from "../hub/recipe.js";


export class MissingRecipeError extends Error {
  constructor() {
    super("give a recipe (a YAML file or a shipped recipe name), or --resume RUN_DIR: `move37 recipes ls` lists recipes");
    this.name = "MissingRecipeError";
  }
}

/** What `buildProgram` hands the verbs: the trainers a recipe may name (default: src/cli/trainers.ts's TRAINERS). */
export interface ProgramOptions { trainers?: readonly Trainer[] }

/**
 * The trainers a recipe may name: `trainers` when given (tests add their own), else every trainer of
 * src/cli/trainers.ts, imported here, when a recipe is run, so that verbs that run none start without them.
 */
export async function trainerList(trainers?: readonly Trainer[]): Promise<readonly Trainer[]> {
  return trainers ?? (await import("./trainers.js")).TRAINERS;
}

export async function train(recipeArg: string | undefined, opts: RunFlags, extra: string[], trainers?: readonly Trainer[]): Promise<void> {
  const overrides = parseOverrides(extra);
  let recipe: Record<string, unknown>;
  let source: string;
  if (recipeArg !== undefined) {
    source = locateRecipe(recipeArg);
    recipe = readRecipe(source);
  } else if (opts.resume !== undefined) {
    source = join(opts.resume, "config.json");
    if (!existsSync(source)) throw new RunNotFoundError(opts.resume);
    recipe = JSON.parse(readFileSync(source, "utf8")) as Record<string, unknown>;
  } else {
    throw new MissingRecipeError();
  }
  const { trainer, config, resolved } = resolveRecipe(recipe, overrides, source, await trainerList(trainers));
  if (opts.dryRun) {
    output.out(`# resolved from ${source}${extra.length ? " " + extra.join(" ") : ""}\n${toYaml(resolved)}`);
    return;
  }
  // Hub ids among the model keys → cached snapshot folders, downloaded on first use (docs/models.md, "Hub ids");
  // the run's config.json keeps the ids. Datasets resolve where they are read (src/data/files.ts), fetched here first.
  const hub = resolveRecipeModels(config);
  for (const [id, dir] of hub.resolved) output.err(`model ${id}: ${dir}\n`);
  prefetchRecipeDatasets(config);
  // A missing model folder fails here, before a run directory exists ("@stage" names a pipeline stage's output).
  const { requireModelFolder } = await import("../train/grpo-trainer.js"); // loaded with the trainers anyway
  for (const k of RECIPE_MODEL_KEYS) {
    const v = hub.config[k];
    if (typeof v === "string" && !v.startsWith("@")) requireModelFolder(v);
  }

  const run = createRun({
    trainer: trainer.name,
    config: resolved,
    root: opts.runsDir,
    name: opts.name,
    prefix: basename(source).replace(/\.(ya?ml|json)$/, ""),
    resumeDir: opts.resume,
    recipe: recipeArg,
  });
  output.err(`${opts.resume ? "resuming" : "run"} ${run.dir}\n`);
  // A taken port falls back to any free one; a dashboard that cannot start at all is a warning, not a lost run.
  const dashboard = opts.dashboard
    ? await spawnDashboard([run.dir], Number(opts.port))
        .catch(() => spawnDashboard([run.dir], 0))
        .catch((err: Error) => (output.err(`warning: ${err.message}\n`), null))
    : null;
  if (dashboard) output.err(`dashboard: ${dashboard.url}\n`);

  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) {
      run.setStatus("interrupted");
      process.exit(130);
    }
    ctx.log("stopping after this step (Ctrl-C again to quit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Messages go through the live progress bar, if one is shown, so they do not tear it.
  let bar: Progress | null = null;
  const ctx: TrainerContext = {
    signal: abort.signal,
    resume: opts.resume !== undefined,
    progress: progressOpts => {
      const p = createProgress(progressOpts);
      bar = p;
      return {
        ...p,
        stop() {
          p.stop();
          if (bar === p) bar = null;
        },
      };
    },
    log: message => (bar ? bar.log(message) : output.err(message.endsWith("\n") ? message : message + "\n")),
  };
  try {
    await trainer.run(hub.config, run, ctx);
    run.setStatus(abort.signal.aborted ? "interrupted" : "completed");
  } catch (err) {
    run.setStatus(abort.signal.aborted ? "interrupted" : "failed", err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  output.err(`${run.info().status}: ${run.dir}\n`);
  if (dashboard) {
    output.err(`the dashboard stays up at ${dashboard.url}; Ctrl-C to quit\n`);
    process.once("SIGINT", dashboard.stop);
    process.once("SIGTERM", dashboard.stop);
    await dashboard.exited;
  }
}

/** The run options of `move37 train` and of the verbs that run a recipe through it (pipeline, distill). */
export interface RunFlags { dryRun?: boolean; resume?: string; dashboard?: boolean; port: string; name?: string; runsDir: string }

/** The run options `move37 train` takes, for verbs that run a recipe through it; other --key=value args are overrides. */
export function addRunOptions(cmd: Command, resume: string, overrideExample: string): Command {
  return cmd
    .option("--dry-run", "validate and print the resolved recipe, then exit")
    .option("--resume <run_dir>", resume)
    .option("--name <name>", "run name (default: <recipe>-<date>-<time>)")
    .option("--runs-dir <dir>", "folder that holds run directories", "runs")
    .option("--dashboard", "serve the live dashboard for the run")
    .option("--port <port>", "dashboard port (0 = any free port)", "3737")
    .allowUnknownOption()
    .allowExcessArguments()
    .helpOption("-h, --help", `display help; any other --key.path=value overrides that recipe key (e.g. ${overrideExample})`);
}

/** Commander's operands and options after unknown options: the recipe (first bare word) and the overrides. */
export function recipeAndOverrides(command: Command): { recipe: string | undefined; overrides: string[] } {
  const [recipe, ...stray] = command.args.filter(a => !a.startsWith("-"));
  return { recipe, overrides: [...command.args.filter(a => a.startsWith("-")), ...stray] };
}

export function register(program: Command, options: ProgramOptions = {}): void {
  const cmd = program
    .command("train")
    .description("train with a recipe: validates it, creates runs/<name>/, runs the trainer its `trainer:` field names")
    .argument("[recipe]", "YAML recipe file or shipped recipe name (optional with --resume)");
  addRunOptions(cmd, "continue a run from its last checkpoint", "--grpo.beta=0.04")
    .action(async (_recipe: string | undefined, opts: RunFlags, command: Command) => {
      // Unknown options stop commander's operand parsing, so the recipe may sit anywhere among the overrides.
      const { recipe, overrides } = recipeAndOverrides(command);
      await train(recipe, opts, overrides, options.trainers);
    });
  withExamples(cmd, [
    "move37 train recipes/r1-zero-tiny.yaml",
    "move37 train r1-zero-tiny --grpo.beta=0.04 --max_steps=50 --dry-run",
    "move37 train recipes/r1-zero-tiny.yaml --dashboard --name first-try",
    "move37 train --resume runs/first-try",
  ]);
}
