// `move37 eval MODEL_DIR --task ... --k N`: pass@1, pass@k and maj@k of a model folder, checkpoint or run.
// The sampling half (problems → k completions each → rewards) is shared with `move37 sample`.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { parse as parseYaml } from "yaml";
import type { BackendKind } from "../engine/index.js";
import { PromptConfigSchema, type PromptConfig } from "../sample/prompt-format.js";
import { TaskConfigSchema, type TaskConfig } from "../tasks/index.js";
import type { DatasetConfig, DatasetConfigInput } from "../data/dataset.js";
import { EnvironmentConfigSchema, type EnvironmentConfig } from "../env/environment.js";
import { episodeMetrics, type Episode } from "../env/episode.js";
import { sampleEpisodes } from "../env/grpo.js";
import { loadPolicy, sampleProblems, type Policy, type ProblemSet, type SamplingJob } from "../eval/problems.js";
import asciichart from "asciichart";
import { extractAnswer, summarize, parseKs, passAtKCurves, PassAtKError, type PassAtKSummary } from "../train/pass-at-k.js";
import { formatTable } from "../runs/table.js";
import { languageStats } from "../rewards/language.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { dtypeFlag, kvCacheDtypeFlag } from "./generate.js";
import type { WeightsDtype } from "../model/io/pretrained.js";
import type { KvCacheDtype } from "../model/kv-cache.js";

/** What the eval, sample and prefs verbs share: which problems, how prompts look, how completions are drawn. */
export interface ProblemFlags {
  task?: string; dataset?: string; taskOptions?: string; recipe?: string; n: number; evalSeed?: number; trainSeed?: number; template?: "tiny_r1" | "chat"; instruct?: boolean;
  reward?: string; k: number; samples?: number; temperature: number; maxNewTokens?: number; seed: number; batchSize?: number; backend: BackendKind; dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype;
}

/** The keys a GRPO recipe gives these verbs (task, seeds, prompt, accuracy reward, completion length), which flags override. */
interface RecipeDefaults {
  task?: TaskConfig; dataset?: DatasetConfig | string; train_seed?: number; eval_seed?: number; eval_size?: number; prompt?: Partial<PromptConfig>;
  accuracy_reward?: string; max_completion_length?: number;
}

function recipeDefaults(path: string | undefined): RecipeDefaults {
  if (!path) return {};
  const r = (parseYaml(readFileSync(path, "utf8")) ?? {}) as Record<string, unknown> & { grpo?: { max_completion_length?: number } };
  return {
    task: r.task as TaskConfig | undefined, dataset: r.dataset as DatasetConfig | string | undefined, train_seed: r.train_seed as number | undefined, eval_seed: r.eval_seed as number | undefined,
    eval_size: r.eval_size as number | undefined, prompt: r.prompt as Partial<PromptConfig> | undefined,
    accuracy_reward: r.accuracy_reward as string | undefined, max_completion_length: r.grpo?.max_completion_length,
  };
}

/** --dataset: a path, or a dataset config as JSON ('{"path": "data/gsm8k", "config": "main", "split": "test"}'). */
function datasetFlag(v: string): string | DatasetConfigInput {
  if (!v.trimStart().startsWith("{")) return v;
  try {
    return JSON.parse(v) as DatasetConfigInput;
  } catch (e) {
    throw new InvalidArgumentError(`--dataset ${v}: not valid JSON (${(e as Error).message}); give a path or a dataset config such as '{"path": "data/gsm8k", "config": "main", "split": "test"}'`);
  }
}

/** The prompt: flags over the recipe's prompt (its system prompt and template variables stay with a chat template). */
function promptOf(f: ProblemFlags, rec: RecipeDefaults, hasChatTemplate: boolean): PromptConfig {
  const template = f.template ?? rec.prompt?.template ?? (hasChatTemplate ? "chat" : "tiny_r1");
  const chat = template === "chat" && rec.prompt?.template === "chat"
    ? { system_prompt: rec.prompt.system_prompt, chat_template_kwargs: rec.prompt.chat_template_kwargs } : {};
  return PromptConfigSchema.parse({ template, instruct: f.instruct ?? rec.prompt?.instruct ?? false, ...chat });
}

