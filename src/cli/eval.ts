// `move37 eval MODEL_DIR --task ... --k N`: pass@1, pass@k and maj@k of a model folder, checkpoint or run.
// The sampling half (problems → k completions each → rewards) is shared with `move37 sample`.
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { BackendKind } from "../engine/index.js";
import type { CausalLM } from "../model/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generate, type Generation } from "../sample/generate.js";
import { distinctExamples, loadJsonl, makeTask, type Example } from "../tasks/index.js";
import { mixSeed } from "../tasks/rng.js";
import { promptFormat, type PromptFormat } from "../train/grpo-trainer.js";
import { scoreCompletions, type ScoredRewards } from "../train/rewarding.js";
import { extractAnswer, summarize, PassAtKError, type PassAtKSummary } from "../train/pass-at-k.js";
import { loadForGeneration } from "./generate.js";
import { formatTable } from "./table.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

export class PolicyFolderError extends Error {
  constructor(dir: string) {
    super(`${dir} is not a model folder (config.json), a checkpoint (model/config.json) or a run directory (checkpoints/latest.json): give one of those`);
    this.name = "PolicyFolderError";
  }
}

/** The Hugging Face folder inside a model folder, a checkpoint folder or a run directory, and the checkpoint's step. */
export function resolvePolicy(dir: string): { modelDir: string; step: number | null } {
  // A run directory first: its config.json is the recipe, not a model's.
  const latest = join(dir, "checkpoints", "latest.json");
  if (existsSync(latest)) return resolvePolicy(join(dir, "checkpoints", (JSON.parse(readFileSync(latest, "utf8")) as { dir: string }).dir));
  if (existsSync(join(dir, "model", "config.json"))) {
    const state = join(dir, "state.json");
    return { modelDir: join(dir, "model"), step: existsSync(state) ? (JSON.parse(readFileSync(state, "utf8")) as { step: number }).step : null };
  }
  if (existsSync(join(dir, "config.json"))) return { modelDir: dir, step: null };
  throw new PolicyFolderError(dir);
}

/** What the eval and sample verbs share: which problems, how prompts look, how completions are drawn. */
export interface ProblemFlags {
  task?: string; taskOptions?: string; recipe?: string; n: number; evalSeed?: number; trainSeed?: number; template?: "tiny_r1" | "chat"; instruct?: boolean;
  reward?: string; k: number; samples?: number; temperature: number; maxNewTokens: number; seed: number; batchSize?: number; backend: BackendKind;
}

/** Defaults a GRPO recipe gives (task, held-out seed, prompt, accuracy reward, completion length), which flags override. */
function recipeDefaults(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  const r = (parseYaml(readFileSync(path, "utf8")) ?? {}) as Record<string, any>;
  return {
    task: r.task, train_seed: r.train_seed, eval_seed: r.eval_seed, eval_size: r.eval_size, prompt: r.prompt,
    reward: r.accuracy_reward, max_completion_length: r.grpo?.max_completion_length,
  };
}

/** --task, else the recipe's task type. */
function taskName(f: ProblemFlags, rec: Record<string, unknown>): string {
  const name = f.task ?? ((rec.task as Record<string, unknown> | undefined)?.type as string | undefined);
  if (!name) throw new InvalidArgumentError("no task: give --task (arithmetic, countdown or a .jsonl file) or a --recipe that names one");
  return name;
}

/**
 * n problems of a JSONL file (its first n rows) or of a generated task. "eval" draws GRPO's held-out set
 * (eval_seed, default 2); "train" draws from train_seed (default 1) and never a held-out problem of
 * (eval_seed, eval_size, default 256), so SFT data made by rejection sampling cannot leak into evaluation.
 */
