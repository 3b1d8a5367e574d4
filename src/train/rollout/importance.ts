/**
 * Truncated importance sampling (TRL's vllm_importance_sampling_correction): when another engine sampled the
 * completions, its log-probs π_s differ from the trainer's π_θ(old) on the same tokens (kernels, precision, stale
 * weights), so each token's loss is weighted by w = π_θ(old) / π_s, cut at a cap to bound variance:
 * *_truncate w = min(w, cap); *_mask w = w if w ≤ cap else 0; token_* per token, sequence_* one ratio per
 * completion (the product over its tokens). w is a constant (no gradient), so the weighted loss's gradient is
 * w times the unweighted one, token by token: `applyWeights` scales dL/dℓ. That is exact when w is constant
 * over each completion's tokens, or when each token's loss depends on its own log-prob only (token-level
 * importance ratios): per-token weights with GSPO's sequence-level ratio are refused (see createRollout).
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

/**
 * [B*T] weights (1 outside the mask) from the trainer's and the sampler's log-probs of the same tokens; T slots
 * per row. Sequence modes use one ratio per row, exp(Σ_t m·(ℓ_trainer − ℓ_sampler)), for all its tokens.
 */
export function importanceWeights(trainer: ArrayLike<number>, sampler: ArrayLike<number>, mask: ArrayLike<number>, T: number, o: ImportanceOptions): Float32Array {
  const w = new Float32Array(mask.length).fill(1);
  const cut = (r: number) => (o.mode.endsWith("truncate") ? Math.min(r, o.cap) : r <= o.cap ? r : 0);
  const perSequence = o.mode.startsWith("sequence");
  for (let row = 0; row < mask.length; row += T) {
    let sum = 0;
    if (perSequence) for (let i = row; i < row + T; i++) if (mask[i]) sum += trainer[i] - sampler[i];
    const rowWeight = cut(Math.exp(sum));
    for (let i = row; i < row + T; i++) if (mask[i]) w[i] = perSequence ? rowWeight : cut(Math.exp(trainer[i] - sampler[i]));
  }
  return w;
}

/** dL/dℓ of Σ w·L from that of Σ L (w constant). */
export function applyWeights(dlogp: Float32Array, w: ArrayLike<number>): void {
  for (let i = 0; i < dlogp.length; i++) dlogp[i] *= w[i];
}

/** TRL's sampling/* metrics over every masked token of a step. */
export class ImportanceStats {
  private n = 0; private diffSum = 0; private diffMax = 0; private wSum = 0; private wMin = Infinity; private wMax = -Infinity; private klSum = 0;

  add(trainer: ArrayLike<number>, sampler: ArrayLike<number>, mask: ArrayLike<number>, w: ArrayLike<number>): void {
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      const d = Math.abs(trainer[i] - sampler[i]);
      this.n++; this.diffSum += d; this.diffMax = Math.max(this.diffMax, d);
      const r = trainer[i] - sampler[i];
      this.klSum += Math.exp(r) - r - 1; // k3 estimate of KL(sampler ‖ trainer) on the sampler's tokens (prime-rl's mismatch_kl)
      this.wSum += w[i]; this.wMin = Math.min(this.wMin, w[i]); this.wMax = Math.max(this.wMax, w[i]);
    }
  }

  metrics(): Record<string, number> {
    if (this.n === 0) return {};
    return {
      "sampling/sampling_logp_difference/mean": this.diffSum / this.n, "sampling/sampling_logp_difference/max": this.diffMax,
      "sampling/importance_sampling_ratio/min": this.wMin, "sampling/importance_sampling_ratio/mean": this.wSum / this.n,
      "sampling/importance_sampling_ratio/max": this.wMax,
      "off_policy/mismatch_kl": this.klSum / this.n,
    };
  }
}
