// Shared shape of every verifiable reward (DESIGN.md convention 7).
// A reward is a plain function `(completion, example) => number | null`:
// null means "cannot judge" (e.g. the gold answer does not parse) and the trainer skips the sample.

/** One dataset row as a reward sees it: `answer` is the gold answer; tasks add their own fields. */
export interface RewardExample {
  answer?: unknown;
  [key: string]: unknown;
}

export type RewardValue = number | null;

/** A synchronous reward. Never throws, returns in bounded time. */
export type RewardFn = (completion: string, example: RewardExample) => RewardValue;

/** An asynchronous reward (code execution runs child processes). Never rejects. */
export type AsyncRewardFn = (completion: string, example: RewardExample) => Promise<RewardValue>;

/**
 * A reward that scores a whole batch at once (a learned reward model runs one batched forward on the engine).
 * Returns one value per completion, in order. Never rejects.
 */
export type BatchRewardFn = (completions: string[], examples: RewardExample[]) => Promise<RewardValue[]>;