/** The verb's problems, policy and sampling job, from its flags over the recipe's keys. */
export function problemJob(dir: string, f: ProblemFlags, split: "eval" | "train", rewardNames: (reward: string) => string[]): { policy: Policy; job: SamplingJob; reward: string } {
  const rec = recipeDefaults(f.recipe);
  if (f.task !== undefined && f.dataset !== undefined) throw new InvalidArgumentError("give --task or --dataset, not both");
  // --dataset FILE (and --task FILE.jsonl) read a file as a whole; a recipe's dataset keeps its held-out split.
  const file = f.dataset !== undefined ? datasetFlag(f.dataset) : f.task?.endsWith(".jsonl") ? f.task : undefined;
  const name = file === undefined ? f.task ?? rec.task?.type : undefined;
  const source: Pick<ProblemSet, "task" | "dataset" | "file"> | undefined = file !== undefined ? { file }
    : name !== undefined ? { task: TaskConfigSchema.parse({ ...(rec.task?.type === name ? rec.task : {}), ...(f.taskOptions ? JSON.parse(f.taskOptions) as object : {}), type: name }) }
    : rec.dataset !== undefined ? { dataset: rec.dataset } : undefined;
  if (!source) throw new InvalidArgumentError("no problems: give --task (arithmetic, countdown), --dataset FILE, or a --recipe that names a task or dataset");
  const policy = loadPolicy(dir, { backend: f.backend, batchSize: f.batchSize, dtype: f.dtype, kvCacheDtype: f.kvCacheDtype });
  const problems: ProblemSet = {
    ...source, train_seed: f.trainSeed ?? rec.train_seed ?? 1, eval_seed: f.evalSeed ?? rec.eval_seed ?? 2, eval_size: rec.eval_size ?? 256,
    prompt: promptOf(f, rec, policy.tokenizer.chatTemplate !== null),
  };
  const reward = f.reward ?? rec.accuracy_reward ?? (name === "countdown" ? "countdown_strict" : "math");
  const job: SamplingJob = {
    problems, split, n: f.n, k: f.samples ?? f.k, temperature: f.temperature, maxNewTokens: f.maxNewTokens ?? rec.max_completion_length ?? 128,
    seed: f.seed, rewards: rewardNames(reward),
  };
  return { policy, job, reward };
}

/** Progress of the verbs' sampling, on stderr. */
export const logProgress = (m: string) => output.err(m + "\n");

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

/** --pass-at-k 1,4,16: a commander parser over parseKs. */
const parseKsFlag = (v: string) => {
  try { return parseKs(v); } catch (e) { throw new InvalidArgumentError((e as Error).message); }
};

/** The option of the verbs that draw training problems (`sample`, `prefs`). */
export const trainSeedOption = ["--train-seed <n>", "seed of the training problems drawn (default: the recipe's train_seed, else 1); held-out problems are never drawn"] as const;

/** The options `eval` and `sample` share. */
export function addProblemOptions(cmd: Command, defaults: { n: number; k: number }): Command {
  return cmd
    .argument("<model-dir>", "model folder, checkpoint folder (…/checkpoints/step-N), run directory (its latest checkpoint), or a hub id (owner/name)")
    .option("--task <name>", "arithmetic, countdown, multiplication, program_output or mixture (default: the recipe's task or dataset)")
    .option("--dataset <path>", "a file of problems (JSONL, JSON, Parquet; columns as docs/datasets.md says), its rows in order; or a dataset config as JSON, e.g. '{\"path\":\"data/gsm8k\",\"config\":\"main\",\"split\":\"test\"}'")
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
    .option("--backend <kind>", "engine backend: auto, native or reference", "auto")
    .option("--dtype <dtype>", "weights: float32, or bfloat16 (frozen BF16 Linear weights: half the memory)", dtypeFlag, "float32")
    .option("--kv-cache-dtype <dtype>", "KV cache: float32, or bfloat16 (half the cache's memory)", kvCacheDtypeFlag, "float32");
}

