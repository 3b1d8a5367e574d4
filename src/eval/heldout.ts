/**
 * Held-out evaluation of a policy on a problem set: pass@1 greedy (and at temperature 1), the share of well-formed
 * completions, and the mean completion length, plus a few reasoning traces to read. The numbers the R1-Zero
 * run reports before and after RL, and the multi-run experiments (pipeline, rlhf-vs-rl) compare their models on.
 *
 * evaluate() hands back the greedy completions it decoded and their reward table as well as the figures, so a
 * caller that needs more of the same decoding (another reward, a reward model's scores) scores what was decoded
 * instead of decoding the held-out set again.
 */
import { z } from "zod";
import type { CausalLM } from "../model/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generate, type Generation } from "../sample/generate.js";
import type { PromptFormat } from "../sample/prompt-format.js";
import { mixSeed } from "../tasks/rng.js";
import type { Example } from "../tasks/index.js";
import { scoreCompletions, type ScoredRewards } from "../train/rewarding.js";
import { languageStats } from "../rewards/language.js";
import { oneProblemSource, problemSetFields } from "../train/trainer-config.js";
import { PassAtKError, passAtKCurves } from "../train/pass-at-k.js";
import { countdownSamples, searchMetrics } from "./search-behaviour.js";

/** The held-out measurement a multi-run experiment compares its runs on (pipeline, rlhf-vs-rl). */
export const HeldOutSchema = z.object({
  /**
   * The task or dataset every stage trains and is measured on; stages inherit it (and the seeds and prompt) unless
   * they set their own.
   */
  ...problemSetFields(128),
  /** A greedy completion counts as correct / well formed / consistent by these rewards. */
  accuracy_reward: z.string().min(1).default("r1_math"),
  format_reward: z.string().min(1).default("format"),
  language_reward: z.string().min(1).default("language"),
  max_new_tokens: z.number().int().positive().default(96),
}).strict().superRefine(oneProblemSource());
export type HeldOut = z.output<typeof HeldOutSchema>;

export interface EvalResult {
  /** Share of problems solved, greedy decoding. */
  accuracy: number;
  /** Share solved by one sample at temperature 1; null when not measured. */
  accuracySampled: number | null;
  /** Share of greedy completions in the required format. */
  format: number;
  /** Mean greedy completion length in tokens. */
  meanLength: number;
  /**
   * Mean greedy completion length of the wrong answers (null when none is wrong): the figure where GRPO's
   * per-sequence normalisation and Dr. GRPO's constant one differ (long wrong answers are penalised less per token).
   */
  meanLengthWrong: number | null;
  /**
   * Language of the greedy chains of thought against each row's target (`language`, default English; see
   * src/rewards/language.ts): the mean target-script word share, and the share that switch script part-way, over the
   * completions with words (null when none has any, as for symbolic arithmetic).
   */
  language: number | null;
  languageSwitched: number | null;
  /** Two greedy traces (prompt and completion) for the report. */
  traces: string[];
  /**
   * Per subset of the held-out set, when its problems carry one (countdown with held-out targets: seen_target,
   * unseen_target): problems, greedy accuracy, and accuracy at T=1 (null when not measured).
   */
  subsets?: Record<string, { problems: number; accuracy: number; accuracySampled: number | null }>;
  /**
   * Countdown problems: search behaviour per 100 completions (src/eval/search-behaviour.ts), of the greedy completions
   * and of the T=1 samples (null when not measured).
   */
  search?: { greedy: Record<string, number>; sampled: Record<string, number> | null };
}

export interface EvalOptions {
  /** Reward names: a completion is correct when `accuracy` gives 1, well-formed when `format` gives 1. */
  accuracy: string;
  format: string;
  /** More rewards scored on the greedy completions: the table's columns after accuracy and format. */
  extraRewards?: readonly string[];
  maxNewTokens: number;
  /** Also sample once at temperature 1. */
  sampled: boolean;
  seed: number;
  /** Rows decoded together. */
  batchSize?: number;
}

/** The figures, and the greedy decoding they were computed from. */
export interface HeldOutResult {
  figures: EvalResult;
  /** Greedy completions, one per example, in example order. */
  gens: Generation[];
  /** Their rewards: columns accuracy, format, then extraRewards. */
  scored: ScoredRewards;
}

