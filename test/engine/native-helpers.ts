/** Shared by the native kernel tests: the backends under comparison, random buffers, and a closeness check. */
import assert from "node:assert/strict";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import type { NativeBackend } from "../../src/engine/native.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { bf16ToF32, f32ToBf16 } from "../../src/model/io/half.js";
import { uniformRng } from "../../src/rng.js";

/** node:test `skip` option: a reason when the addon is not built, so the files skip cleanly instead of failing. */
export const skip = nativeAvailable() ? false : "native addon not built (run `node scripts/build-native.mjs`)";
export const nat = (nativeAvailable() ? getBackend("native") : null) as NativeBackend;
export const ref = referenceBackend;
export const rng = uniformRng;

/** n uniform floats in [−scale, scale). */
export function rand32(n: number, rand: () => number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** x rounded to BF16 bits (nearest even). */
export function bf16(x: Float32Array): Uint16Array { const w = new Uint16Array(x.length); f32ToBf16(x, w); return w; }

/** BF16 bits widened to F32 (exact). */
export function widen(w: Uint16Array): Float32Array { const f = new Float32Array(w.length); bf16ToF32(w, f); return f; }

/** Asserts |actual − expected| ≤ atol + rtol·|expected| elementwise; infinities must match exactly. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, label: string, rtol = 1e-5, atol = 1e-5): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (!Number.isFinite(e)) { assert.equal(a, e, `${label}[${i}]: ${a} vs ${e}`); continue; }
    assert.ok(Math.abs(a - e) <= atol + rtol * Math.abs(e), `${label}[${i}]: native ${a} vs reference ${e}`);
  }
}

/** Runs fn with the pool at n threads, restoring the default afterwards. */
export function withThreads<T>(n: number, fn: () => T): T {
  nat.setThreads(n);
  try { return fn(); } finally { nat.setThreads(0); }
}

/** Runs a kernel into a fresh output of n floats on 1 and on 2 threads and asserts the two are bit-identical. */
export function assertThreadsAgree(n: number, run: (out: Float32Array) => void, label: string): void {
  const one = new Float32Array(n), two = new Float32Array(n);
  withThreads(1, () => run(one));
  withThreads(2, () => run(two));
  assert.deepEqual(two, one, label);
}

/** S[i,j] = Σ_k |A[i,k]|·|W[j,k]|: the scale of a product's rounding error, for A·Wᵀ bounds. */
export function absProducts(A: Float32Array, W: Float32Array, M: number, N: number, K: number): Float64Array {
  const S = new Float64Array(M * N);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.abs(A[i * K + k] * W[j * K + k]);
    S[i * N + j] = s;
  }
  return S;
}
