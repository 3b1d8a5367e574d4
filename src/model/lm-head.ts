/**
 * Language-model head with a chunked, fused log-softmax + gather. Only rows with a target (≥ 0) are scored:
 * prompt and padding slots carry no loss, so their logits are never formed (in GRPO the prompts are often
 * most of the batch). Scored rows are gathered C at a time into a compact block, so a 151k vocabulary over
 * thousands of tokens never materialises more than C·V logits and every matmul runs on full chunks. Backward
 * recomputes each chunk's logits for the rows with a nonzero upstream gradient, turns them into dlogits in
 * place, then forms dhidden and dW by matmul.
 *
 * Contract: logp, entropy and lse are 0 where target < 0, and such rows get dhidden 0 (whatever dlogp or
 * dentropy say there).
 *
 * Soft-capping (Gemma's final_logit_softcapping c > 0): logits ← c·tanh(logits / c) before the temperature and the
 * log-softmax; the backward keeps the capped chunk to multiply dlogits by 1 − (capped / c)².
 *
 * Shapes: R rows (B·T tokens), H hidden, V vocab, C chunk rows, n ≤ C rows in the current chunk.
 *   xf [R,H] final-normed hidden   W [V,H] (lm_head or tied embed_tokens)   targets [R] (< 0 = none)
 *   logp, entropy, lse [R]   dlogp, dentropy [R]   dxf [R,H]   chunk [C,V] scratch
 *   per chunk (compact): rows [n] indices into R   x, dx [n,H]   t [n]   a, b, c [n]
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray, Weight } from "./params.js";

/**
 * Logits held at once (floats): 8M = 32 MB; for V = 151,936 that is 55 rows, for V = 32,000 262 rows.
 * Halving it to 131 rows at V = 32,000 cost 20–35% of the head's matmul rate (short M), hence this size.
 */
const LOGIT_BUDGET = 1 << 23;

export const headChunkRows = (V: number, R: number) => Math.max(1, Math.min(R, Math.floor(LOGIT_BUDGET / V)));

/** Compact per-chunk buffers, kept as long as the caller's chunk buffer (one set per model, not per call). */
interface Compact { rows: Int32Array; t: Int32Array; x: FloatArray; dx: FloatArray; a: FloatArray; b: FloatArray; c: FloatArray; capped: FloatArray | null }
const compacts = new WeakMap<FloatArray, Compact>();

function compactFor(chunk: FloatArray, C: number, H: number): Compact {
  let k = compacts.get(chunk);
  if (!k || k.rows.length < C || k.x.length < C * H) {
    const F = chunk.constructor as new (n: number) => FloatArray;
    k = { rows: new Int32Array(C), t: new Int32Array(C), x: new F(C * H), dx: new F(C * H), a: new F(C), b: new F(C), c: new F(C), capped: null };
    compacts.set(chunk, k);
  }
  return k;
}

/** Calls fn(n) for successive groups of up to C rows r (in order) with keep(r); k.rows[0..n) holds them and k.x their xf rows. */
function forChunks(k: Compact, xf: FloatArray, R: number, H: number, C: number, keep: (r: number) => boolean, fn: (n: number) => void): void {
  let n = 0;
  for (let r = 0; r < R; r++) {
    if (!keep(r)) continue;
    k.rows[n] = r;
    k.x.set(xf.subarray(r * H, (r + 1) * H), n * H);
    if (++n === C) { fn(n); n = 0; }
  }
  if (n > 0) fn(n);
}

/** x[0..n) ← c·tanh(x / c) */
export function softcapLogits(x: FloatArray, c: number, n: number): void {
  for (let i = 0; i < n; i++) x[i] = c * Math.tanh(x[i] / c);
}

export function lmHeadForward(be: Backend, logp: FloatArray, entropy: FloatArray, lse: FloatArray, xf: FloatArray, W: Weight,
  targets: Int32Array, chunk: FloatArray, R: number, H: number, V: number, C: number, temperature: number, softcap = 0): void {
  logp.fill(0, 0, R); entropy.fill(0, 0, R); lse.fill(0, 0, R);
  const k = compactFor(chunk, C, H);
  forChunks(k, xf, R, H, C, r => targets[r] >= 0, n => {
    for (let i = 0; i < n; i++) k.t[i] = targets[k.rows[i]];
    if (W instanceof Uint16Array) be.matmulBf16(chunk, k.x, W, n, V, H, false);
    else be.matmul(chunk, k.x, W, n, V, H, false, true, false);
    if (softcap > 0) softcapLogits(chunk, softcap, n * V);
    be.logSoftmaxGather(k.a, k.b, k.c, chunk, k.t, n, V, temperature);
    for (let i = 0; i < n; i++) { const r = k.rows[i]; logp[r] = k.a[i]; entropy[r] = k.b[i]; lse[r] = k.c[i]; }
  });
}

/**
 * Writes dxf [R,H]; accumulates dW [V,H] (skipped when dW is null: a frozen head under LoRA; W in BF16 is always frozen).
 * Only rows with a target and a nonzero dlogp or dentropy are recomputed.
 */
export function lmHeadBackward(be: Backend, dxf: FloatArray, dW: FloatArray | null, xf: FloatArray, W: Weight, lse: FloatArray, targets: Int32Array,
  dlogp: FloatArray | null, dentropy: FloatArray | null, chunk: FloatArray, R: number, H: number, V: number, C: number, temperature: number, softcap = 0): void {
  dxf.fill(0, 0, R * H);
  const k = compactFor(chunk, C, H);
  if (softcap > 0 && (!k.capped || k.capped.length < C * V)) k.capped = new (chunk.constructor as new (n: number) => FloatArray)(C * V);
  const live = (r: number) => targets[r] >= 0 && ((dlogp !== null && dlogp[r] !== 0) || (dentropy !== null && dentropy[r] !== 0));
  forChunks(k, xf, R, H, C, live, n => {
    for (let i = 0; i < n; i++) {
      const r = k.rows[i];
      k.t[i] = targets[r]; k.c[i] = lse[r]; k.a[i] = dlogp ? dlogp[r] : 0; k.b[i] = dentropy ? dentropy[r] : 0;
    }
    if (W instanceof Uint16Array) be.matmulBf16(chunk, k.x, W, n, V, H, false);
    else be.matmul(chunk, k.x, W, n, V, H, false, true, false);
    if (softcap > 0) { softcapLogits(chunk, softcap, n * V); k.capped!.set(chunk.subarray(0, n * V)); }
    be.logSoftmaxGatherBackward(chunk, k.c, k.t, k.a, k.b, n, V, temperature);
    if (softcap > 0) {
      const y = k.capped!;
      for (let i = 0; i < n * V; i++) { const t = y[i] / softcap; chunk[i] *= 1 - t * t; }
    }
    if (W instanceof Uint16Array) be.matmulBf16NN(k.dx, chunk, W, n, V, H, false);
    else {
      be.matmul(k.dx, chunk, W, n, H, V, false, false, false);
      if (dW) be.matmul(dW, chunk, k.x, V, H, n, true, false, true);
    }
    for (let i = 0; i < n; i++) dxf.set(k.dx.subarray(i * H, (i + 1) * H), k.rows[i] * H);
  });
}
