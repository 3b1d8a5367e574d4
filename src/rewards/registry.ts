// Rewards by name, so recipes can write `rewards: [{name: math, weight: 1}, {name: format, weight: 0.5}]`.
// Every entry has an async batch form (code rewards run processes); synchronous rewards also expose
// `sync` for callers that want no promise per sample, and rewards that score many completions in one go
// (a learned reward model's batched forward) expose `batch`.
import { z } from "zod";
import { mathReward } from "./math.js";
import { r1FormatReward, r1StrictFormatReward, tagCountReward, thinkFormatReward } from "./format.js";
import { countdownCheckedReward, countdownReward, countdownStrictReward } from "./countdown.js";
import { codeReward } from "./code.js";
import { languageConsistencyReward } from "./language.js";
import { makeCosineScaledReward, makeOverlongReward, makeRepetitionPenalty } from "./length.js";
import { KL_PENALTY_REWARD, REWARD_MODEL_REWARD, klPenaltyBatch, rewardModelBatch } from "./reward-model.js";
import { safe, safeAsync, safeBatch } from "./guard.js";
import { verifierFor } from "./by-source.js";
import type { AsyncRewardFn, BatchRewardFn, RewardExample, RewardFn, RewardValue } from "./types.js";

export interface RewardSpec {
  name: string;
  description: string;
  /** Longest one call may take (ms); the fuzz test holds every reward to it. */
  timeLimitMs: number;
  /** Present for rewards that need no I/O. */
  sync?: RewardFn;
  call: AsyncRewardFn;
  /** Present for rewards that score a whole batch at once; scoreBatch uses it. */
  batch?: BatchRewardFn;
}

function syncSpec(name: string, description: string, fn: RewardFn, timeLimitMs = 250): RewardSpec {
  return { name, description, timeLimitMs, sync: fn, call: async (c, e) => fn(c, e) };
}

/** A reward that scores a whole batch in one go (a model's batched forward); one completion alone is a batch of one. */
function batchSpec(name: string, description: string, fn: BatchRewardFn, timeLimitMs: number): RewardSpec {
  const batch = safeBatch(fn);
  return { name, description, timeLimitMs, batch, call: async (c, e) => (await batch([c], [e]))[0] };
}

/**
 * R1-Zero's accuracy reward as the tiny run uses it: the math verdict, counted only when the completion is
 * well formed (R1 format), so a bare number outside <answer> earns nothing (r1-tiny-lessons.md, lesson 3).
 *   r1MathReward("<think>2+3 = 5</think><answer>5</answer>", { answer: "5" })   // 1
 *   r1MathReward("<think>2+3 = 5</think> 5", { answer: "5" })                   // 0: not well formed
 */
const r1MathReward: RewardFn = (completion, example) => {
  const m = mathReward(completion, example);
  return m === null ? null : r1FormatReward(completion, example) === 1 ? m : 0;
};

const SPECS: RewardSpec[] = [
  syncSpec("math", "final answer equals example.answer (extraction, normalisation, symbolic equivalence); null if the gold does not parse", mathReward, 4000),
  syncSpec("r1_math", "math accuracy counted only when the completion is in R1 format", r1MathReward, 4000),
  syncSpec("format", "R1 format <think>…</think><answer>…</answer>, whitespace allowed, non-empty answer", r1FormatReward),
  syncSpec("format_strict", "R1 format with the exact newlines of open-r1's strict pattern", r1StrictFormatReward),
  syncSpec("think_format", "TRL think_format_reward: opens with one <think>…</think>", thinkFormatReward),
  syncSpec("tag_count", "0.25 per R1 tag present exactly once (answer tags need a non-empty answer)", tagCountReward),
  syncSpec("countdown", "TinyZero countdown: 1 correct, 0.1 wrong equation in <answer>, 0 none (example.nums, example.target)", countdownReward),
  syncSpec("countdown_strict", "countdown 0/1", countdownStrictReward),
  syncSpec("countdown_checked", "countdown 0/1 with the process check: 0 also when an arithmetic statement in the reasoning (a op b = c, chains, x = y checks) is false", countdownCheckedReward),
  syncSpec("language", "share of chain-of-thought words in the script of example.language (default en)", languageConsistencyReward),
  syncSpec("cosine", "cosine-scaled math accuracy by length (open-r1 defaults, max_len 1000)", makeCosineScaledReward(), 4000),
  syncSpec("overlong", "DAPO soft overlong punishment (max 1024, buffer 256; example.completion_length or characters)", makeOverlongReward()),
  syncSpec("repetition", "3-gram repetition penalty, max -1", makeRepetitionPenalty()),
  // Model rewards (src/rewards/reward-model.ts): they judge only the examples the GRPO trainer widens with tokens and
  // texts, from the models useModelRewards loaded; anywhere else (move37 verify) they give null.
  batchSpec(REWARD_MODEL_REWARD, "learned reward model's score of prompt + completion (RLHF); needs reward_model: <folder> in the GRPO recipe", rewardModelBatch, 120_000),
  batchSpec(KL_PENALTY_REWARD, "PPO-style KL-in-reward: −Σ_t (log π − log π_ref) of the completion against the starting policy (weight = β); GRPO only", klPenaltyBatch, 120_000),
  { name: "code", description: "fraction of example.tests passed by the program, sandboxed (example.language python|javascript)", timeLimitMs: 60_000, call: codeReward },
  {
    name: "by_source", description: "each row scored by the reward its data_source maps to (dataset reward_by_source, or verl's names); null when none", timeLimitMs: 60_000,
    call: safeAsync(async (c, e) => { const name = verifierFor(e); return name === undefined || name === "by_source" ? null : getReward(name).call(c, e); }),
  },
];

