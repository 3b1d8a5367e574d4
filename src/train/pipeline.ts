/**
 * The DeepSeek-R1 pipeline: stages chained, each one an existing trainer (sft, grpo, distill) run on its own
 * child run directory and starting from the model the stage before it wrote; then every stage's model, and the
 * base, measured on one held-out set. recipes/r1-tiny.yaml holds R1's four stages:
 *   1 cold start      sft on a small set of readable traces
 *   2 reasoning RL    grpo with accuracy + format + language-consistency rewards
 *   3 rejection SFT   distill with teacher = stage 2's model: its verified samples plus non-reasoning rows,
 *                     SFT from stage 2's model
 *   4 final RL        grpo with mixed rewards
 *
 * runs/<name>/
 *   config.json, run.json, metrics.jsonl    the pipeline's own (one metrics row per evaluated stage)
 *   stages/<i>-<stage>/                     the stage trainer's run directory: config, metrics, checkpoints, data
 *   stages/<i>-<stage>/model/               the stage's model, the next stage's input
 *   stages/<i>-<stage>/heldout.json         its held-out figures (base: heldout-base.json)
 *   report.json                             every stage on the held-out set
 *
 * On --resume a stage whose run completed and whose model exists is skipped; an unfinished one resumes from its
 * last checkpoint through the trainer's own resume.
 */
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { loadForGeneration } from "../model/io/pretrained.js";
import { promptFormat } from "../sample/prompt-format.js";
import type { Trainer, TrainerContext } from "../recipes/registry.js";
import type { Run } from "../runs/run.js";
import { readRunInfo } from "../runs/read.js";
import { cachedJson } from "../runs/atomic.js";
import { heldOutSize, problemSplit, problemSource, sourceOf } from "../eval/problems.js";
import { formatTable } from "../runs/table.js";
import { grpo, requireModelFolder } from "./grpo-trainer.js";
import { evaluate, HeldOutSchema, mean, type HeldOut } from "../eval/heldout.js";
import { childCompleted, childRun, distill, nestedIssues, runInChild } from "./distill.js";
import { sft } from "./sft.js";
import { BackendChoiceSchema } from "./trainer-config.js";

const StageSchema = z.object({
  /** Lower-case words joined by "-": the directory stages/<i>-<name>, and "@<name>" refers to its model. */
  name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, "lower-case letters, digits and single dashes"),
  trainer: z.enum(["sft", "grpo", "distill"]),
  /**
   * That trainer's recipe keys. model (sft, grpo), student and teacher (distill) default to the previous stage's
   * model; "@base" is the pipeline's model, "@<stage>" an earlier stage's. output_dir is set by the pipeline.
   */
  config: z.record(z.string(), z.unknown()).default({}),
}).strict();
type Stage = z.output<typeof StageSchema>;

export const PipelineConfigSchema = z.object({
  /** The base model folder stage 1 starts from. */
  model: z.string().min(1),
  heldout: HeldOutSchema,
  stages: z.array(StageSchema).min(1),
  /** Also copy the last stage's model here (a stable path for later recipes, e.g. a distillation teacher). */
  output_dir: z.string().min(1).optional(),
  backend: BackendChoiceSchema,
}).strict().superRefine((c, ctx) => {
  const seen = new Set<string>(["base"]);
  c.stages.forEach((s, i) => {
    if (seen.has(s.name)) ctx.addIssue({ code: "custom", path: ["stages", i, "name"], message: `"${s.name}" is ${s.name === "base" ? "reserved for the base model" : "used by an earlier stage"}: stage names must be unique` });
    for (const key of MODEL_KEYS) {
      const v = s.config[key];
      if (typeof v === "string" && v.startsWith("@") && !seen.has(v.slice(1)))
        ctx.addIssue({ code: "custom", path: ["stages", i, "config", key], message: `"${v}" names no earlier stage: use @base or one of ${[...seen].filter(n => n !== "base").map(n => "@" + n).join(", ") || "(no stage before this one)"}` });
    }
    seen.add(s.name);
    const models = new Map(c.stages.slice(0, i).map(p => [p.name, `<${p.name}>`] as [string, string]));
    nestedIssues(STAGE_TRAINERS[s.trainer].schema, stageConfig(c, i, models.set("base", c.model), "<stage>"), ["stages", i, "config"], ctx, ["output_dir"]);
  });
});
export type PipelineConfig = z.output<typeof PipelineConfigSchema>;

