/**
 * Scores completions with the named rewards of src/rewards: a table with one row per completion and one
 * column per reward function (null = that function could not judge), the shape GRPO's advantages take.
 */
import { scoreBatch } from "../rewards/registry.js";
import type { RewardExample } from "../rewards/types.js";

export interface ScoredRewards {
  /** [N][K]: completion i, reward function k. */
  table: (number | null)[][];
  /** Completion i's rewards by function name (for samples.jsonl). */
  byName(i: number): Record<string, number | null>;
}

export async function scoreCompletions(names: readonly string[], completions: string[], examples: readonly object[]): Promise<ScoredRewards> {
  const columns: (number | null)[][] = [];
  for (const name of names) columns.push(await scoreBatch(name, completions, examples as RewardExample[]));
  const table = completions.map((_, i) => columns.map(col => col[i]));
  return { table, byName: i => Object.fromEntries(names.map((n, k) => [n, table[i][k]])) };
}