export function loadProblems(f: ProblemFlags, rec: Record<string, unknown>, split: "eval" | "train"): Example[] {
  const name = taskName(f, rec);
  if (name.endsWith(".jsonl")) return loadJsonl(name).slice(0, f.n);
  const base = (rec.task as Record<string, unknown> | undefined)?.type === name ? rec.task as object : { type: name };
  const opts = f.taskOptions ? JSON.parse(f.taskOptions) as object : {};
  const task = makeTask({ ...base, ...opts, type: name });
  const evalSeed = f.evalSeed ?? (rec.eval_seed as number | undefined) ?? 2;
  if (split === "eval") return distinctExamples(task, evalSeed, f.n);
  const heldOut = new Set(distinctExamples(task, evalSeed, (rec.eval_size as number | undefined) ?? 256).map(e => e.id));
  return distinctExamples(task, f.trainSeed ?? (rec.train_seed as number | undefined) ?? 1, f.n, heldOut);
}

export interface SampledProblems {
  model: CausalLM; tokenizer: Tokenizer; fmt: PromptFormat; examples: Example[];
  /** Prompt-major: problem p's samples are gens[p*k .. p*k+k). */
  gens: Generation[]; scored: ScoredRewards; rewards: string[]; modelDir: string; step: number | null;
}

/** Loads the policy, draws k completions per problem and scores them with `rewardNames`. */
export async function sampleProblems(dir: string, f: ProblemFlags, split: "eval" | "train", rewardNames: (reward: string) => string[]): Promise<SampledProblems & { reward: string }> {
  const { modelDir, step } = resolvePolicy(dir);
  const { model, tokenizer } = loadForGeneration(modelDir, f.backend);
  const rec = recipeDefaults(f.recipe);
  const recPrompt = (rec.prompt ?? {}) as { template?: "tiny_r1" | "chat"; instruct?: boolean };
  const fmt = promptFormat({
    template: f.template ?? recPrompt.template ?? (tokenizer.chatTemplate ? "chat" : "tiny_r1"),
    instruct: f.instruct ?? recPrompt.instruct ?? false,
  }, tokenizer);
  const examples = loadProblems(f, rec, split);
  const reward = f.reward ?? (rec.reward as string | undefined) ?? (taskName(f, rec) === "countdown" ? "countdown_strict" : "math");
  output.err(`sampling ${examples.length} problems × ${f.samples ?? f.k} at T=${f.temperature} from ${modelDir}${step !== null ? ` (step ${step})` : ""}…\n`);
  const gens = generate(model, tokenizer, examples.map(ex => fmt.encode(ex)), {
    maxNewTokens: f.maxNewTokens ?? (rec.max_completion_length as number | undefined) ?? 128, temperature: f.temperature,
    numReturnSequences: f.samples ?? f.k, seed: mixSeed(f.seed), stop: fmt.stop, batchSize: f.batchSize,
  });
  const rewards = rewardNames(reward);
  const scored = await scoreCompletions(rewards, gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]));
  return { model, tokenizer, fmt, examples, gens, scored, rewards, reward, modelDir, step };
}

const integer = (what: string, min = 1) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new InvalidArgumentError(`${what} must be an integer ≥ ${min}`);
  return x;
};
const number = (what: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`${what} must be a number ≥ 0`);
  return x;
};

/** The option of the verbs that draw training problems (`sample`, `prefs`). */
export const trainSeedOption = ["--train-seed <n>", "seed of the training problems drawn (default: the recipe's train_seed, else 1); held-out problems are never drawn"] as const;

