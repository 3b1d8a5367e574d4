// Length shaping: cosine-scaled accuracy (Kimi k1.5 / open-r1), DAPO's soft overlong punishment,
// and an n-gram repetition penalty (open-r1). Lengths are `example.completion_length` (tokens, as a
// trainer knows them) when given, else characters.
import { z } from "zod";
import { safe } from "./guard.js";
import { makeMathReward } from "./math.js";
import type { RewardExample, RewardFn } from "./types.js";

function lengthOf(completion: string, example: RewardExample): number {
  const n = example.completion_length;
  return typeof n === "number" && Number.isFinite(n) && n >= 0 ? n : completion.length;
}

export const CosineConfig = z.object({
  min_value_wrong: z.number().default(-1),
  max_value_wrong: z.number().default(-0.5),
  min_value_correct: z.number().default(0.5),
  max_value_correct: z.number().default(1),
  max_len: z.number().positive().default(1000),
}).strict();
export type CosineConfig = z.input<typeof CosineConfig>;

/**
 * Cosine-scaled accuracy (open-r1 `get_cosine_scaled_reward`): correct answers earn more when
 * short (max_value_correct at length 0 down to min_value_correct at max_len), wrong answers are
 * punished less when long (min_value_wrong at 0 up to max_value_wrong at max_len), so the model is
 * not pushed to stop thinking when it is wrong. Correctness is the math reward against
 * `example.answer` (null when the gold does not parse).
 *
 * Worked example (max_len 1000, defaults):
 *   cosine("\\boxed{4}" correct, length 0)    // 1
 *   cosine(correct, completion_length 500)    // 0.75
 *   cosine(wrong, completion_length 1000)     // -0.5
 */
export function makeCosineScaledReward(config: CosineConfig = {}): RewardFn {
  const c = CosineConfig.parse(config);
  const accuracy = makeMathReward();
  return safe((completion, example) => {
    const acc = accuracy(completion, example);
    if (acc === null) return null;
    const progress = Math.min(1, lengthOf(completion, example) / c.max_len);
    const cosine = Math.cos(progress * Math.PI);
    const [lo, hi] = acc >= 1 ? [c.min_value_correct, c.max_value_correct] : [c.max_value_wrong, c.min_value_wrong];
    return lo + 0.5 * (hi - lo) * (1 + cosine);
  });
}

export const OverlongConfig = z.object({
  max_completion_length: z.number().positive().default(1024),
  overlong_buffer: z.number().nonnegative().default(256),
}).strict();
export type OverlongConfig = z.input<typeof OverlongConfig>;

/**
 * DAPO soft overlong punishment: 0 up to max_completion_length − overlong_buffer, then a linear
 * ramp down to −1 at max_completion_length, and −1 beyond.
 *
 * Worked example (max 1024, buffer 256):
 *   overlong(completion_length 700)   // 0
 *   overlong(completion_length 896)   // -0.5
 *   overlong(completion_length 2000)  // -1
 */
export function makeOverlongReward(config: OverlongConfig = {}): RewardFn {
  const c = OverlongConfig.parse(config);
  const free = c.max_completion_length - c.overlong_buffer;
  return safe((completion, example) => {
    const n = lengthOf(completion, example);
    if (n <= free) return 0;
    if (n <= c.max_completion_length) return c.overlong_buffer === 0 ? 0 : (free - n) / c.overlong_buffer;
    return -1;
  });
}

export const RepetitionConfig = z.object({
  ngram_size: z.number().int().positive().default(3),
  max_penalty: z.number().max(0).default(-1),
}).strict();
export type RepetitionConfig = z.input<typeof RepetitionConfig>;

const MAX_WORDS = 20_000;

/**
 * N-gram repetition penalty (open-r1 `get_repetition_penalty_reward`): max_penalty × (1 − unique
 * n-grams / all n-grams) over lower-cased whitespace words; 0 for text shorter than one n-gram.
 *
 * Worked example (n = 3, max_penalty −1):
 *   repetition("a b c d", {})          // 0 (2 n-grams, both unique)
 *   repetition("a b a b a b", {})      // -0.5 (4 n-grams, 2 unique)
 */
export function makeRepetitionPenalty(config: RepetitionConfig = {}): RewardFn {
  const c = RepetitionConfig.parse(config);
  return safe(completion => {
    const words = completion.toLowerCase().split(/\s+/).filter(w => w !== "").slice(0, MAX_WORDS);
    if (words.length < c.ngram_size) return 0;
    const seen = new Set<string>();
    let total = 0;
    for (let i = 0; i + c.ngram_size <= words.length; i++) {
      seen.add(words.slice(i, i + c.ngram_size).join(" "));
      total++;
    }
    return (1 - seen.size / total) * c.max_penalty + 0; // + 0 turns -0 into 0
  });
}
