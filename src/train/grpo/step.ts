import type { CausalLM } from "../../model/types.js";
import type { AdamW } from "../optimizer.js";
import { applyWeights, importanceWeights, slotLogprobs, ImportanceStats, type ImportanceOptions } from "../rollout/importance.js";
import { lossOptionsOf, type GRPOConfig } from "./config.js";
import { completionMask } from "./mask.js";
import { packBatch, type PackedBatch } from "./batch.js";
import { grpoLoss } from "./loss.js";
import { GRPOInputError } from "./errors.js";

/**
 * One GRPO optimizer step (TRL's GRPOTrainer.training_step after generation), the one the trainer, the benchmark
 * (bench/grpo.ts) and the PyTorch oracle test (test/grpo/step-golden.test.ts) all call:
 *
 *   kept rows → micro-batches of per_device_train_batch_size (default: see defaultMicroBatch) → completionMask (up to the first EOS) → packBatch
 *   → [reference forward, β > 0] → num_iterations × ( zero grads → per micro-batch: forward → grpoLoss
 *   → [importance weights] → backward (gradients accumulate) → AdamW.step(lr): clip to max_grad_norm, update )
 *
 * As in TRL, the dapo normaliser is the active tokens of the whole generation batch (every micro-batch), the other
 * loss types divide by the number of micro-batches (gradient accumulation); with num_iterations > 1 the first pass's
 * log-probs are π_old (its ratio is exactly 1, as TRL's `per_token_logps.detach()`), and the batch is reused.
 */

/** One sampled completion as the step reads it; a sampler `Generation` fits. */
export interface StepRow {
  /** Index into `GRPOStepBatch.prompts`. */
  prompt: number;
  /** Generated ids, including the EOS token if one was sampled. */
  ids: readonly number[];
  /** [ids.length] the sampler's log-probs; read only when `correction` is given. */
  logprobs?: readonly number[];
  /**
   * [ids.length] an episode's loss mask (src/env/episode.ts): 1 on tokens the model wrote, 0 on tool and environment
   * tokens, which then carry no loss and no KL. Replaces the mask up to the first EOS (an episode has one EOS per turn).
   */
  mask?: readonly number[];
  /** With `mask`: the episode hit its token limit (mask_truncated_completions then drops it). */
  truncated?: boolean;
}

export interface GRPOStepBatch {
  /** Prompt token ids. */
  prompts: readonly (readonly number[])[];
  /** Completions, each group of num_generations rows contiguous. */
  rows: readonly StepRow[];
  /** [rows] one advantage per row (computeAdvantages). */
  advantages: ArrayLike<number>;
  /** The rows to train on (dynamic sampling drops groups); default all, in order. */
  keep?: readonly number[];
}

export type GRPOStepConfig = Pick<GRPOConfig,
  "loss_type" | "importance_sampling_level" | "beta" | "epsilon" | "epsilon_high" | "delta" | "max_completion_length" |
  "temperature" | "num_iterations" | "per_device_train_batch_size" | "mask_truncated_completions">;

export interface GRPOStepOptions {
  /** Token ids that end a completion (the tokenizer's and the model config's EOS). */
  eosIds: readonly number[];
  /** Learning rate of this step (the schedule applied). */
  lr: number;
  /** Frozen reference policy for the KL term; required when beta > 0. */
  ref?: CausalLM | null;
  /** Truncated importance sampling against the sampler's log-probs (another engine sampled). */
  correction?: ImportanceOptions | null;
}

export interface GRPOStepResult {
  /** What the trainer logs: loss (mean over iterations), grad_norm (of the last update), learning_rate, clip ratios, kl, entropy, sampling/*. */
  metrics: Record<string, number>;
  /** Per optimizer update (num_iterations of them): the loss summed over micro-batches, and the gradient norm before clipping. */
  losses: number[];
  gradNorms: number[];
}

interface MicroBatch { packed: PackedBatch; adv: Float64Array; refLogp?: Float32Array; oldLogp?: Float32Array; samplingLogp?: Float32Array; isWeight?: Float32Array }

/** Most rows per forward/backward when per_device_train_batch_size is unset. */
export const DEFAULT_MICRO_BATCH = 4;

/**
 * Rows per forward/backward when per_device_train_batch_size is unset: the largest divisor of the row count that is
 * at most 4, so every micro-batch has the same size, as TRL requires; the gradient is the full batch's (dapo sums over
 * the whole batch's tokens; grpo/dr_grpo divide each of S equal micro-batches by S). Small micro-batches bound the
 * activations the model keeps for backward: all 64 rows of the default run at once took 1 GB; 4 rows of it (~63 MB)
 * fit in the memory its KV cache uses while sampling (121 MB), which the model lends them (src/model/transformer.ts).
 * TRL's default is 8; 4 and 8 rows train the default run at the same speed (both faster than 64 at once).
 */
export function defaultMicroBatch(rows: number): number {
  for (let m = Math.min(DEFAULT_MICRO_BATCH, rows); m > 1; m--) if (rows % m === 0) return m;
  return 1;
}

