/**
 * Problems → prompts → completions → scores: the one path every verb and trainer that samples a model on a problem
 * set goes through (`move37 eval`, `sample`, `prefs`, distillation's teacher, the rlhf-vs-rl preference data).
 *
 *   a problem set   {task | dataset, train_seed, eval_seed, eval_size, prompt} (the keys of problemSetFields in
 *                   src/train/trainer-config.ts), or a file of problems read as a whole
 *   a policy        a model folder (or checkpoint, or run directory) and the rollout that samples it: the
 *                   in-process sampler, or an OpenAI-compatible server serving it (src/train/rollout/)
 *   → the table     k completions per problem, prompt-major, and one row of rewards per completion
 *
 * The "eval" split is the held-out set (eval_seed); the "train" split draws from train_seed and never a held-out
 * problem of (eval_seed, eval_size), so data made from training problems cannot leak into evaluation.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { BackendKind } from "../engine/index.js";
import type { CausalLM } from "../model/types.js";
import { readHfConfig } from "../model/io/hf.js";
import { loadForGeneration, type WeightsDtype } from "../model/io/pretrained.js";
import type { KvCacheDtype } from "../model/kv-cache.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generate, type Generation } from "../sample/generate.js";
import { promptFormat, type PromptConfig, type PromptFormat } from "../sample/prompt-format.js";
import { distinctExamples, makeTask, trainEvalSplit, type Example, type TaskConfig, type TaskSplit } from "../tasks/index.js";
import { mixSeed } from "../tasks/rng.js";
import { DatasetConfigSchema, datasetSplit, loadDataset, type DatasetConfig, type DatasetConfigInput, type LoadedDataset } from "../data/dataset.js";
import { createRollout, type Rollout, type RolloutConfig } from "../train/rollout/index.js";
import { scoreCompletions, type ScoredRewards } from "../train/rewarding.js";
import { adapterBaseDir, isAdapterFolder } from "../train/lora.js";
import { resolveModelPath } from "../hub/resolve.js";

export class PolicyFolderError extends Error {
  constructor(dir: string) {
    super(`${dir} is not a model folder (config.json), a checkpoint (model/config.json) or a run directory (checkpoints/latest.json): give one of those`);
    this.name = "PolicyFolderError";
  }
}

/** The Hugging Face folder inside a model folder, a checkpoint folder or a run directory, and the checkpoint's step. */
export function resolvePolicy(dirOrId: string): { modelDir: string; step: number | null } {
  const dir = resolveModelPath(dirOrId); // a hub id → its cached snapshot (downloaded on first use); a path as is
  // A run directory first: its config.json is the recipe, not a model's.
  const latest = join(dir, "checkpoints", "latest.json");
  if (existsSync(latest)) return resolvePolicy(join(dir, "checkpoints", (JSON.parse(readFileSync(latest, "utf8")) as { dir: string }).dir));
  if (existsSync(join(dir, "model", "config.json")) || existsSync(join(dir, "model", "adapter_config.json"))) { // a LoRA checkpoint holds an adapter folder
    const state = join(dir, "state.json");
    return { modelDir: join(dir, "model"), step: existsSync(state) ? (JSON.parse(readFileSync(state, "utf8")) as { step: number }).step : null };
  }
  if (existsSync(join(dir, "config.json")) || existsSync(join(dir, "adapter_config.json"))) return { modelDir: dir, step: null };
  throw new PolicyFolderError(dir);
}

/** Where problems come from and how they become prompts: a recipe's problem-set keys, typed. Exactly one source. */
export interface ProblemSet {
  /** A procedural task (src/tasks). */
  task?: TaskConfig;
  /**
   * A dataset file or folder (src/data, docs/datasets.md). Its held-out problems are its own eval rows when it names
   * them (eval_path, eval_split, eval_fraction, eval_size); else `eval_size` problems carved out with `eval_seed`.
   */
  dataset?: DatasetConfig | string;
  /**
   * A file of problems (or one split of a dataset folder) read as a whole, in order, with no held-out part: the
   * verbs' --dataset and --task FILE.jsonl, distill's prompts_file. Its eval keys, if any, are not used.
   */
  file?: string | DatasetConfigInput;
  train_seed: number;
  eval_seed: number;
  /** Held-out problems of eval_seed that the "train" split never draws. */
  eval_size: number;
  prompt: PromptConfig;
}

