/**
 * LoRA (Hu et al. 2021) with PEFT's names and meanings (peft/tuners/lora): a frozen Linear W [O,I] gets a trainable
 * low-rank update, y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ with A [r,I], B [O,r] and s = lora_alpha / r (lora_alpha / √r with
 * use_rslora). A starts Kaiming-uniform as PEFT's (bound 1/√I), B at 0, so a fresh adapter leaves the model unchanged.
 * W + s·B·A is never formed during training: the forward adds the rank-r product after the base product, the backward
 * adds its dx term and accumulates dA, dB, and the base (every weight of the model) gets no gradient.
 *
 * All adapters of a model live in one flat buffer (params, grads; AdamW's moments are sized from it), so the optimizer,
 * the gradient clip and checkpoints see the adapters only. `LoraModel` is the CausalLM the trainers use.
 *
 * Shapes: R rows, I in features, O out features, r rank.
 *   x [R,I]   y [R,O]   A [r,I]   B [O,r]   xa [R,r] = dropout(x)·Aᵀ   g [R,r] = s·dy·B
 */
import { z } from "zod";
import type { Backend } from "../engine/backend.js";
import type { ModelConfig } from "./config.js";
import { headDim } from "./config.js";
import type { FloatArray } from "./params.js";
import { uniformRng } from "../rng.js";

