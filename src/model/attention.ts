/**
 * Self-attention block (pre-norm): x → RMSNorm → q, k, v projections (+ bias for Qwen2) → per-head RMSNorm of
 * q and k over hd (Qwen3, Gemma 3) → RoPE on q, k (none on SmolLM3's NoPE layers) → causal grouped-query
 * attention with a key mask (and a sliding window on Gemma 3's local layers) → o_proj (→ RMSNorm, Gemma 3's
 * post_attention_layernorm) → + x. Forward is split in two so the decoder can write k, v into its cache between
 * the projections and the attention.
 *
 * Shapes: B batch, T query length, S key length, Smax allocated key slots, R = B·T rows, H hidden,
 * nh query heads, nkv key/value heads, hd head dim, Q = nh·hd, K = nkv·hd, P rope positions.
 *   x [R,H] block input (residual)   ln [R,H] normed input   rstd [R]
 *   q [R,Q] after RoPE   k, v [R,K] (k after RoPE; in training also the keys, S = Smax = T)
 *   kAll, vAll [B,Smax,K] keys/values attended over   mask [B,Smax] 1 = valid key   segments [B,Smax] or null (packed rows)
 *   att [R,Q] attention output   lse [B,nh,T]   xOut [R,H] = x + att·Woᵀ
 *   cos, sin [P, hd/2] RoPE tables   pos [R] position of each row
 *   with q/k norms: qRaw [R,Q], kRaw [R,K] projections before the norm, rstdQ [R·nh], rstdK [R·nkv]
 *   with a post-norm: o [R,H] = att·Woᵀ before the norm, rstdO [R]
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray, FloatArrayCtor, Weight } from "./params.js";
import type { RopeScaling } from "./config.js";
import { linearBackward, linearForward } from "./linear.js";
import type { LayerLora } from "./lora.js";

/** qn, kn: q_norm/k_norm (or null); post: Gemma's post_attention_layernorm (or null). Norm weights are the ones applied (1 + w on Gemma). */
export interface AttentionWeights {
  ln: FloatArray; wq: Weight; bq: FloatArray | null; wk: Weight; bk: FloatArray | null; wv: Weight; bv: FloatArray | null; wo: Weight;
  qn: FloatArray | null; kn: FloatArray | null; post: FloatArray | null;
  /** LoRA hooks of this layer (src/model/lora.ts), absent without adapters. */
  lora?: LayerLora;
}
/** scale: score scale (1/√hd, or Gemma's query_pre_attn_scalar^(−1/2)); softcap: attn_logit_softcapping (0 = none). */
export interface AttentionDims { H: number; nh: number; nkv: number; hd: number; eps: number; scale: number; softcap: number }
/** What differs between layers: the RoPE table (null = a NoPE layer) and the sliding window (0 = full causal). */
export interface LayerAttention { rope: RopeTables | null; window: number }
/** Per-layer activations of the optional parts (q/k norms, post-norm); null where the model has none. */
export interface QkNormSaved { qRaw: FloatArray; kRaw: FloatArray; rstdQ: FloatArray; rstdK: FloatArray }
export interface PostNormSaved { o: FloatArray; rstdO: FloatArray; tmp: FloatArray }

export class PositionOutOfRangeError extends Error {
  constructor(pos: number, max: number) {
    super(`position ${pos} is beyond max_position_embeddings (${max}): shorten the sequence or raise max_position_embeddings in the model config`);
    this.name = "PositionOutOfRangeError";
  }
}

/**
 * RoPE inverse frequencies inv_i = θ^(−2i/hd), rescaled as transformers' rope types do: `linear` divides all by
 * factor; `llama3` (`_compute_llama3_parameters`) keeps wavelengths 2π/inv below L/high_freq_factor, divides those
 * above L/low_freq_factor by factor and blends in between (L = original_max_position_embeddings).
 */
export function ropeInvFreq(hd: number, theta: number, scaling: RopeScaling | null): Float64Array {
  const half = hd / 2, inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = Math.pow(theta, -2 * i / hd);
  if (!scaling) return inv;
  if (scaling.rope_type === "linear") return inv.map(f => f / scaling.factor);
  const { factor, low_freq_factor: lo, high_freq_factor: hi, original_max_position_embeddings: L } = scaling;
  const lowWavelen = L / lo, highWavelen = L / hi;
  return inv.map(f => {
    const wavelen = 2 * Math.PI / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (L / wavelen - lo) / (hi - lo);
    return (1 - smooth) * f / factor + smooth * f;
  });
}