export class UnknownRewardError extends Error {
  constructor(name: string) {
    super(`Unknown reward "${name}". Known rewards: ${SPECS.map(s => s.name).join(", ")}. Check the recipe's rewards list.`);
    this.name = "UnknownRewardError";
  }
}

export class DuplicateRewardError extends Error {
  constructor(name: string) {
    super(`A reward named "${name}" is already registered. Pick another name for the custom reward.`);
    this.name = "DuplicateRewardError";
  }
}

/**
 * Adds a custom reward (sync and/or async). It is wrapped like the built-ins: exceptions become
 * null and non-string completions are refused.
 */
export function registerReward(spec: { name: string; description: string; timeLimitMs: number; sync?: RewardFn; call?: AsyncRewardFn; batch?: BatchRewardFn }): RewardSpec {
  if (SPECS.some(s => s.name === spec.name)) throw new DuplicateRewardError(spec.name);
  const sync = spec.sync ? safe(spec.sync) : undefined;
  const batch = spec.batch ? safeBatch(spec.batch) : undefined;
  const call = spec.call ? safeAsync(spec.call) : sync ? async (c: string, e: RewardExample) => sync(c, e)
    : batch ? async (c: string, e: RewardExample) => (await batch([c], [e]))[0] : undefined;
  if (!call) throw new TypeError(`reward "${spec.name}" needs a sync, call or batch function`);
  const out: RewardSpec = { name: spec.name, description: spec.description, timeLimitMs: spec.timeLimitMs, sync, call, batch };
  SPECS.push(out);
  return out;
}

/** All rewards, in registry order. */
export function listRewards(): readonly RewardSpec[] {
  return SPECS;
}

/** A reward by name; throws UnknownRewardError (a configuration error, not a reward failure). */
export function getReward(name: string): RewardSpec {
  const spec = SPECS.find(s => s.name === name);
  if (!spec) throw new UnknownRewardError(name);
  return spec;
}

/** Scores a batch with a bounded number of calls in flight (code rewards spawn processes). */
export async function scoreBatch(name: string, completions: string[], examples: RewardExample[], concurrency = 2): Promise<RewardValue[]> {
  const spec = getReward(name);
  if (spec.sync) return completions.map((c, i) => spec.sync!(c, examples[i] ?? {}));
  if (spec.batch) return spec.batch(completions, completions.map((_, i) => examples[i] ?? {}));
  const out: RewardValue[] = new Array(completions.length).fill(null);
  let next = 0;
  const lane = async () => {
    while (next < completions.length) {
      const i = next++;
      out[i] = await spec.call(completions[i], examples[i] ?? {});
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, completions.length)) }, lane));
  return out;
}

export const WeightedReward = z.object({ name: z.string(), weight: z.number().default(1) }).strict();
export type WeightedReward = z.input<typeof WeightedReward>;

/**
 * Weighted sum of several rewards per sample (TRL's reward_weights). A null from one reward is
 * left out of the sum (TRL's nansum); a sample whose rewards are all null stays null.
 * Returns the totals and each reward's column (for per-reward metrics such as rewards/math/mean).
 */
export async function scoreWeighted(rewards: WeightedReward[], completions: string[], examples: RewardExample[], concurrency = 2): Promise<{ total: RewardValue[]; columns: Record<string, RewardValue[]> }> {
  const parsed = rewards.map(r => WeightedReward.parse(r));
  parsed.forEach(r => getReward(r.name));
  const columns: Record<string, RewardValue[]> = {};
  for (const r of parsed) columns[r.name] = await scoreBatch(r.name, completions, examples, concurrency);
  const total = completions.map((_c, i) => {
    let sum = 0, any = false;
    for (const r of parsed) {
      const v = columns[r.name][i];
      if (v !== null) { sum += r.weight * v; any = true; }
    }
    return any ? sum : null;
  });
  return { total, columns };
}
