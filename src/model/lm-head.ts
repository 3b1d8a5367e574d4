/**
 * Language-model head with a chunked, fused log-softmax + gather: rows are processed C at a time, so a
 * 151k vocabulary over thousands of tokens never materialises more than C·V logits. Backward recomputes
 * each chunk's logits, turns them into dlogits in place, then forms dhidden and dW by matmul.
 *
 * Shapes: R rows (B·T tokens), H hidden, V vocab, C chunk rows.
 *   xf [R,H] final-normed hidden   W [V,H] (lm_head or tied embed_tokens)   targets [R] (< 0 = none)
 *   logp, entropy, lse [R]   dlogp, dentropy [R]   dxf [R,H]   chunk [C,V] scratch
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray } from "./params.js";

/**
 * Logits held at once (floats): 8M = 32 MB; for V = 151,936 that is 55 rows, for V = 32,000 262 rows.
 * Halving it to 131 rows at V = 32,000 cost 20–35% of the head's matmul rate (short M), hence this size.
 */
const LOGIT_BUDGET = 1 << 23;

export const headChunkRows = (V: number, R: number) => Math.max(1, Math.min(R, Math.floor(LOGIT_BUDGET / V)));

export function lmHeadForward(be: Backend, logp: FloatArray, entropy: FloatArray, lse: FloatArray, xf: FloatArray, W: FloatArray,
  targets: Int32Array, chunk: FloatArray, R: number, H: number, V: number, C: number, temperature: number): void {
  for (let r0 = 0; r0 < R; r0 += C) {
    const n = Math.min(C, R - r0);
    be.matmul(chunk, xf.subarray(r0 * H), W, n, V, H, false, true, false);
    be.logSoftmaxGather(logp.subarray(r0), entropy.subarray(r0), lse.subarray(r0), chunk, targets.subarray(r0), n, V, temperature);
  }
}

/** Writes dxf [R,H]; accumulates dW [V,H]. Chunks whose rows all have zero upstream gradient are skipped. */
export function lmHeadBackward(be: Backend, dxf: FloatArray, dW: FloatArray, xf: FloatArray, W: FloatArray, lse: FloatArray, targets: Int32Array,
  dlogp: FloatArray | null, dentropy: FloatArray | null, chunk: FloatArray, R: number, H: number, V: number, C: number, temperature: number): void {
  for (let r0 = 0; r0 < R; r0 += C) {
    const n = Math.min(C, R - r0);
    let live = false;
    for (let r = r0; r < r0 + n && !live; r++) live = (dlogp !== null && dlogp[r] !== 0 && targets[r] >= 0) || (dentropy !== null && dentropy[r] !== 0);
    if (!live) { dxf.subarray(r0 * H, (r0 + n) * H).fill(0); continue; }
    const x = xf.subarray(r0 * H);
    be.matmul(chunk, x, W, n, V, H, false, true, false);
    be.logSoftmaxGatherBackward(chunk, lse.subarray(r0), targets.subarray(r0), dlogp && dlogp.subarray(r0), dentropy && dentropy.subarray(r0), n, V, temperature);
    be.matmul(dxf.subarray(r0 * H), chunk, W, n, H, V, false, false, false);
    be.matmul(dW, chunk, x, V, H, n, true, false, true);
  }
}
