/**
 * Self-attention block (pre-norm): x → RMSNorm → q, k, v projections (+ bias for Qwen2) → RoPE on q, k →
 * causal grouped-query attention with a key mask → o_proj → + x. Forward is split in two so the decoder can
 * write k, v into its cache between the projections and the attention.
 *
 * Shapes: B batch, T query length, S key length, Smax allocated key slots, R = B·T rows, H hidden,
 * nh query heads, nkv key/value heads, hd head dim, Q = nh·hd, K = nkv·hd, P rope positions.
 *   x [R,H] block input (residual)   ln [R,H] normed input   rstd [R]
 *   q [R,Q] after RoPE   k, v [R,K] (k after RoPE; in training also the keys, S = Smax = T)
 *   kAll, vAll [B,Smax,K] keys/values attended over   mask [B,Smax] 1 = valid key   segments [B,Smax] or null (packed rows)
 *   att [R,Q] attention output   lse [B,nh,T]   xOut [R,H] = x + att·Woᵀ
 *   cos, sin [P, hd/2] RoPE tables   pos [R] position of each row
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray, FloatArrayCtor } from "./params.js";
import { linearBackward, linearForward } from "./linear.js";

export interface AttentionWeights { ln: FloatArray; wq: FloatArray; bq: FloatArray | null; wk: FloatArray; bk: FloatArray | null; wv: FloatArray; bv: FloatArray | null; wo: FloatArray }
export interface AttentionDims { H: number; nh: number; nkv: number; hd: number; eps: number }

export class PositionOutOfRangeError extends Error {
  constructor(pos: number, max: number) {
    super(`position ${pos} is beyond max_position_embeddings (${max}): shorten the sequence or raise max_position_embeddings in the model config`);
    this.name = "PositionOutOfRangeError";
  }
}

/** Hugging Face rotary tables, inv_freq_i = θ^(−2i/hd); grown on demand up to max_position_embeddings. */
export class RopeTables {
  cos: FloatArray;
  sin: FloatArray;
  length = 0;
  constructor(private Ctor: FloatArrayCtor, private hd: number, private theta: number, private maxPositions: number) {
    this.cos = new Ctor(0); this.sin = new Ctor(0);
  }

  /** Makes positions [0, n) available; throws if n exceeds max_position_embeddings. */
  ensure(n: number): void {
    if (n > this.maxPositions) throw new PositionOutOfRangeError(n - 1, this.maxPositions);
    if (n <= this.length) return;
    const len = Math.min(this.maxPositions, Math.max(n, 2 * this.length, 64)), half = this.hd / 2;
    this.cos = new this.Ctor(len * half); this.sin = new this.Ctor(len * half);
    for (let p = 0; p < len; p++) for (let i = 0; i < half; i++) {
      const a = p * Math.pow(this.theta, -2 * i / this.hd);
      this.cos[p * half + i] = Math.cos(a); this.sin[p * half + i] = Math.sin(a);
    }
    this.length = len;
  }
}

/** ln, rstd, q, k, v from x; RoPE applied to q and k at `pos` (the caller has called rope.ensure). */
export function qkvForward(be: Backend, w: AttentionWeights, d: AttentionDims, rope: RopeTables,
  ln: FloatArray, rstd: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, x: FloatArray, pos: Int32Array, R: number): void {
  const Q = d.nh * d.hd, K = d.nkv * d.hd;
  be.rmsnorm(ln, rstd, x, w.ln, R, d.H, d.eps);
  linearForward(be, q, ln, w.wq, w.bq, R, Q, d.H);
  linearForward(be, k, ln, w.wk, w.bk, R, K, d.H);
  linearForward(be, v, ln, w.wv, w.bv, R, K, d.H);
  be.rope(q, pos, rope.cos, rope.sin, R, d.nh, d.hd, false);
  be.rope(k, pos, rope.cos, rope.sin, R, d.nkv, d.hd, false);
}

/** att, lse from q over kAll/vAll; xOut = x + att·Woᵀ. */
export function attendForward(be: Backend, w: AttentionWeights, d: AttentionDims,
  xOut: FloatArray, att: FloatArray, lse: FloatArray, q: FloatArray, kAll: FloatArray, vAll: FloatArray, mask: Uint8Array, x: FloatArray,
  B: number, T: number, S: number, Smax: number, segments: Int32Array | null = null): void {
  const R = B * T;
  be.attention(att, lse, q, kAll, vAll, mask, B, T, S, Smax, d.nh, d.nkv, d.hd, segments);
  xOut.set(x.subarray(0, R * d.H));
  linearForward(be, xOut, att, w.wo, null, R, d.H, d.nh * d.hd, true);
}

export interface AttentionScratch { ln: FloatArray; rstd: FloatArray; dln: FloatArray; datt: FloatArray; dq: FloatArray; dk: FloatArray; dv: FloatArray }

/**
 * Training backward (S = Smax = T). dres [R,H] holds dL/dxOut on entry and dL/dx on exit (the residual
 * passes through; the norm's gradient is added). Parameter grads accumulate into g.
 */
export function attentionBackward(be: Backend, w: AttentionWeights, g: AttentionWeights, d: AttentionDims, s: AttentionScratch,
  dres: FloatArray, x: FloatArray, rstd: FloatArray, q: FloatArray, k: FloatArray, v: FloatArray, att: FloatArray, lse: FloatArray,
  mask: Uint8Array, pos: Int32Array, rope: RopeTables, B: number, T: number, segments: Int32Array | null = null): void {
  const R = B * T, Q = d.nh * d.hd, K = d.nkv * d.hd;
  linearBackward(be, s.datt, g.wo, null, dres, att, w.wo, R, d.H, Q, false);
  s.dq.subarray(0, R * Q).fill(0); s.dk.subarray(0, R * K).fill(0); s.dv.subarray(0, R * K).fill(0);
  be.attentionBackward(s.dq, s.dk, s.dv, s.datt, att, lse, q, k, v, mask, B, T, T, T, d.nh, d.nkv, d.hd, segments);
  be.rope(s.dq, pos, rope.cos, rope.sin, R, d.nh, d.hd, true);
  be.rope(s.dk, pos, rope.cos, rope.sin, R, d.nkv, d.hd, true);
  be.rmsnorm(s.ln, s.rstd, x, w.ln, R, d.H, d.eps); // recomputed rather than kept per layer
  linearBackward(be, s.dln, g.wq, g.bq, s.dq, s.ln, w.wq, R, Q, d.H, false);
  linearBackward(be, s.dln, g.wk, g.bk, s.dk, s.ln, w.wk, R, K, d.H, true);
  linearBackward(be, s.dln, g.wv, g.bv, s.dv, s.ln, w.wv, R, K, d.H, true);
  be.rmsnormBackward(dres, g.ln, s.dln, x, w.ln, rstd, R, d.H);
}
