// Makes any reward total: an exception inside a verifier becomes null ("cannot judge"),
// never a crashed training step, and over-long inputs are cut before any parsing.
import type { AsyncRewardFn, BatchRewardFn, RewardExample, RewardFn, RewardValue } from "./types.js";

/** Longest completion any reward reads (characters); the tail is kept because answers come last. */
export const MAX_COMPLETION_CHARS = 100_000;

/** Keeps the last `max` characters of `s` (answers sit at the end of a completion). */
export function tail(s: string, max = MAX_COMPLETION_CHARS): string {
  return s.length > max ? s.slice(s.length - max) : s;
}

/** Exceptions the guards turned into null (a verifier bug; the fuzz test requires none). */
export const guardStats = { exceptions: 0, lastError: undefined as unknown };

function caught(e: unknown): null {
  guardStats.exceptions++;
  guardStats.lastError = e;
  return null;
}

function clean(v: unknown): RewardValue {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** Wraps a sync reward: non-string input, exceptions and non-finite results all give null. */
export function safe(fn: RewardFn): RewardFn {
  return (completion: string, example: RewardExample): RewardValue => {
    try {
      if (typeof completion !== "string") return null;
      return clean(fn(tail(completion), example ?? {}));
    } catch (e) {
      return caught(e);
    }
  };
}

/** Wraps an async reward the same way (a rejection gives null). */
export function safeAsync(fn: AsyncRewardFn): AsyncRewardFn {
  return async (completion: string, example: RewardExample): Promise<RewardValue> => {
    try {
      if (typeof completion !== "string") return null;
      return clean(await fn(tail(completion), example ?? {}));
    } catch (e) {
      return caught(e);
    }
  };
}

/** Wraps a batch reward: a rejection, or a result of the wrong length, gives null for the whole batch. */
export function safeBatch(fn: BatchRewardFn): BatchRewardFn {
  return async (completions: string[], examples: RewardExample[]): Promise<RewardValue[]> => {
    try {
      const out = await fn(completions.map(c => (typeof c === "string" ? tail(c) : "")), examples.map(e => e ?? {}));
      if (out.length !== completions.length) throw new Error(`batch reward returned ${out.length} values for ${completions.length} completions`);
      return out.map((v, i) => (typeof completions[i] === "string" ? clean(v) : null));
    } catch (e) {
      caught(e);
      return completions.map(() => null);
    }
  };
}

/** Reads a string field of an example, or undefined. */
export function field(example: RewardExample, key: string): string | undefined {
  const v = example[key];
  if (typeof v === "string") return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}
