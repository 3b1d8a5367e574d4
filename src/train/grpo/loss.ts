import { GRPOInputError } from "./errors.js";

/**
 * The GRPO loss of one micro-batch and its exact gradient with respect to the per-token log-probs,
 * as TRL's `GRPOTrainer._compute_loss` defines them. Dimensions: B rows, T token slots per row;
 * every per-token array is [B*T] row-major, in the same layout the model's forward returns and its
 * backward(dlogp) accepts.
 *
 *   log w = ℓ − ℓ_old                                           (token level)
 *   log w = Σ_t m(ℓ − ℓ_old) / max(1, Σ_t m), one per row        (sequence level, GSPO)
 *   ρ = exp(log w);  ρ̂ = clamp(ρ, 1 − ε, 1 + ε_high);  ρ' = min(ρ, δ) if δ is set
 *   L_pg = −min(ρ'·A, ρ̂·A)
 *   KL = exp(ℓ_ref − ℓ) − (ℓ_ref − ℓ) − 1                       (k3, only when β > 0)
 *   L_tok = L_pg + β·KL, then aggregated over m by loss_type:
 *     grpo    (1/B) Σ_i Σ_t m L / max(1, Σ_t m)  / S
 *     bnpo    Σ m L / max(1, Σ m)                / S
 *     dr_grpo Σ m L / (B · max_completion_length) / S
 *     dapo    Σ m L / num_items_in_batch   (active tokens of the whole generation batch)
 * S = gradient-accumulation steps. Where torch.min has a tie (the unclipped region) autograd splits the
 * gradient evenly between both arguments; this reproduces that.
 *
 * On-policy (μ = 1, oldLogp omitted = detached ℓ) the ratio is exactly 1, so with β = 0 the loss VALUE is
 * −mean(A) ≈ 0, while the gradient −A·∇ℓ/norm is not zero. That is correct, not a bug.
 */

export type LossType = "grpo" | "bnpo" | "dr_grpo" | "dapo";
export type ImportanceSamplingLevel = "token" | "sequence";

export interface LossOptions {
  loss_type: LossType;
  importance_sampling_level: ImportanceSamplingLevel;
  beta: number;
  epsilon: number;
  /** Upper clip ε_high (TRL: defaults to epsilon). */
  epsilon_high: number;
  /** Two-sided clip: cap on the unclipped ratio; undefined = off. */
  delta?: number;
  /** Used by dr_grpo's constant normaliser. */
  max_completion_length: number;
  /** Gradient-accumulation steps S this micro-batch is one of (grpo, bnpo, dr_grpo). Default 1. */
  accumulation_steps?: number;
  /** dapo: active tokens in the whole generation batch (all micro-batches). Default: this micro-batch's. */
  num_items_in_batch?: number;
}

export interface LossInput {
  B: number;
  T: number;
  /** [B*T] log-probs under the current policy (from logits / temperature). */
  logp: ArrayLike<number>;
  /** [B*T] log-probs under π_old; omit when on-policy (μ = 1): the ratio is then exactly 1. */
  oldLogp?: ArrayLike<number>;
  /** [B*T] log-probs under the frozen reference; required when beta > 0. */
  refLogp?: ArrayLike<number>;
  /** [B*T] 1 = completion token that counts. */
  mask: ArrayLike<number>;
  /** [B] one advantage per row, broadcast to its tokens. */
  advantages: ArrayLike<number>;
  /** [B*T] per-token entropy, only for the `entropy` metric. */
  entropy?: ArrayLike<number>;
}

export interface LossMetrics {
  "clip_ratio/low_mean": number;
  "clip_ratio/high_mean": number;
  "clip_ratio/region_mean": number;
  /** Masked mean of k3 KL; present when beta > 0. */
  kl?: number;
  /** Masked mean entropy; present when entropy was given. */
  entropy?: number;
}

export interface LossResult {
  loss: number;
  /** [B*T] dLoss/dℓ, zero outside the mask; feed to model.backward. */
  dlogp: Float32Array;
  metrics: LossMetrics;
}

function check(input: LossInput, o: LossOptions): void {
  const n = input.B * input.T;
  const sized: [string, ArrayLike<number> | undefined][] = [
    ["logp", input.logp], ["oldLogp", input.oldLogp], ["refLogp", input.refLogp], ["mask", input.mask], ["entropy", input.entropy],
  ];
  for (const [name, a] of sized)
    if (a && a.length !== n) throw new GRPOInputError(`${name} has ${a.length} entries, expected B·T = ${input.B}·${input.T} = ${n}`);
  if (input.advantages.length !== input.B) throw new GRPOInputError(`advantages has ${input.advantages.length} entries, expected one per row (B = ${input.B})`);
  if (o.beta > 0 && !input.refLogp) throw new GRPOInputError(`beta = ${o.beta} needs refLogp (reference-model log-probs); pass them or set beta: 0`);
  if (o.loss_type === "dapo" && o.num_items_in_batch !== undefined && !(o.num_items_in_batch > 0))
    throw new GRPOInputError(`num_items_in_batch must be positive, got ${o.num_items_in_batch}`);
}