export const LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** The `lora:` recipe block (PEFT's LoraConfig names). */
export const LoraConfigSchema = z.object({
  /** Rank of the update. */
  r: z.number().int().positive().default(8),
  /** Scale numerator: the update is multiplied by lora_alpha / r (or lora_alpha / √r with use_rslora). */
  lora_alpha: z.number().positive().default(8),
  /** Dropout on the adapter's input (training forwards only). */
  lora_dropout: z.number().min(0).lt(1).default(0),
  /** Which projections get adapters; "all-linear" = every projection of every layer (the LM head excluded, as PEFT). */
  target_modules: z.union([z.literal("all-linear"), z.array(z.enum(LORA_TARGETS)).min(1)]).default(["q_proj", "v_proj"]),
  /** Rank-stabilised scaling lora_alpha / √r. */
  use_rslora: z.boolean().default(false),
  /** Seed of A's initialisation and of the dropout masks. */
  seed: z.number().int().default(0),
}).strict();
export type LoraConfig = z.output<typeof LoraConfigSchema>;

export const loraTargets = (c: LoraConfig): LoraTarget[] => c.target_modules === "all-linear" ? [...LORA_TARGETS] : [...new Set(c.target_modules)];
export const loraScale = (c: Pick<LoraConfig, "r" | "lora_alpha" | "use_rslora">) => c.use_rslora ? c.lora_alpha / Math.sqrt(c.r) : c.lora_alpha / c.r;

/** What every adapter of a model shares: on/off, training (dropout) or not, the dropout stream, scratch. */
export interface LoraControl {
  /** Off: the model computes its base exactly (the GRPO reference policy). */
  enabled: boolean;
  /** True in training forwards (dropout applies), false in decode. */
  training: boolean;
  /** Set while evaluating (held-out losses): training forwards without dropout, as a PEFT model in eval mode. */
  evaluating?: boolean;
  /** Counter that seeds each training forward's dropout mask (regenerated in backward, never stored). */
  dropoutCalls: number;
  seed: number;
  scratch: { xa: FloatArray; g: FloatArray; xd: FloatArray; tmp: FloatArray; bt: FloatArray } | null;
}

export interface LoraLinear<F extends FloatArray = FloatArray> {
  /** HF module path, e.g. "model.layers.0.self_attn.q_proj". */
  module: string;
  I: number; O: number; r: number; scale: number; dropout: number;
  A: F; B: F; dA: F; dB: F;
  /** Seed of the last training forward's dropout mask. */
  maskSeed: number;
  ctl: LoraControl;
}

/** Passed by the layers to linearForward/linearBackward: the adapter on this projection (or null) and whether the base is frozen. */
export interface LoraHook { frozen: boolean; adapter: LoraLinear | null }
export type LayerLora = Record<LoraTarget, LoraHook>;

/** One module's shapes: [O, I] of each projection of the config. */
export function projectionShapes(c: ModelConfig): Record<LoraTarget, [number, number]> {
  const H = c.hidden_size, I = c.intermediate_size, hd = headDim(c), Q = c.num_attention_heads * hd, K = c.num_key_value_heads * hd;
  return { q_proj: [Q, H], k_proj: [K, H], v_proj: [K, H], o_proj: [H, Q], gate_proj: [I, H], up_proj: [I, H], down_proj: [H, I] };
}

export const moduleOf = (l: number, t: LoraTarget) => `model.layers.${l}.${t === "gate_proj" || t === "up_proj" || t === "down_proj" ? "mlp" : "self_attn"}.${t}`;

/** PEFT's saved key of an adapter tensor: base_model.model.<module>.lora_A.weight. */
export const peftKey = (module: string, which: "A" | "B") => `base_model.model.${module}.lora_${which}.weight`;

/** Uniform in [0, 1) from (seed, i): a counter-based hash, so a mask is regenerated in backward instead of stored. */
function hashUniform(seed: number, i: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(i + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16; h = Math.imul(h, 0x7feb352d); h ^= h >>> 15; h = Math.imul(h, 0x846ca68b); h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** xd = x·mask/(1−p) into dst (the inverted dropout of torch.nn.Dropout). */
function dropoutInto(dst: FloatArray, x: FloatArray, n: number, p: number, seed: number): void {
  const keep = 1 / (1 - p);
  for (let i = 0; i < n; i++) dst[i] = hashUniform(seed, i) < p ? 0 : x[i] * keep;
}

function scratchFor(lo: LoraLinear, R: number): NonNullable<LoraControl["scratch"]> {
  const ctl = lo.ctl, need = R * Math.max(lo.I, lo.O), needR = R * lo.r;
  const s = ctl.scratch;
  if (s && s.xd.length >= need && s.xa.length >= needR) return s;
  const Ctor = lo.A.constructor as { new(n: number): FloatArray };
  const big = Math.max(need, s?.xd.length ?? 0), small = Math.max(needR, s?.xa.length ?? 0);
  return ctl.scratch = { xa: new Ctor(small), g: new Ctor(small), xd: new Ctor(big), tmp: new Ctor(big), bt: s?.bt ?? new Ctor(0) };
}

/** y[R,O] += s·(dropout(x)·Aᵀ)·Bᵀ (nothing when there is no adapter or adapters are off). */
export function loraForward(be: Backend, hook: LoraHook | undefined, y: FloatArray, x: FloatArray, R: number): void {
  const lo = hook?.adapter;
  if (!lo || !lo.ctl.enabled) return;
  const s = scratchFor(lo, R);
  let xin = x;
  if (lo.ctl.training && !lo.ctl.evaluating && lo.dropout > 0) {
    lo.maskSeed = (lo.ctl.seed * 1000003 + ++lo.ctl.dropoutCalls) | 0;
    dropoutInto(s.xd, x, R * lo.I, lo.dropout, lo.maskSeed);
    xin = s.xd;
  }
  be.matmul(s.xa, xin, lo.A, R, lo.r, lo.I, false, true, false);
  be.scale(s.xa, lo.scale, R * lo.r);
  be.matmul(y, s.xa, lo.B, R, lo.O, lo.r, false, true, true);
}

/** dx[R,I] += s·(dy·B)·A (through the dropout mask); dA += s·(dy·B)ᵀ·dropout(x); dB += s·dyᵀ·(dropout(x)·Aᵀ). */
export function loraBackward(be: Backend, hook: LoraHook | undefined, dx: FloatArray, dy: FloatArray, x: FloatArray, R: number): void {
  const lo = hook?.adapter;
  if (!lo || !lo.ctl.enabled) return;
  const s = scratchFor(lo, R), drop = lo.ctl.training && !lo.ctl.evaluating && lo.dropout > 0;
  let xin = x;
  if (drop) { dropoutInto(s.xd, x, R * lo.I, lo.dropout, lo.maskSeed); xin = s.xd; }
  be.matmul(s.xa, xin, lo.A, R, lo.r, lo.I, false, true, false);
  be.scale(s.xa, lo.scale, R * lo.r);
  be.matmul(lo.dB, dy, s.xa, lo.O, lo.r, R, true, false, true);
  // g = dy·B through Bᵀ [r,O] and the transposed-B kernel: ~2× faster than the plain one for r-column outputs
  const Bt = s.bt.length >= lo.O * lo.r ? s.bt : (s.bt = new (lo.B.constructor as { new(n: number): FloatArray })(lo.O * lo.r));
  for (let o = 0; o < lo.O; o++) for (let k = 0; k < lo.r; k++) Bt[k * lo.O + o] = lo.B[o * lo.r + k];
  be.matmul(s.g, dy, Bt, R, lo.r, lo.O, false, true, false);
  be.scale(s.g, lo.scale, R * lo.r);
  be.matmul(lo.dA, s.g, xin, lo.r, lo.I, R, true, false, true);
  if (!drop) { be.matmul(dx, s.g, lo.A, R, lo.I, lo.r, false, false, true); return; }
  be.matmul(s.tmp, s.g, lo.A, R, lo.I, lo.r, false, false, false);
  const p = lo.dropout, keep = 1 / (1 - p), n = R * lo.I;
  for (let i = 0; i < n; i++) if (hashUniform(lo.maskSeed, i) >= p) dx[i] += s.tmp[i] * keep;
}

/** A model's adapters: one flat buffer of A's and B's (layer by layer, target by target), one of their grads. */
export interface LoraAdapters<F extends FloatArray = FloatArray> {
  config: LoraConfig;
  ctl: LoraControl;
  flat: F;
  grads: F;
  adapters: LoraLinear<F>[];
  /** Per layer, the hooks the attention and MLP blocks pass to their projections. */
  layers: LayerLora[];
  /** `extra` trainable values after the adapters in the same buffers (a reward model's score head), and their grads. */
  extra: F;
  extraGrad: F;
}

/** Allocates and initialises adapters for `model` (A Kaiming-uniform, B = 0, as PEFT's init_lora_weights=True). */
export function createAdapters<F extends FloatArray>(model: ModelConfig, config: LoraConfig, Ctor: { new(n: number): F }, extra = 0): LoraAdapters<F> {
  const targets = loraTargets(config), shapes = projectionShapes(model), r = config.r;
  const ctl: LoraControl = { enabled: true, training: false, dropoutCalls: 0, seed: config.seed, scratch: null };
  let total = 0;
  for (let l = 0; l < model.num_hidden_layers; l++) for (const t of targets) { const [O, I] = shapes[t]; total += r * I + O * r; }
  const flat = new Ctor(total + extra), grads = new Ctor(total + extra);
  const adapters: LoraLinear<F>[] = [], layers: LayerLora[] = [];
  const rand = uniformRng(config.seed);
  let off = 0;
  const take = (n: number) => { const v = [flat.subarray(off, off + n) as F, grads.subarray(off, off + n) as F] as const; off += n; return v; };
  for (let l = 0; l < model.num_hidden_layers; l++) {
    const hooks = Object.fromEntries(LORA_TARGETS.map(t => [t, { frozen: true, adapter: null }])) as LayerLora;
    for (const t of LORA_TARGETS) {
      if (!targets.includes(t)) continue;
      const [O, I] = shapes[t];
      const [A, dA] = take(r * I), [B, dB] = take(O * r);
      const bound = 1 / Math.sqrt(I); // kaiming_uniform_(a=√5): gain √(1/3) · √(3/fan_in)
      for (let i = 0; i < A.length; i++) A[i] = (rand() * 2 - 1) * bound;
      const lo: LoraLinear<F> = { module: moduleOf(l, t), I, O, r, scale: loraScale(config), dropout: config.lora_dropout, A, B, dA, dB, maskSeed: 0, ctl };
      adapters.push(lo);
      hooks[t].adapter = lo;
    }
    layers.push(hooks);
  }
  return { config, ctl, flat, grads, adapters, layers, extra: flat.subarray(total) as F, extraGrad: grads.subarray(total) as F };
}

/** W'[O,I] = W + s·B·A: the merged weight of one adapter (into `out`, which may be W's copy). */
export function mergeInto(be: Backend, out: FloatArray, W: FloatArray, lo: LoraLinear): void {
  out.set(W);
  const sB = new (lo.B.constructor as { new(n: number): FloatArray })(lo.B.length);
  for (let i = 0; i < sB.length; i++) sB[i] = lo.scale * lo.B[i];
  be.matmul(out, sB, lo.A, lo.O, lo.I, lo.r, false, false, true);
}
