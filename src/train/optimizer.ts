/**
 * AdamW over a model's flat parameter buffer (llm.c): moments are two more flat buffers, the update is one
 * backend call per run of parameters that share a weight-decay setting. Weight decay is off for norms,
 * biases and embeddings (by name, `decays` in src/model/params.ts: one rule for every network); gradients are clipped to a global L2 norm first, like
 * torch.nn.utils.clip_grad_norm_. Config names follow Hugging Face TrainingArguments.
 */
import { z } from "zod";
import type { Backend } from "../engine/backend.js";
import { decays } from "../model/params.js";

export const AdamWConfigSchema = z.object({
  learning_rate: z.number().nonnegative().default(5e-5),
  adam_beta1: z.number().min(0).lt(1).default(0.9),
  adam_beta2: z.number().min(0).lt(1).default(0.999),
  adam_epsilon: z.number().positive().default(1e-8),
  weight_decay: z.number().nonnegative().default(0),
  /** Clip the global gradient L2 norm to this; 0 = no clipping. */
  max_grad_norm: z.number().nonnegative().default(1),
}).strict();

export type AdamWConfig = z.infer<typeof AdamWConfigSchema>;

export interface StepResult {
  /** Global L2 norm of the gradients before clipping. */
  gradNorm: number;
  /** False when the norm was not finite: parameters were left unchanged (the step counter too). */
  applied: boolean;
}

export class OptimizerStateError extends Error {
  constructor(what: string) {
    super(`optimizer state does not fit this model: ${what}; load a checkpoint saved from the same model config`);
    this.name = "OptimizerStateError";
  }
}

/**
 * What AdamW trains: one flat float32 buffer of parameters and one of gradients, and the named views into the first
 * (the names pick weight decay). A language model (CausalLM), the reward model's trunk with its head, and the
 * self-play network (src/selfplay/network.ts) all have this shape.
 */
export interface Trainable {
  readonly params: readonly { name: string; data: Float32Array | Float64Array }[];
  readonly flatParams: Float32Array;
  readonly flatGrads: Float32Array;
}

export class AdamW {
  readonly config: AdamWConfig;
  /** Steps taken (the bias-correction t of the last step). */
  t = 0;
  readonly m: Float32Array;
  readonly v: Float32Array;
  private runs: { offset: number; length: number; decay: boolean }[] = [];

  constructor(private model: Trainable, private backend: Backend, config: Partial<AdamWConfig> = {}) {
    this.config = AdamWConfigSchema.parse(config);
    const n = model.flatParams.length;
    this.m = new Float32Array(n); this.v = new Float32Array(n);
    const base = model.flatParams.byteOffset, bpe = model.flatParams.BYTES_PER_ELEMENT;
    const views = model.params.map(p => ({ offset: (p.data.byteOffset - base) / bpe, length: p.data.length, decay: decays(p.name) })).sort((a, b) => a.offset - b.offset);
    for (const v of views) {
      const last = this.runs.at(-1);
      if (last && last.decay === v.decay && last.offset + last.length === v.offset) last.length += v.length;
      else this.runs.push({ ...v });
    }
  }

  /** Clips, then applies one AdamW update at learning rate `lr` (default: the configured learning_rate). */
  step(lr = this.config.learning_rate): StepResult {
    const { flatParams: p, flatGrads: g } = this.model, be = this.backend, c = this.config;
    const gradNorm = Math.sqrt(be.sumSquares(g, g.length));
    if (!Number.isFinite(gradNorm)) return { gradNorm, applied: false };
    if (c.max_grad_norm > 0 && gradNorm > c.max_grad_norm) be.scale(g, c.max_grad_norm / (gradNorm + 1e-6), g.length);
    this.t++;
    for (const r of this.runs) {
      const sub = (a: Float32Array) => a.subarray(r.offset, r.offset + r.length);
      be.adamw(sub(p), sub(g), sub(this.m), sub(this.v), r.length, lr, c.adam_beta1, c.adam_beta2, c.adam_epsilon, r.decay ? c.weight_decay : 0, this.t);
    }
    return { gradNorm, applied: true };
  }

  /** Restores moments and step count (from a checkpoint). */
  load(state: { t: number; m: Float32Array; v: Float32Array }): void {
    if (state.m.length !== this.m.length || state.v.length !== this.v.length) throw new OptimizerStateError(`moments have ${state.m.length} elements, the model ${this.m.length}`);
    this.t = state.t; this.m.set(state.m); this.v.set(state.v);
  }
}
