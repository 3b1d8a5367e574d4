// Which verifier scores a dataset row, from the row's `data_source` (verl's column): the `by_source` reward
// looks the name up here and delegates to that registry reward, so one file can mix math, countdown and code
// rows. A recipe's `dataset.reward_by_source` map is resolved at load time into each row's `verifier`;
// rows without one fall back to the data sources below (the names verl's and TinyZero's preprocessing write).
import type { RewardExample } from "./types.js";

/**
 * data_source → reward name for the public datasets whose rows name themselves: the sources verl's
 * default_compute_score (verl/utils/reward_score/__init__.py) dispatches on, with Move37's verifier for each,
 * plus TinyZero's "countdown" and the bare "gsm8k". Sources starting with "aime" are math as well.
 */
export const DEFAULT_REWARD_BY_SOURCE: Readonly<Record<string, string>> = {
  "openai/gsm8k": "math",
  "gsm8k": "math",
  "lighteval/MATH": "math",
  "DigitalLearningGmbH/MATH-lighteval": "math",
  "HuggingFaceH4/MATH-500": "math",
  "math": "math",
  "math_dapo": "math",
  "math_dapo_reasoning": "math",
  "numina_aops_forum": "math",
  "numina_synthetic_math": "math",
  "numina_amc_aime": "math",
  "numina_synthetic_amc": "math",
  "numina_cn_k12": "math",
  "numina_olympiads": "math",
  "countdown": "countdown",
  "Jiayi-Pan/Countdown-Tasks-3to4": "countdown",
  "codecontests": "code",
  "apps": "code",
  "codeforces": "code",
  "taco": "code",
};

/** The built-in reward for a data_source, if any. */
export function defaultVerifier(source: string): string | undefined {
  return Object.hasOwn(DEFAULT_REWARD_BY_SOURCE, source) ? DEFAULT_REWARD_BY_SOURCE[source] : source.startsWith("aime") ? "math" : undefined;
}

/** The reward name for a row: its `verifier` (set from reward_by_source), else the default for its data_source. */
export function verifierFor(example: RewardExample): string | undefined {
  if (typeof example.verifier === "string") return example.verifier;
  return typeof example.data_source === "string" ? defaultVerifier(example.data_source) : undefined;
}
