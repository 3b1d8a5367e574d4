/**
 * MLP block (pre-norm, SwiGLU): x → RMSNorm → gate, up projections → silu(gate)·up → down_proj → + x.
 *
 * Shapes: R rows (B·T tokens), H hidden, I intermediate.
 *   x [R,H] block input (residual)   ln [R,H] normed input   rstd [R]
 *   gate, up [R,I] (kept for backward)   h [R,I] = silu(gate)·up (recomputed in backward)   xOut [R,H] = x + h·Wdᵀ
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray } from "./params.js";
import { linearBackward, linearForward } from "./linear.js";

export interface MlpWeights { ln: FloatArray; wg: FloatArray; wu: FloatArray; wd: FloatArray }
export interface MlpDims { H: number; I: number; eps: number }

export function mlpForward(be: Backend, w: MlpWeights, d: MlpDims,
  xOut: FloatArray, ln: FloatArray, rstd: FloatArray, gate: FloatArray, up: FloatArray, h: FloatArray, x: FloatArray, R: number): void {
  be.rmsnorm(ln, rstd, x, w.ln, R, d.H, d.eps);
  linearForward(be, gate, ln, w.wg, null, R, d.I, d.H);
  linearForward(be, up, ln, w.wu, null, R, d.I, d.H);
  be.swiglu(h, gate, up, R * d.I);
  xOut.set(x.subarray(0, R * d.H));
  linearForward(be, xOut, h, w.wd, null, R, d.H, d.I, true);
}

export interface MlpScratch { ln: FloatArray; rstd: FloatArray; dln: FloatArray; h: FloatArray; dh: FloatArray; dgate: FloatArray; dup: FloatArray }

/** dres [R,H] holds dL/dxOut on entry and dL/dx on exit; parameter grads accumulate into g. */
export function mlpBackward(be: Backend, w: MlpWeights, g: MlpWeights, d: MlpDims, s: MlpScratch,
  dres: FloatArray, x: FloatArray, rstd: FloatArray, gate: FloatArray, up: FloatArray, R: number): void {
  const n = R * d.I;
  be.swiglu(s.h, gate, up, n);
  linearBackward(be, s.dh, g.wd, null, dres, s.h, w.wd, R, d.H, d.I, false);
  s.dgate.subarray(0, n).fill(0); s.dup.subarray(0, n).fill(0);
  be.swigluBackward(s.dgate, s.dup, s.dh, gate, up, n);
  be.rmsnorm(s.ln, s.rstd, x, w.ln, R, d.H, d.eps);
  linearBackward(be, s.dln, g.wg, null, s.dgate, s.ln, w.wg, R, d.I, d.H, false);
  linearBackward(be, s.dln, g.wu, null, s.dup, s.ln, w.wu, R, d.I, d.H, true);
  be.rmsnormBackward(dres, g.ln, s.dln, x, w.ln, rstd, R, d.H);
}