/** Packs the kept rows into micro-batches: prompt ‖ completion per row, the loss mask up to and including the first EOS. */
function microBatches(batch: GRPOStepBatch, keep: readonly number[], g: GRPOStepConfig, eosIds: readonly number[]): { rows: number[]; packed: PackedBatch }[] {
  const micro = g.per_device_train_batch_size ?? defaultMicroBatch(keep.length);
  const out: { rows: number[]; packed: PackedBatch }[] = [];
  for (let i = 0; i < keep.length; i += micro) {
    const rows = keep.slice(i, i + micro);
    const comps = rows.map(r => batch.rows[r].ids);
    const T = Math.max(1, ...comps.map(x => x.length));
    const ids = new Int32Array(rows.length * T);
    comps.forEach((x, b) => ids.set(x, b * T));
    const cm = completionMask(ids, rows.length, T, eosIds, { lengths: comps.map(x => x.length), maxLength: g.max_completion_length, maskTruncated: g.mask_truncated_completions });
    const masks = rows.map((r, b) => {
      const row = batch.rows[r];
      if (!row.mask) return cm.mask.subarray(b * T, (b + 1) * T);
      if (row.mask.length !== row.ids.length) throw new GRPOInputError(`row ${r} has ${row.ids.length} ids but a mask of ${row.mask.length}; give one mask entry per completion token`);
      return g.mask_truncated_completions && row.truncated ? new Uint8Array(row.ids.length) : row.mask;
    });
    out.push({ rows, packed: packBatch(rows.map(r => batch.prompts[batch.rows[r].prompt]), comps, masks) });
  }
  return out;
}

export function grpoStep(model: CausalLM, optimizer: AdamW, batch: GRPOStepBatch, g: GRPOStepConfig, o: GRPOStepOptions): GRPOStepResult {
  const keep = batch.keep ?? batch.rows.map((_, i) => i);
  if (batch.advantages.length !== batch.rows.length)
    throw new GRPOInputError(`grpoStep got ${batch.rows.length} rows but ${batch.advantages.length} advantages; pass one advantage per row`);
  if (keep.length === 0) throw new GRPOInputError("grpoStep got no rows to train on (keep is empty); skip the step instead");
  if (g.beta > 0 && !o.ref) throw new GRPOInputError(`beta = ${g.beta} needs a reference model (options.ref); pass one or set beta: 0`);
  const correction = o.correction ?? null;
  const batches: MicroBatch[] = microBatches(batch, keep, g, o.eosIds).map(({ rows, packed }) => ({
    packed,
    adv: Float64Array.from(rows, r => batch.advantages[r]),
    refLogp: o.ref && g.beta > 0 ? o.ref.forward(packed.tokens, packed.attention, packed.targets, packed.B, packed.T, g.temperature).logp.slice() : undefined,
    // Another engine sampled: its per-token log-probs, for the truncated importance-sampling weights.
    samplingLogp: correction ? slotLogprobs(rows.map(r => batch.prompts[batch.rows[r].prompt].length), rows.map(r => batch.rows[r].logprobs ?? []), packed.T) : undefined,
  }));
  let numItems = 0;
  for (const b of batches) for (let i = 0; i < b.packed.lossMask.length; i++) numItems += b.packed.lossMask[i];
  const opts = { ...lossOptionsOf(g), accumulation_steps: batches.length, num_items_in_batch: Math.max(1, numItems) };
  const sums: Record<string, number> = {};
  const losses: number[] = [], gradNorms: number[] = [];
  const isStats = new ImportanceStats();
  for (let it = 0; it < g.num_iterations; it++) {
    model.flatGrads.fill(0);
    let loss = 0;
    for (const b of batches) {
      const p = b.packed;
      const out = model.forward(p.tokens, p.attention, p.targets, p.B, p.T, g.temperature);
      // π_old is the policy that sampled: the first pass's log-probs (its ratio is exactly 1, as TRL's detach).
      if (it === 0 && g.num_iterations > 1) b.oldLogp = out.logp.slice();
      if (it === 0 && b.samplingLogp) {
        b.isWeight = importanceWeights(out.logp, b.samplingLogp, p.lossMask, p.T, correction!);
        isStats.add(out.logp, b.samplingLogp, p.lossMask, b.isWeight);
      }
      const r = grpoLoss({ B: p.B, T: p.T, logp: out.logp, oldLogp: it === 0 ? undefined : b.oldLogp, refLogp: b.refLogp, mask: p.lossMask, advantages: b.adv, entropy: out.entropy }, opts);
      if (b.isWeight) applyWeights(r.dlogp, b.isWeight);
      model.backward(r.dlogp);
      loss += r.loss;
      for (const [k, v] of Object.entries(r.metrics)) if (v !== undefined) sums[k] = (sums[k] ?? 0) + v / (batches.length * g.num_iterations);
    }
    losses.push(loss);
    gradNorms.push(optimizer.step(o.lr).gradNorm);
  }
  const meanLoss = losses.reduce((a, x) => a + x, 0) / losses.length;
  return { metrics: { loss: meanLoss, grad_norm: gradNorms.at(-1)!, learning_rate: o.lr, ...sums, ...isStats.metrics() }, losses, gradNorms };
}