export class ProblemSetError extends Error {
  constructor(message: string) { super(message); this.name = "ProblemSetError"; }
}

/** The problems' name for messages and reports: the task type, or the dataset's path. */
export function problemSource(set: Pick<ProblemSet, "task" | "dataset" | "file">): string {
  if (set.task) return set.task.type;
  if (set.dataset !== undefined) return typeof set.dataset === "string" ? set.dataset : set.dataset.path;
  if (set.file !== undefined) return typeof set.file === "string" ? set.file : set.file.path;
  return "(none)";
}

/** The set's source as recipe keys, for a nested trainer's recipe: {task} or {dataset}. */
export function sourceOf(set: Pick<ProblemSet, "task" | "dataset">): { task: TaskConfig } | { dataset: DatasetConfig | string } {
  return set.task !== undefined ? { task: set.task } : { dataset: set.dataset! };
}

function checkOneSource(set: ProblemSet): void {
  const given = (["task", "dataset", "file"] as const).filter(k => set[k] !== undefined);
  if (given.length !== 1) throw new ProblemSetError(`a problem set needs exactly one of task and dataset${given.length ? `, not ${given.join(" and ")}` : ""}`);
}

/** The held-out keys a dataset config can name; without any, the problem set carves its own. */
const DATASET_EVAL_KEYS = ["eval_path", "eval_split", "eval_fraction", "eval_size"] as const;

/** A dataset's training and held-out problems, as the problem set defines its held-out part. */
export function datasetSplits(set: ProblemSet & { dataset: DatasetConfig | string }): LoadedDataset {
  const cfg = DatasetConfigSchema.parse(set.dataset) as DatasetConfig;
  const own = DATASET_EVAL_KEYS.some(k => cfg[k] !== undefined);
  return loadDataset(own ? cfg : { ...cfg, eval_size: set.eval_size, seed: set.eval_seed });
}

/** Every row of a file, or of one split of a dataset folder, in order. */
function wholeFile(file: string | DatasetConfigInput): Example[] {
  const cfg = DatasetConfigSchema.parse(file) as DatasetConfig;
  return loadDataset({ ...cfg, eval_path: undefined, eval_split: undefined, eval_fraction: undefined, eval_size: undefined }).train;
}

/**
 * The problem set's held-out problems and its i-th training problem (never a held-out one): a task's seeded
 * streams (src/tasks/splits.ts, unchanged), or a dataset's rows, the training rows in a shuffled order per epoch
 * seeded by (train_seed, epoch) (src/data's datasetSplit), so problem i is a function of (train_seed, i).
 */
export function problemSplit(set: ProblemSet): TaskSplit {
  checkOneSource(set);
  if (set.task) return trainEvalSplit(makeTask(set.task), set);
  if (set.dataset !== undefined) {
    return datasetSplit(datasetSplits({ ...set, dataset: set.dataset }), { seed: set.train_seed });
  }
  const rows = wholeFile(set.file!);
  return { eval: rows, train: i => rows[i % rows.length] };
}

/** How many held-out problems the set has: eval_size for a task, the dataset's own count otherwise (for reports). */
export function heldOutSize(set: ProblemSet): number {
  return set.task ? set.eval_size : problemSplit(set).eval.length;
}

/**
 * n problems of the set. "eval" draws the held-out set (its first n problems); "train" draws n distinct problems of
 * train_seed, none of them held out (a dataset: the first n rows of its training order, at most one epoch).
 * A file read as a whole gives its first n rows either way.
 */
export function loadProblems(set: ProblemSet, split: "eval" | "train", n: number): Example[] {
  checkOneSource(set);
  if (set.file !== undefined) return wholeFile(set.file).slice(0, n);
  if (set.dataset !== undefined) {
    const d = datasetSplits({ ...set, dataset: set.dataset });
    if (split === "eval") return d.eval.slice(0, n);
    const next = datasetSplit(d, { seed: set.train_seed }).train;
    return Array.from({ length: Math.min(n, d.train.length) }, (_, i) => next(i));
  }
  const task = makeTask(set.task);
  if (split === "eval") return distinctExamples(task, set.eval_seed, n, undefined, "eval");
  const heldOut = new Set(distinctExamples(task, set.eval_seed, set.eval_size, undefined, "eval").map(e => e.id));
  return distinctExamples(task, set.train_seed, n, heldOut);
}