const MODEL_KEYS = ["model", "teacher", "student"] as const;

/**
 * A stage's full recipe for its trainer: its own keys, the held-out task/seeds/prompt where the trainer takes them
 * and the stage did not set them, model references resolved, output_dir in the stage directory.
 */
function stageConfig(c: PipelineConfig, i: number, models: Map<string, string>, stageDir: string): Record<string, unknown> {
  const s = c.stages[i];
  const h = c.heldout;
  const previous = i === 0 ? c.model : models.get(c.stages[i - 1].name)!;
  const ref = (v: unknown) => (v === undefined ? previous : typeof v === "string" && v.startsWith("@") ? models.get(v.slice(1)) ?? v : v);
  const seeds = { train_seed: h.train_seed, eval_seed: h.eval_seed, eval_size: h.eval_size };
  // The held-out task or dataset, unless the stage names its own problems.
  const inherited = (own: Record<string, unknown>) => (own.task === undefined && own.dataset === undefined ? sourceOf(h) : {});
  const own = s.config;
  const out: Record<string, unknown> = { backend: c.backend };
  if (s.trainer === "grpo") {
    Object.assign(out, inherited(own), { ...seeds, prompt: h.prompt, accuracy_reward: h.accuracy_reward, format_reward: h.format_reward, eval_sampled: false }, own, { model: ref(own.model) });
  } else if (s.trainer === "sft") {
    const traces = own.traces && typeof own.traces === "object" ? { ...(h.task ? { task: h.task } : {}), ...seeds, instruct: h.prompt.instruct, ...(own.traces as object) } : own.traces;
    Object.assign(out, own, traces === undefined ? {} : { traces }, { model: ref(own.model) });
  } else {
    Object.assign(out, own.prompts_file === undefined ? inherited(own) : {}, { ...seeds, prompt: h.prompt }, own, { teacher: ref(own.teacher), student: ref(own.student) });
  }
  out.output_dir = join(stageDir, "model");
  return out;
}

/** The figures every stage is compared on. */
export interface HeldOutFigures {
  stage: string;
  model: string;
  /** Shares of greedy completions: correct, well formed. */
  accuracy: number;
  format: number;
  /** Mean language-consistency reward over the completions it can judge (null when none has words). */
  language: number | null;
  /** Share of completions the language reward could judge. */
  language_judged: number;
  /** Share of the judged completions whose chain of thought switches language part-way (null when none has words). */
  language_switched: number | null;
  mean_length: number;
  mean_length_wrong: number | null;
  /** Wall minutes the stage's trainer ran (null for the base model). */
  minutes: number | null;
  traces: string[];
}

/** Greedy decoding of the held-out set by the model in `dir`: evaluate.ts's figures plus language consistency. */
export async function heldOutFigures(stage: string, dir: string, h: HeldOut, backendKind: PipelineConfig["backend"]): Promise<HeldOutFigures> {
  const { model, tokenizer: tok } = loadForGeneration(dir, backendKind);
  const fmt = promptFormat(h.prompt, tok);
  const examples = problemSplit(h).eval;
  // Language consistency is a graded share, not one of evaluate()'s 0/1 shares: its third column, scored on the
  // same greedy completions.
  const { figures: r, scored } = await evaluate(model, tok, fmt, examples, {
    accuracy: h.accuracy_reward, format: h.format_reward, extraRewards: [h.language_reward], maxNewTokens: h.max_new_tokens, sampled: false, seed: h.eval_seed,
  });
  const lang = scored.table.map(row => row[2]).filter((x): x is number => x !== null);
  return {
    stage, model: dir, minutes: null, accuracy: r.accuracy, format: r.format, mean_length: r.meanLength, mean_length_wrong: r.meanLengthWrong, traces: r.traces,
    language: lang.length ? mean(lang) : null, language_judged: examples.length ? lang.length / examples.length : 0, language_switched: r.languageSwitched,
  };
}

/** True when the stage's run completed and its model was written: --resume skips it. */
function stageDone(dir: string): boolean {
  return childCompleted(dir) && (existsSync(join(dir, "model", "config.json")) || existsSync(join(dir, "model", "adapter_config.json"))); // or a LoRA stage's adapter
}

/** Wall minutes between the stage run's start and end; null when it was resumed (the time it stood stopped would count). */
function stageMinutes(dir: string): number | null {
  const info = readRunInfo(dir);
  return info?.ended && info.resumed.length === 0 ? (Date.parse(info.ended) - Date.parse(info.started)) / 60000 : null;
}