/** The options `eval` and `sample` share. */
export function addProblemOptions(cmd: Command, defaults: { n: number; k: number }): Command {
  return cmd
    .argument("<model-dir>", "model folder, checkpoint folder (…/checkpoints/step-N) or run directory (its latest checkpoint)")
    .option("--task <name>", "arithmetic, countdown, or a JSONL file of {prompt|messages, answer} rows (default: the recipe's task)")
    .option("--task-options <json>", "task generator options as JSON, e.g. '{\"min_terms\":4,\"max_terms\":7}'")
    .option("--recipe <file>", "take task, eval_seed, prompt, accuracy_reward and max_completion_length from a GRPO recipe (the same held-out set)")
    .option("--n <problems>", "problems", integer("--n"), defaults.n)
    .option("--k <samples>", "samples per problem", integer("--k"), defaults.k)
    .option("--reward <name>", "reward that judges a sample correct when it gives 1 (default: the recipe's accuracy_reward, else math, countdown_strict for countdown)")
    .option("--eval-seed <n>", "seed of the held-out problems (GRPO's eval_seed; default: the recipe's, else 2)", integer("--eval-seed", 0))
    .option("--template <name>", "prompt template: tiny_r1 or chat (default: chat when the tokenizer has a chat template)")
    .option("--instruct", "tiny_r1: name the tags in the prompt (as recipes/r1-zero-tiny.yaml does)")
    .option("--temperature <t>", "sampling temperature", number("--temperature"), 1)
    .option("--max-new-tokens <n>", "tokens per completion at most (default: the recipe's, else 128)", integer("--max-new-tokens"))
    .option("--seed <n>", "sampling seed", integer("--seed", 0), 0)
    .option("--batch-size <n>", "sequences decoded together (default: 256; bounds memory, not results)", integer("--batch-size"))
    .option("--backend <kind>", "engine backend: auto, native or reference", "auto");
}

export interface EvalReport extends PassAtKSummary { model: string; step: number | null; reward: string; temperature: number }

export async function evaluatePassAtK(dir: string, f: ProblemFlags): Promise<EvalReport> {
  if (f.samples !== undefined && f.samples < f.k) throw new PassAtKError(`--samples ${f.samples} is below --k ${f.k}: pass@k needs at least k samples per problem`);
  const s = await sampleProblems(dir, f, "eval", r => [r]);
  const problems = s.examples.map((_, p) => {
    const rows = s.gens.map((g, i) => ({ g, i })).filter(x => x.g.prompt === p);
    return { correct: rows.map(x => s.scored.table[x.i][0] === 1), answers: rows.map(x => extractAnswer(s.fmt.completion(x.g))) };
  });
  return { model: resolve(s.modelDir), step: s.step, reward: s.reward, temperature: f.temperature, ...summarize(problems, f.k) };
}

export function register(program: Command): void {
  const cmd = program
    .command("eval")
    .description("pass@1, pass@k (the unbiased estimator of the Codex paper) and maj@k (majority vote over extracted answers) of a model on a task or JSONL set, k samples per problem");
  addProblemOptions(cmd, { n: 64, k: 8 })
    .option("--samples <n>", "samples per problem n ≥ k for a lower-variance pass@k estimate (default: k)", integer("--samples"))
    .option("--json", "print the figures as one JSON object");
  cmd.action(async (dir: string, f: ProblemFlags & { json?: boolean }) => {
    const r = await evaluatePassAtK(dir, f);
    if (f.json) { output.out(JSON.stringify(r) + "\n"); return; }
    const pct = (x: number) => (100 * x).toFixed(1);
    output.out(`${r.model}${r.step !== null ? ` (step ${r.step})` : ""}: ${r.problems} problems × ${r.samples / r.problems} samples at T=${r.temperature}, reward ${r.reward}\n`);
    output.out(formatTable(["metric", "%"], [["pass@1", pct(r.pass1)], [`pass@${r.k}`, pct(r.passK)], [`maj@${r.k}`, pct(r.majK)]]) + "\n");
  });
  withExamples(cmd, [
    "move37 eval models/base-tiny --recipe recipes/r1-zero-tiny.yaml --k 8 --n 64",
    "move37 eval runs/r1-zero-tiny-20261128-120000 --task arithmetic --instruct --reward r1_math --k 16 --json",
    "move37 eval models/sft --task problems.jsonl --k 4 --temperature 0.7",
  ]);
}