export interface EvalReport extends PassAtKSummary {
  model: string; step: number | null; reward: string; temperature: number;
  /** With --pass-at-k: k → unbiased pass@k over all problems, and per subset (countdown: seen_target, unseen_target). */
  pass_at_k?: Record<string, number>;
  subsets?: Record<string, Record<string, number>>;
  /** Rows that name a language (worded arithmetic, a dataset's language column): target-language share of the thoughts, share that switch. */
  language?: number | null; language_switched?: number | null;
  /** With --environment (docs/tools.md): share of episodes with a tool call, of calls that failed, and turns per episode. */
  tool_call_rate?: number; tool_error_rate?: number | null; turns?: number | null;
}

/** The flags that make the verbs sample multi-turn episodes with tools instead of single completions. */
export interface EnvironmentFlags { environment?: string; maxTurns: number; toolFormat: string; describeTools?: boolean }

export function addEnvironmentOptions(cmd: Command): Command {
  return cmd
    .option("--environment <type>", "sample multi-turn episodes with tools (calculator, python, problems; docs/tools.md)")
    .option("--max-turns <n>", "--environment: model turns per episode", integer("--max-turns"), 4)
    .option("--tool-format <format>", "--environment: auto, hermes, llama3 or tags", "auto")
    .option("--describe-tools", "--environment, tags format: list the tools before the prompt (a recipe's environment.describe_tools)");
}

/** The episode sampler's config of the flags (null without --environment); an episode's tokens are --max-new-tokens at most. */
export function environmentOf(f: EnvironmentFlags, job: SamplingJob): EnvironmentConfig | null {
  return f.environment === undefined ? null : EnvironmentConfigSchema.parse({ type: f.environment, max_turns: f.maxTurns, format: f.toolFormat, max_tokens: job.maxNewTokens, describe_tools: f.describeTools === true });
}

export async function evaluatePassAtK(dir: string, f: ProblemFlags & Partial<EnvironmentFlags> & { passAtK?: number[] }): Promise<EvalReport> {
  // --pass-at-k 1,4,16: the curve from max(k) samples per problem (or --samples); its largest k is the table's k
  const k = f.passAtK ? Math.max(...f.passAtK) : f.k;
  if (f.samples !== undefined && f.samples < k) throw new PassAtKError(`--samples ${f.samples} is below ${f.passAtK ? "the largest k of --pass-at-k" : "--k"} (${k}): pass@k needs at least k samples per problem`);
  const { policy, job, reward } = problemJob(dir, { ...f, k }, "eval", r => [r]);
  const env = environmentOf({ maxTurns: 4, toolFormat: "auto", ...f }, job);
  const s = env ? await sampleEpisodes(policy, job, env, logProgress) : await sampleProblems(policy, job, logProgress);
  const problems = s.examples.map((_, p) => {
    const rows = s.gens.map((g, i) => ({ g, i })).filter(x => x.g.prompt === p);
    return { correct: rows.map(x => s.scored.table[x.i][0] === 1), answers: rows.map(x => extractAnswer(s.fmt.completion(x.g))) };
  });
  const lang = s.examples.some(e => typeof e.language === "string")
    ? languageStats(s.gens.map(g => s.fmt.completion(g)), s.gens.map(g => s.examples[g.prompt])) : null;
  const report: EvalReport = { model: resolve(policy.modelDir), step: policy.step, reward, temperature: f.temperature, ...summarize(problems, k),
    ...(lang ? { language: lang.share, language_switched: lang.switched } : {}) };
  if (env) {
    const episodes = s.gens as Episode[], m = episodeMetrics(episodes);
    Object.assign(report, { tool_call_rate: episodes.filter(e => Object.keys(e.stats.calls).length > 0).length / Math.max(1, episodes.length), tool_error_rate: m["tools/error_rate"], turns: m["episodes/turns"] });
  }
  if (f.passAtK) {
    const curves = passAtKCurves(problems.map(p => p.correct), f.passAtK, s.examples.map(e => e.subset));
    report.pass_at_k = curves.all;
    if (curves.subsets) report.subsets = curves.subsets;
  }
  return report;
}