/** Hugging Face rotary tables, cos/sin(p·inv_i) (see ropeInvFreq); grown on demand up to max_position_embeddings. */
export class RopeTables {
  cos: FloatArray;
  sin: FloatArray;
  length = 0;
  private inv: Float64Array;
  constructor(private Ctor: FloatArrayCtor, private hd: number, theta: number, private maxPositions: number, scaling: RopeScaling | null = null) {
    this.cos = new Ctor(0); this.sin = new Ctor(0);
    this.inv = ropeInvFreq(hd, theta, scaling);
  }

  /** Makes positions [0, n) available; throws if n exceeds max_position_embeddings. */
  ensure(n: number): void {
    if (n > this.maxPositions) throw new PositionOutOfRangeError(n - 1, this.maxPositions);
    if (n <= this.length) return;
    const len = Math.min(this.maxPositions, Math.max(n, 2 * this.length, 64)), half = this.hd / 2;
    this.cos = new this.Ctor(len * half); this.sin = new this.Ctor(len * half);
    for (let p = 0; p < len; p++) for (let i = 0; i < half; i++) {
      const a = p * this.inv[i];
      this.cos[p * half + i] = Math.cos(a); this.sin[p * half + i] = Math.sin(a);
    }
    this.length = len;
  }
}

/**
 * ln, rstd, q, k, v from x; q/k norms (w.qn, w.kn) into q, k from the projections in `qk`; RoPE applied to q and k at
 * `pos` unless rope is null (the caller has called rope.ensure).
 */
export function qkvForward(be: Backend, w: AttentionWeights, d: AttentionDims, rope: RopeTables | null,
  ln: FloatArray, rstd: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, x: FloatArray, pos: Int32Array, R: number, qk: QkNormSaved | null = null): void {
  const Q = d.nh * d.hd, K = d.nkv * d.hd;
  be.rmsnorm(ln, rstd, x, w.ln, R, d.H, d.eps);
  if (w.qn && w.kn && qk) {
    linearForward(be, qk.qRaw, ln, w.wq, w.bq, R, Q, d.H, false, w.lora?.q_proj);
    linearForward(be, qk.kRaw, ln, w.wk, w.bk, R, K, d.H, false, w.lora?.k_proj);
    be.rmsnorm(q, qk.rstdQ, qk.qRaw, w.qn, R * d.nh, d.hd, d.eps);
    be.rmsnorm(k, qk.rstdK, qk.kRaw, w.kn, R * d.nkv, d.hd, d.eps);
  } else {
    linearForward(be, q, ln, w.wq, w.bq, R, Q, d.H, false, w.lora?.q_proj);
    linearForward(be, k, ln, w.wk, w.bk, R, K, d.H, false, w.lora?.k_proj);
  }
  linearForward(be, v, ln, w.wv, w.bv, R, K, d.H, false, w.lora?.v_proj);
  if (rope) {
    be.rope(q, pos, rope.cos, rope.sin, R, d.nh, d.hd, false);
    be.rope(k, pos, rope.cos, rope.sin, R, d.nkv, d.hd, false);
  }
}

/**
 * att, lse from q over kAll/vAll (BF16 bits from a bfloat16 KV cache, or floats); xOut = x + att·Woᵀ, or
 * x + RMSNorm(att·Woᵀ) with a post-norm (saved in `post`).
 */
export function attendForward(be: Backend, w: AttentionWeights, d: AttentionDims, layer: LayerAttention,
  xOut: FloatArray, att: FloatArray, lse: FloatArray, q: FloatArray, kAll: FloatArray | Uint16Array, vAll: FloatArray | Uint16Array, mask: Uint8Array, x: FloatArray,
  B: number, T: number, S: number, Smax: number, segments: Int32Array | null = null, post: PostNormSaved | null = null): void {
  const R = B * T;
  if (kAll instanceof Uint16Array && vAll instanceof Uint16Array)
    be.attentionKvBf16(att, lse, q, kAll, vAll, mask, B, T, S, Smax, d.nh, d.nkv, d.hd, segments, layer.window, d.scale, d.softcap);
  else if (!(kAll instanceof Uint16Array) && !(vAll instanceof Uint16Array))
    be.attention(att, lse, q, kAll, vAll, mask, B, T, S, Smax, d.nh, d.nkv, d.hd, segments, layer.window, d.scale, d.softcap);
  else throw new TypeError("attendForward: keys and values must share one dtype");
  if (w.post && post) {
    linearForward(be, post.o, att, w.wo, null, R, d.H, d.nh * d.hd, false, w.lora?.o_proj);
    be.rmsnorm(post.tmp, post.rstdO, post.o, w.post, R, d.H, d.eps);
    be.add(xOut, x, post.tmp, R * d.H);
  } else {
    xOut.set(x.subarray(0, R * d.H));
    linearForward(be, xOut, att, w.wo, null, R, d.H, d.nh * d.hd, true, w.lora?.o_proj);
  }
}

