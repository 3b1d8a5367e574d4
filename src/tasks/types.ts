import type { TaskRng } from "../rng.js";

/**
 * One verifiable problem, in the shape the rewards library reads: rewards are
 * `(completion, example) => number | null` and use `answer` (and `numbers`/`target` for countdown).
 * A type alias, not an interface, so it is assignable to the rewards' index-signature RewardExample.
 */
export type Example = {
  /** Stable identity; equal problems have equal ids (used to keep train and eval disjoint). */
  id: string;
  /** The problem as the user states it, without any template, e.g. "3+7-2+9=?". */
  question: string;
  /** Gold answer as text, e.g. "17"; for countdown one valid equation, e.g. "(3+5)*2". */
  answer: string;
  /** Countdown: the numbers, each to be used exactly once. */
  numbers?: number[];
  /** Countdown: the value the equation must reach. */
  target?: number;
  /**
   * The part of an evaluation set the problem belongs to, which held-out figures are also reported by (countdown
   * with held-out targets: "seen_target" or "unseen_target"). Absent: one undivided set.
   */
  subset?: string;
  /** JSONL chat rows: the conversation before the assistant's turn (used instead of `question` by chat templates). */
  messages?: { role: string; content: string }[];
  /** Dataset rows (src/data): where the row comes from (verl's `data_source`, e.g. "openai/gsm8k"); picks its verifier. */
  data_source?: string;
  /** Dataset rows: the registry reward that scores this row under the `by_source` reward (from `reward_by_source`). */
  verifier?: string;
  /** SFT rows: the target, as text or as TRL's conversational completion (a list of assistant turns). */
  completion?: string | { role: string; content: string }[];
  /** Code rows: tests for the `code` reward (Python assertion snippets or {input, output} stdin/stdout pairs). */
  tests?: (string | { input: string; output: string })[];
  /**
   * Code rows: the program's language for the `code` reward ("python", "javascript"). Natural-language rows (a
   * dataset's `language` column, worded arithmetic): the language the reasoning should be in ("en", "ru", "zh"), the
   * `language` reward's target.
   */
  language?: string;
  /** verl's `ability` ("math", "code", …) and `extra_info` ({split, index, …}), kept as the file has them. */
  ability?: string;
  extra_info?: Record<string, unknown>;
};

/**
 * Which stream a problem is drawn for. "train" (RL problems, the pretraining corpus) never yields a problem the task
 * holds out entirely (countdown's held-out targets); "eval" (held-out sets) may. Tasks without such problems ignore it.
 */
export type TaskStream = "train" | "eval";

/** A procedural task: draws one problem from an RNG. Deterministic given the RNG's state. */
export interface TaskGenerator {
  readonly name: string;
  /** One problem; `stream` defaults to "train", the one that never shows a held-out target. */
  sample(rng: TaskRng, stream?: TaskStream): Example;
  /**
   * Ids of every problem an example shows in full besides itself (arithmetic: each intermediate chain of
   * its derivation), so a training problem never walks through a held-out one. Default: none.
   */
  exposes?(ex: Example): string[];
}

/** A named failure of task configuration or data, saying what to change. */
export class TaskError extends Error {
  override name = "TaskError";
}