/** The trainers a stage can run (imported: pipeline names the trainers it runs). */
const STAGE_TRAINERS: Record<Stage["trainer"], Trainer> = { sft, grpo, distill };

async function runStage(c: PipelineConfig, i: number, s: Stage, dir: string, models: Map<string, string>, ctx: TrainerContext): Promise<boolean> {
  const trainer = STAGE_TRAINERS[s.trainer];
  const config = trainer.schema.parse(stageConfig(c, i, models, dir)) as Record<string, unknown>;
  const child = childRun(ctx, dir, trainer.name, { trainer: trainer.name, ...config });
  ctx.log(`stage ${i + 1} of ${c.stages.length}: ${s.name} (${s.trainer})${child.resume ? ", resumed" : ""} in ${dir}`);
  return runInChild(ctx, child, trainer, config, s.name);
}

export const pipeline: Trainer<typeof PipelineConfigSchema> = {
  name: "pipeline",
  description: "the R1 multi-stage pipeline: sft / grpo / distill stages chained, each in its own run directory, all compared on one held-out set",
  schema: PipelineConfigSchema,
  async run(c, run, ctx) {
    requireModelFolder(c.model);
    const models = new Map<string, string>([["base", c.model]]);
    const figures = [await cachedJson(join(run.dir, "heldout-base.json"), () => heldOutFigures("base", c.model, c.heldout, c.backend))];
    run.logMetrics(0, metricsOf(figures[0]));
    for (const [i, s] of c.stages.entries()) {
      const dir = join(run.dir, "stages", `${i + 1}-${s.name}`);
      if (ctx.resume && stageDone(dir)) ctx.log(`stage ${i + 1} (${s.name}) already completed: skipped`);
      else if (!(await runStage(c, i, s, dir, models, ctx))) return;
      models.set(s.name, join(dir, "model"));
      const f = { ...await cachedJson(join(dir, "heldout.json"), () => heldOutFigures(s.name, join(dir, "model"), c.heldout, c.backend)), minutes: stageMinutes(dir) };
      figures.push(f);
      run.logMetrics(i + 1, metricsOf(f));
      ctx.log(`${s.name}: held-out accuracy ${pct(f.accuracy)}, format ${pct(f.format)}`);
    }
    if (c.output_dir) {
      cpSync(models.get(c.stages[c.stages.length - 1].name)!, c.output_dir, { recursive: true });
      ctx.log(`final model copied to ${c.output_dir}`);
    }
    writeReport(run, c, figures, ctx.log);
  },
};

function metricsOf(f: HeldOutFigures): Record<string, number | null> {
  return { accuracy: f.accuracy, "eval/format": f.format, "eval/language": f.language, "eval/language_switched": f.language_switched ?? null, "eval/mean_length": f.mean_length };
}

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);

function writeReport(run: Run, c: PipelineConfig, figures: HeldOutFigures[], log: (m: string) => void): void {
  const h = c.heldout;
  run.writeJson("report.json", { ...sourceOf(h), eval_seed: h.eval_seed, eval_size: heldOutSize(h), rewards: { accuracy: h.accuracy_reward, format: h.format_reward, language: h.language_reward }, stages: figures });
  // the switched column only when some stage's thoughts had words to judge (a task told in words, src/tasks/languages.ts)
  const switched = figures.some(f => f.language_switched != null);
  const table = formatTable(["stage", "accuracy", "format", "language", ...(switched ? ["switched"] : []), "mean length", "length wrong", "minutes"],
    figures.map(f => [f.stage, pct(f.accuracy), pct(f.format), f.language === null ? "-" : `${pct(f.language)} of ${pct(f.language_judged)}`, ...(switched ? [pct(f.language_switched ?? null)] : []),
      f.mean_length.toFixed(1), f.mean_length_wrong === null ? "-" : f.mean_length_wrong.toFixed(1), f.minutes === null ? "-" : f.minutes.toFixed(1)]));
  log([``, `held-out set: ${heldOutSize(h)} ${problemSource(h)} problems (seed ${h.eval_seed}), greedy, ${h.max_new_tokens} tokens at most`, table,
    `language: mean consistency over the completions with words to judge (of the share shown)${switched ? "; switched: share of those whose thought switches language part-way" : ""}`, `report: ${join(run.dir, "report.json")}`].join("\n"));
}
