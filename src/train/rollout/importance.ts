/**
 * Truncated importance sampling (TRL's vllm_importance_sampling_correction): when another engine sampled the
 * completions, its log-probs π_s differ from the trainer's π_θ(old) on the same tokens (kernels, precision, stale
 * weights), so each token's loss is weighted by w = π_θ(old) / π_s, cut at a cap to bound variance:
 * token_truncate w = min(w, cap); token_mask w = w if w ≤ cap else 0. w is a constant (no gradient), so the
 * weighted loss's gradient is w times the unweighted one, token by token: `applyWeights` scales dL/dℓ.
 */
import type { ImportanceSamplingMode } from "./config.js";

export interface ImportanceOptions { cap: number; mode: ImportanceSamplingMode }

/**
 * Per-slot sampling log-probs in packBatch's [B*T] layout: completion token j of row b (prompt length P_b) is
 * scored at slot P_b + j − 1. Slots that score no completion token hold 0.
 */
export function slotLogprobs(promptLengths: readonly number[], logprobs: readonly (readonly number[])[], T: number): Float32Array {
  const out = new Float32Array(promptLengths.length * T);
  promptLengths.forEach((P, b) => logprobs[b].forEach((lp, j) => {
    if (P + j - 1 < T) out[b * T + P + j - 1] = lp;
  }));
  return out;
}

/** [B*T] weights (1 outside the mask) from the trainer's and the sampler's log-probs of the same tokens. */
export function importanceWeights(trainer: ArrayLike<number>, sampler: ArrayLike<number>, mask: ArrayLike<number>, o: ImportanceOptions): Float32Array {
  const w = new Float32Array(mask.length).fill(1);
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    const r = Math.exp(trainer[i] - sampler[i]);
    w[i] = o.mode === "token_truncate" ? Math.min(r, o.cap) : r <= o.cap ? r : 0;
  }
  return w;
}

/** dL/dℓ of Σ w·L from that of Σ L (w constant). */
export function applyWeights(dlogp: Float32Array, w: ArrayLike<number>): void {
  for (let i = 0; i < dlogp.length; i++) dlogp[i] *= w[i];
}

/** TRL's sampling/* metrics over every masked token of a step. */
export class ImportanceStats {
  private n = 0; private diffSum = 0; private diffMax = 0; private wSum = 0; private wMin = Infinity; private wMax = -Infinity;

  add(trainer: ArrayLike<number>, sampler: ArrayLike<number>, mask: ArrayLike<number>, w: ArrayLike<number>): void {
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const d = Math.abs(trainer[i] - sampler[i]);
      this.n++; this.diffSum += d; this.diffMax = Math.max(this.diffMax, d);
      this.wSum += w[i]; this.wMin = Math.min(this.wMin, w[i]); this.wMax = Math.max(this.wMax, w[i]);
    }
  }

  metrics(): Record<string, number> {
    if (this.n === 0) return {};
    return {
      "sampling/sampling_logp_difference/mean": this.diffSum / this.n, "sampling/sampling_logp_difference/max": this.diffMax,
      "sampling/importance_sampling_ratio/min": this.wMin, "sampling/importance_sampling_ratio/mean": this.wSum / this.n,
      "sampling/importance_sampling_ratio/max": this.wMax,
    };
  }
}