/** A model to sample, ready: its folder, tokenizer and the rollout that draws its completions. */
export interface Policy {
  modelDir: string;
  /** The checkpoint's step, when `dir` was a checkpoint or run directory. */
  step: number | null;
  tokenizer: Tokenizer;
  /** The weights, when sampled in process (null when a server samples). */
  model: CausalLM | null;
  rollout: Rollout;
  eosTokenIds: number[];
}

export interface PolicyOptions {
  backend: BackendKind;
  /** Where completions come from (default: in process). With `openai`, the folder only lends its tokenizer and config. */
  rollout?: RolloutConfig;
  /** In process: sequences decoded together (bounds memory, not results). */
  batchSize?: number;
  /** In process: float32 weights, or frozen bfloat16 (half the memory). */
  dtype?: WeightsDtype;
  /** In process: the KV cache's keys and values in float32, or bfloat16 (half the cache). */
  kvCacheDtype?: KvCacheDtype;
}

/** Loads the policy in `dir` (a model folder, checkpoint or run directory) for sampling. */
export function loadPolicy(dir: string, o: PolicyOptions): Policy {
  const { modelDir, step } = resolvePolicy(dir);
  if (o.rollout?.backend === "openai") {
    const tokenizer = loadTokenizer(modelDir);
    const configDir = isAdapterFolder(modelDir) ? adapterBaseDir(modelDir) : modelDir; // an adapter folder has no config.json
    const eosTokenIds = [tokenizer.eosId, readHfConfig(configDir).eos_token_id].filter((x): x is number => x !== null);
    const rollout = createRollout(o.rollout, { tokenizer, weightsDir: modelDir, save: {}, log: () => {} });
    return { modelDir, step, tokenizer, model: null, rollout, eosTokenIds };
  }
  const { model, tokenizer } = loadForGeneration(modelDir, o.backend, o.dtype, o.kvCacheDtype);
  const eosTokenIds = [tokenizer.eosId, model.config.eos_token_id].filter((x): x is number => x !== null);
  const rollout: Rollout = { correction: null, sync: async () => {}, generate: async (prompts, s) => generate(model, tokenizer, prompts, { ...s, batchSize: o.batchSize }) };
  return { modelDir, step, tokenizer, model, rollout, eosTokenIds };
}

/** What to draw: which problems, how many completions of each, how they are sampled and scored. */
export interface SamplingJob {
  problems: ProblemSet;
  split: "eval" | "train";
  /** Problems. */
  n: number;
  /** Completions per problem. */
  k: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
  /** Reward names: the table's columns. */
  rewards: string[];
}

export interface SampledProblems {
  fmt: PromptFormat;
  examples: Example[];
  /** Prompt-major: problem p's samples are gens[p*k .. p*k+k). */
  gens: Generation[];
  /** One row per completion, one column per reward of the job. */
  scored: ScoredRewards;
}

/** Draws k completions of each of the job's problems from the policy and scores them. */
export async function sampleProblems(policy: Policy, job: SamplingJob, log: (message: string) => void = () => {}): Promise<SampledProblems> {
  const fmt = promptFormat(job.problems.prompt, policy.tokenizer);
  const examples = loadProblems(job.problems, job.split, job.n);
  log(`sampling ${examples.length} problems × ${job.k} at T=${job.temperature} from ${policy.modelDir}${policy.step !== null ? ` (step ${policy.step})` : ""}…`);
  const gens = await policy.rollout.generate(examples.map(ex => fmt.encode(ex)), {
    maxNewTokens: job.maxNewTokens, temperature: job.temperature, topP: 1, topK: 0, numReturnSequences: job.k,
    seed: mixSeed(job.seed), stop: fmt.stop, eosTokenIds: policy.eosTokenIds,
  });
  const scored = await scoreCompletions(job.rewards, gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]));
  return { fmt, examples, gens, scored };
}