/** dO, dqRaw, dkRaw: scratch for the optional parts (sized [R,H], [R,Q], [R,K]; unused when absent). */
export interface AttentionScratch { ln: FloatArray; rstd: FloatArray; dln: FloatArray; datt: FloatArray; dq: FloatArray; dk: FloatArray; dv: FloatArray; dO: FloatArray; dqRaw: FloatArray; dkRaw: FloatArray }

/**
 * Training backward (S = Smax = T). dres [R,H] holds dL/dxOut on entry and dL/dx on exit (the residual
 * passes through; the norm's gradient is added). Parameter grads accumulate into g.
 */
export function attentionBackward(be: Backend, w: AttentionWeights, g: AttentionWeights, d: AttentionDims, layer: LayerAttention, s: AttentionScratch,
  dres: FloatArray, x: FloatArray, rstd: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, att: FloatArray, lse: FloatArray,
  mask: Uint8Array, pos: Int32Array, B: number, T: number, segments: Int32Array | null = null, qk: QkNormSaved | null = null, post: PostNormSaved | null = null): void {
  const R = B * T, Q = d.nh * d.hd, K = d.nkv * d.hd, rope = layer.rope;
  if (w.post && g.post && post) {
    s.dO.subarray(0, R * d.H).fill(0);
    be.rmsnormBackward(s.dO, g.post, dres, post.o, w.post, post.rstdO, R, d.H);
    linearBackward(be, s.datt, g.wo, null, s.dO, att, w.wo, R, d.H, Q, false, w.lora?.o_proj);
  } else {
    linearBackward(be, s.datt, g.wo, null, dres, att, w.wo, R, d.H, Q, false, w.lora?.o_proj);
  }
  s.dq.subarray(0, R * Q).fill(0); s.dk.subarray(0, R * K).fill(0); s.dv.subarray(0, R * K).fill(0);
  be.attentionBackward(s.dq, s.dk, s.dv, s.datt, att, lse, q, k, v, mask, B, T, T, T, d.nh, d.nkv, d.hd, segments, layer.window, d.scale, d.softcap);
  if (rope) {
    be.rope(s.dq, pos, rope.cos, rope.sin, R, d.nh, d.hd, true);
    be.rope(s.dk, pos, rope.cos, rope.sin, R, d.nkv, d.hd, true);
  }
  let dq = s.dq, dk = s.dk;
  if (w.qn && w.kn && g.qn && g.kn && qk) {
    s.dqRaw.subarray(0, R * Q).fill(0); s.dkRaw.subarray(0, R * K).fill(0);
    be.rmsnormBackward(s.dqRaw, g.qn, s.dq, qk.qRaw, w.qn, qk.rstdQ, R * d.nh, d.hd);
    be.rmsnormBackward(s.dkRaw, g.kn, s.dk, qk.kRaw, w.kn, qk.rstdK, R * d.nkv, d.hd);
    dq = s.dqRaw; dk = s.dkRaw;
  }
  be.rmsnorm(s.ln, s.rstd, x, w.ln, R, d.H, d.eps); // recomputed rather than kept per layer
  linearBackward(be, s.dln, g.wq, g.bq, dq, s.ln, w.wq, R, Q, d.H, false, w.lora?.q_proj);
  linearBackward(be, s.dln, g.wk, g.bk, dk, s.ln, w.wk, R, K, d.H, true, w.lora?.k_proj);
  linearBackward(be, s.dln, g.wv, g.bv, s.dv, s.ln, w.wv, R, K, d.H, true, w.lora?.v_proj);
  be.rmsnormBackward(dres, g.ln, s.dln, x, w.ln, rstd, R, d.H);
}