export async function evaluate(model: CausalLM, tok: Tokenizer, fmt: PromptFormat, examples: readonly Example[], o: EvalOptions): Promise<HeldOutResult> {
  const prompts = examples.map(ex => fmt.encode(ex));
  const run = (temperature: number) => generate(model, tok, prompts, {
    maxNewTokens: o.maxNewTokens, temperature, stop: fmt.stop, seed: mixSeed(o.seed, temperature), batchSize: o.batchSize ?? 64,
  });
  const score = (gens: Generation[], extra: readonly string[]) =>
    scoreCompletions([o.accuracy, o.format, ...extra], gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]));
  const shares = (s: ScoredRewards) => {
    const right = s.table.map(r => r[0] === 1);
    return { right, acc: mean(right.map(Number)), format: mean(s.table.map(r => (r[1] === 1 ? 1 : 0))) };
  };
  const greedy = run(0);
  const scored = await score(greedy, o.extraRewards ?? []);
  const g = shares(scored);
  const sampledGens = o.sampled ? run(1) : null;
  const s = sampledGens ? shares(await score(sampledGens, [])) : null;
  const traces = greedy.slice(0, 2).map(x => `${fmt.text(examples[x.prompt])}${fmt.completion(x).replace(/^<think>/, "")}   [gold ${examples[x.prompt].answer}]`);
  const wrong = greedy.filter((_, i) => !g.right[i]).map(x => x.ids.length);
  const lang = languageStats(greedy.map(x => fmt.completion(x)), greedy.map(x => examples[x.prompt]));
  const figures: EvalResult = { accuracy: g.acc, accuracySampled: s?.acc ?? null, format: g.format, meanLength: mean(greedy.map(x => x.ids.length)), meanLengthWrong: wrong.length ? mean(wrong) : null,
    language: lang.share, languageSwitched: lang.switched, traces };
  const names = [...new Set(examples.map(e => e.subset).filter((x): x is string => x !== undefined))].sort();
  if (names.length > 0) {
    // generations are in example order, one per example (greedy and sampled alike)
    const share = (right: boolean[], name: string) => mean(right.filter((_, i) => examples[i].subset === name).map(Number));
    figures.subsets = Object.fromEntries(names.map(n => [n, {
      problems: examples.filter(e => e.subset === n).length, accuracy: share(g.right, n), accuracySampled: s ? share(s.right, n) : null,
    }]));
  }
  const search = (gens: Generation[]) => searchMetrics(countdownSamples(gens.map(x => fmt.completion(x)), gens.map(x => examples[x.prompt])));
  const sg = search(greedy);
  if (Object.keys(sg).length > 0) figures.search = { greedy: sg, sampled: sampledGens ? search(sampledGens) : null };
  return { figures, gens: greedy, scored };
}

/** pass@k of a policy on held-out problems: `samples` completions of each at `temperature`, judged by the accuracy reward. */
export interface PassAtKEvalOptions {
  accuracy: string;
  ks: readonly number[];
  /** Completions per problem (n ≥ the largest k; default the largest k). */
  samples?: number;
  temperature: number;
  maxNewTokens: number;
  seed: number;
  batchSize?: number;
}

export interface PassAtKFigures {
  problems: number;
  samples: number;
  temperature: number;
  /** k → mean unbiased pass@k ("1": 0.31, "4": 0.55, …). */
  pass_at_k: Record<string, number>;
  /** Per subset of the problems (countdown: seen_target, unseen_target), when they carry one. */
  subsets?: Record<string, Record<string, number>>;
}

export async function evaluatePassAtK(model: CausalLM, tok: Tokenizer, fmt: PromptFormat, examples: readonly Example[], o: PassAtKEvalOptions): Promise<PassAtKFigures> {
  const n = o.samples ?? Math.max(...o.ks);
  if (n < Math.max(...o.ks)) throw new PassAtKError(`pass@k: ${n} samples per problem are fewer than the largest k (${Math.max(...o.ks)}); draw at least k samples`);
  const gens = generate(model, tok, examples.map(ex => fmt.encode(ex)), {
    maxNewTokens: o.maxNewTokens, temperature: o.temperature, stop: fmt.stop, seed: mixSeed(o.seed, 0x9a55), numReturnSequences: n, batchSize: o.batchSize ?? 64,
  });
  const scored = await scoreCompletions([o.accuracy], gens.map(g => fmt.completion(g)), gens.map(g => examples[g.prompt]));
  const correct: boolean[][] = examples.map(() => []);
  gens.forEach((g, i) => correct[g.prompt].push(scored.table[i][0] === 1));
  const curves = passAtKCurves(correct, o.ks, examples.map(e => e.subset));
  return { problems: examples.length, samples: n, temperature: o.temperature, pass_at_k: curves.all, ...(curves.subsets ? { subsets: curves.subsets } : {}) };
}

export function mean(xs: ArrayLike<number>): number {
  return xs.length ? Array.from(xs).reduce((a, b) => a + b, 0) / xs.length : 0;
}