/** d(−min(ρ'A, ρ̂A))/dρ and the value, with torch.min's even split on ties. */
function clippedSurrogate(rho: number, A: number, lo: number, hi: number, delta: number | undefined): { value: number; dRho: number } {
  const capped = delta !== undefined && rho > delta;
  const r1 = capped ? delta! : rho;
  const g1 = capped ? 0 : 1;
  const r2 = Math.min(Math.max(rho, lo), hi);
  const g2 = rho >= lo && rho <= hi ? 1 : 0;
  const c1 = r1 * A;
  const c2 = r2 * A;
  if (c1 < c2) return { value: -c1, dRho: -A * g1 };
  if (c2 < c1) return { value: -c2, dRho: -A * g2 };
  return { value: -c1, dRho: -A * (g1 + g2) / 2 };
}

export function grpoLoss(input: LossInput, o: LossOptions): LossResult {
  check(input, o);
  const { B, T, logp, mask, advantages } = input;
  const old = input.oldLogp ?? logp;
  const ref = input.refLogp;
  const S = o.accumulation_steps ?? 1;
  const lo = 1 - o.epsilon;
  const hi = 1 + o.epsilon_high;
  const seq = o.importance_sampling_level === "sequence";

  const rowTokens = new Float64Array(B);
  let totalTokens = 0;
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) n += mask[b * T + t];
    rowTokens[b] = n;
    totalTokens += n;
  }
  // Weight of each masked token's loss in the aggregate: loss = Σ_i Σ_t weight(i)·m·L.
  const weight = (b: number): number => {
    switch (o.loss_type) {
      case "grpo": return 1 / (B * Math.max(1, rowTokens[b]) * S);
      case "bnpo": return 1 / (Math.max(1, totalTokens) * S);
      case "dr_grpo": return 1 / (B * o.max_completion_length * S);
      case "dapo": return 1 / (o.num_items_in_batch ?? Math.max(1, totalTokens));
    }
  };

  const dlogp = new Float32Array(B * T);
  let loss = 0;
  let low = 0, high = 0, region = 0, klSum = 0, entSum = 0;
  for (let b = 0; b < B; b++) {
    const A = advantages[b];
    const w = weight(b);
    const base = b * T;
    let rowRho = 1;
    if (seq) {
      let s = 0;
      for (let t = 0; t < T; t++) s += mask[base + t] * (logp[base + t] - old[base + t]);
      rowRho = Math.exp(s / Math.max(1, rowTokens[b]));
    }
    let rowPgGrad = 0; // sequence level: Σ_t w·m·dL/dρ, spread over the row's tokens below
    for (let t = 0; t < T; t++) {
      const j = base + t;
      const m = mask[j];
      if (m === 0) continue;
      const rho = seq ? rowRho : Math.exp(logp[j] - old[j]);
      const pg = clippedSurrogate(rho, A, lo, hi, o.delta);
      let value = pg.value;
      let grad = 0;
      if (seq) rowPgGrad += w * m * pg.dRho;
      else grad += pg.dRho * rho;
      if (!seq) {
        const rCapped = o.delta !== undefined ? Math.min(rho, o.delta) : rho;
        const isLow = rCapped < lo && A < 0;
        const isHigh = rCapped > hi && A > 0;
        low += m * +isLow; high += m * +isHigh; region += m * +(isLow || isHigh);
      }
      if (o.beta > 0) {
        const d = ref![j] - logp[j];
        const kl = Math.exp(d) - d - 1;
        value += o.beta * kl;
        grad += o.beta * (1 - Math.exp(d));
        klSum += m * kl;
      }
      if (input.entropy) entSum += m * input.entropy[j];
      loss += w * m * value;
      dlogp[j] = w * m * grad;
    }
    if (seq) {
      const dLogw = rowPgGrad * rowRho / Math.max(1, rowTokens[b]);
      for (let t = 0; t < T; t++) if (mask[base + t] !== 0) dlogp[base + t] += dLogw * mask[base + t];
      // TRL's sequence-level clip metrics are plain means over rows (the ratio tensor is [B, 1]).
      const rCapped = o.delta !== undefined ? Math.min(rowRho, o.delta) : rowRho;
      const isLow = rCapped < lo && A < 0;
      const isHigh = rCapped > hi && A > 0;
      low += +isLow; high += +isHigh; region += +(isLow || isHigh);
    }
  }
  const clipDen = seq ? Math.max(1, B) : Math.max(1, totalTokens);
  const metrics: LossMetrics = {
    "clip_ratio/low_mean": low / clipDen,
    "clip_ratio/high_mean": high / clipDen,
    "clip_ratio/region_mean": region / clipDen,
  };
  if (o.beta > 0) metrics.kl = klSum / Math.max(1, totalTokens);
  if (input.entropy) metrics.entropy = entSum / Math.max(1, totalTokens);
  return { loss, dlogp, metrics };
}
