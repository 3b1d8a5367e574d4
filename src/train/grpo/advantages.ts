import { GRPOInputError } from "./errors.js";

/**
 * Rewards → advantages, as TRL's GRPOTrainer computes them (`_generate_and_score_completions`).
 * Rows are grouped contiguously: rows g·G … g·G+G−1 are the G completions of prompt g.
 *
 *   r_i = Σ_k w_k · r_{i,k}              null rewards are skipped (TRL nansum)
 *   μ_g = mean of the group, σ_g = its std with Bessel's correction (n − 1)
 *   group: A_i = (r_i − μ_g) / (σ_g + 1e-4)
 *   batch: A_i = (r_i − μ_g) / (σ_batch + 1e-4)     (mean per group, std over the whole batch)
 *   none : A_i =  r_i − μ_g                          (Dr. GRPO)
 *
 * A row where every reward function returned null ("cannot judge") gets r_i = NaN, is left out of its
 * group's mean and std, and gets advantage 0, so it teaches nothing. (TRL's nansum would turn such a row
 * into reward 0, silently punishing it; it only warns.)
 */

export type ScaleRewards = "group" | "batch" | "none";

/** TRL's epsilon in the std denominator. */
export const ADVANTAGE_EPS = 1e-4;

/** Weighted sum per row of a [N][K] reward table; null entries are skipped, an all-null row gives NaN. */
export function combineRewards(table: readonly (readonly (number | null)[])[], weights: readonly number[]): Float64Array {
  const out = new Float64Array(table.length);
  table.forEach((row, i) => {
    if (row.length !== weights.length)
      throw new GRPOInputError(`reward row ${i} has ${row.length} values but there are ${weights.length} reward weights; pass one value (or null) per reward function`);
    let sum = 0;
    let seen = false;
    for (let k = 0; k < row.length; k++) {
      const v = row[k];
      if (v === null || Number.isNaN(v)) continue;
      sum += weights[k] * v;
      seen = true;
    }
    out[i] = seen ? sum : NaN;
  });
  return out;
}

/** Mean and Bessel-corrected std of the non-NaN values; std is 0 with fewer than two values, mean NaN with none. */
export function nanMeanStd(xs: ArrayLike<number>): { mean: number; std: number; count: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) { sum += xs[i]; n++; }
  if (n === 0) return { mean: NaN, std: 0, count: 0 };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) if (!Number.isNaN(xs[i])) ss += (xs[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(ss / (n - 1)) : 0, count: n };
}

export interface Advantages {
  /** [N] advantage per row (0 for all-null rows). */
  advantages: Float64Array;
  /** [N] mean reward of the row's group (NaN if the whole group is null). */
  groupMean: Float64Array;
  /** [N] the std each row was scaled by (group std, or the batch std with scale "batch"); TRL logs its mean. */
  std: Float64Array;
  /** [N] 1 where that std is zero (torch.isclose(std, 0): |std| ≤ 1e-8). */
  zeroStd: Uint8Array;
}

/** Group-relative advantages of combined rewards [N] (N a multiple of G). */
export function computeAdvantages(rewards: ArrayLike<number>, G: number, scale: ScaleRewards): Advantages {
  const N = rewards.length;
  if (!Number.isInteger(G) || G < 1 || N % G !== 0)
    throw new GRPOInputError(`${N} rewards cannot be split into groups of num_generations = ${G}; keep each prompt's ${G} completions together`);
  const advantages = new Float64Array(N);
  const groupMean = new Float64Array(N);
  const std = new Float64Array(N);
  const batchStd = scale === "batch" ? nanMeanStd(rewards).std : 0;
  for (let g = 0; g < N; g += G) {
    const group = Array.prototype.slice.call(rewards, g, g + G) as number[];
    const s = nanMeanStd(group);
    const sigma = scale === "batch" ? batchStd : s.std;
    for (let i = g; i < g + G; i++) {
      groupMean[i] = s.mean;
      std[i] = sigma;
      const r = rewards[i];
      if (Number.isNaN(r)) continue;
      advantages[i] = scale === "none" ? r - s.mean : (r - s.mean) / (sigma + ADVANTAGE_EPS);
    }
  }
  const zeroStd = new Uint8Array(N);
  for (let i = 0; i < N; i++) zeroStd[i] = Math.abs(std[i]) <= 1e-8 ? 1 : 0;
  return { advantages, groupMean, std, zeroStd };
}