/** The pass@k curve as a table (one column per subset) and a chart over k (k evenly spaced: a log scale for powers). */
export function passAtKTable(r: EvalReport): string {
  const pct = (x: number) => (100 * x).toFixed(1);
  const ks = Object.keys(r.pass_at_k!);
  const subsets = Object.keys(r.subsets ?? {});
  const table = formatTable(["k", "pass@k %", ...subsets.map(n => `${n} %`)], ks.map(k => [k, pct(r.pass_at_k![k]), ...subsets.map(n => pct(r.subsets![n][k]))]));
  const values = ks.map(k => 100 * r.pass_at_k![k]);
  const chart = values.length > 1 ? `\npass@k % over k = ${ks.join(", ")}\n${asciichart.plot(values, { height: 8, format: (x: number) => x.toFixed(1).padStart(6) })}` : "";
  return table + chart;
}

export function register(program: Command): void {
  const cmd = program
    .command("eval")
    .description("pass@1, pass@k (the unbiased estimator of the Codex paper) and maj@k (majority vote over extracted answers) of a model on a task or JSONL set, k samples per problem");
  addProblemOptions(cmd, { n: 64, k: 8 })
    .option("--samples <n>", "samples per problem n ≥ k for a lower-variance pass@k estimate (default: k)", integer("--samples"))
    .option("--pass-at-k <list>", "the unbiased pass@k curve for these k, e.g. 1,4,16,64,256, from max(k) samples per problem (or --samples); per subset too (countdown: seen_target, unseen_target)", parseKsFlag)
    .option("--json", "print the figures as one JSON object");
  addEnvironmentOptions(cmd);
  cmd.action(async (dir: string, f: ProblemFlags & EnvironmentFlags & { json?: boolean; passAtK?: number[] }) => {
    const r = await evaluatePassAtK(dir, f);
    if (f.json) { output.out(JSON.stringify(r) + "\n"); return; }
    const pct = (x: number) => (100 * x).toFixed(1);
    output.out(`${r.model}${r.step !== null ? ` (step ${r.step})` : ""}: ${r.problems} problems × ${r.samples / r.problems} samples at T=${r.temperature}, reward ${r.reward}\n`);
    if (r.pass_at_k) { output.out(passAtKTable(r) + "\n"); return; }
    output.out(formatTable(["metric", "%"], [["pass@1", pct(r.pass1)], [`pass@${r.k}`, pct(r.passK)], [`maj@${r.k}`, pct(r.majK)],
      ...(r.language !== undefined ? [["language consistency", r.language === null ? "-" : pct(r.language)], ["language switched", r.language_switched == null ? "-" : pct(r.language_switched)]] : []),
      ...(r.tool_call_rate !== undefined ? [["tool-call rate", pct(r.tool_call_rate)], ["tool-error rate", r.tool_error_rate == null ? "-" : pct(r.tool_error_rate)]] : [])]) + "\n");
  });
  withExamples(cmd, [
    "move37 eval models/base-tiny --recipe recipes/r1-zero-tiny.yaml --k 8 --n 64",
    "move37 eval runs/r1-zero-tiny-20261128-120000 --task arithmetic --instruct --reward r1_math --k 16 --json",
    "move37 eval models/sft --dataset data/gsm8k/main/test-00000-of-00001.parquet --template chat --reward math --n 200 --k 4",
    "move37 eval models/base-countdown --recipe recipes/r1-zero-countdown.yaml --n 64 --pass-at-k 1,4,16,64,256",
  ]);
}
