/**
 * MLP block (pre-norm, gated): x → RMSNorm → gate, up projections → act(gate)·up → down_proj (→ RMSNorm, Gemma 3's
 * post_feedforward_layernorm) → + x. act is SiLU (SwiGLU) or tanh-approximated GELU (GeGLU, Gemma 3).
 *
 * Shapes: R rows (B·T tokens), H hidden, I intermediate.
 *   x [R,H] block input (residual)   ln [R,H] normed input   rstd [R]
 *   gate, up [R,I] (kept for backward)   h [R,I] = act(gate)·up (recomputed in backward)   xOut [R,H] = x + h·Wdᵀ
 *   with a post-norm: o [R,H] = h·Wdᵀ before the norm, rstdO [R]
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray, Weight } from "./params.js";
import type { PostNormSaved } from "./attention.js";
import { linearBackward, linearForward } from "./linear.js";
import type { LayerLora } from "./lora.js";

/** post: Gemma's post_feedforward_layernorm (or null). Norm weights are the ones applied (1 + w on Gemma). */
/** lora: this layer's LoRA hooks (src/model/lora.ts), absent without adapters. */
export interface MlpWeights { ln: FloatArray; wg: Weight; wu: Weight; wd: Weight; post: FloatArray | null; lora?: LayerLora }
export interface MlpDims { H: number; I: number; eps: number; gelu: boolean }

export function mlpForward(be: Backend, w: MlpWeights, d: MlpDims,
  xOut: FloatArray, ln: FloatArray, rstd: FloatArray, gate: FloatArray, up: FloatArray, h: FloatArray, x: FloatArray, R: number, post: PostNormSaved | null = null): void {
  be.rmsnorm(ln, rstd, x, w.ln, R, d.H, d.eps);
  linearForward(be, gate, ln, w.wg, null, R, d.I, d.H, false, w.lora?.gate_proj);
  linearForward(be, up, ln, w.wu, null, R, d.I, d.H, false, w.lora?.up_proj);
  if (d.gelu) be.geglu(h, gate, up, R * d.I);
  else be.swiglu(h, gate, up, R * d.I);
  if (w.post && post) {
    linearForward(be, post.o, h, w.wd, null, R, d.H, d.I, false, w.lora?.down_proj);
    be.rmsnorm(post.tmp, post.rstdO, post.o, w.post, R, d.H, d.eps);
    be.add(xOut, x, post.tmp, R * d.H);
  } else {
    xOut.set(x.subarray(0, R * d.H));
    linearForward(be, xOut, h, w.wd, null, R, d.H, d.I, true, w.lora?.down_proj);
  }
}

export interface MlpScratch { ln: FloatArray; rstd: FloatArray; dln: FloatArray; h: FloatArray; dh: FloatArray; dgate: FloatArray; dup: FloatArray; dO: FloatArray }

/** dres [R,H] holds dL/dxOut on entry and dL/dx on exit; parameter grads accumulate into g. */
export function mlpBackward(be: Backend, w: MlpWeights, g: MlpWeights, d: MlpDims, s: MlpScratch,
  dres: FloatArray, x: FloatArray, rstd: FloatArray, gate: FloatArray, up: FloatArray, R: number, post: PostNormSaved | null = null): void {
  const n = R * d.I;
  if (d.gelu) be.geglu(s.h, gate, up, n);
  else be.swiglu(s.h, gate, up, n);
  let dy = dres;
  if (w.post && g.post && post) {
    s.dO.subarray(0, R * d.H).fill(0);
    be.rmsnormBackward(s.dO, g.post, dres, post.o, w.post, post.rstdO, R, d.H);
    dy = s.dO;
  }
  linearBackward(be, s.dh, g.wd, null, dy, s.h, w.wd, R, d.H, d.I, false, w.lora?.down_proj);
  s.dgate.subarray(0, n).fill(0); s.dup.subarray(0, n).fill(0);
  if (d.gelu) be.gegluBackward(s.dgate, s.dup, s.dh, gate, up, n);
  else be.swigluBackward(s.dgate, s.dup, s.dh, gate, up, n);
  be.rmsnorm(s.ln, s.rstd, x, w.ln, R, d.H, d.eps);
  linearBackward(be, s.dln, g.wg, null, s.dgate, s.ln, w.wg, R, d.I, d.H, false, w.lora?.gate_proj);
  linearBackward(be, s.dln, g.wu, null, s.dup, s.ln, w.wu, R, d.I, d.H, true, w.lora?.up_proj);
  be.rmsnormBackward(dres, g.ln, s.dln, x, w.ln, rstd, R, d.H);
}
