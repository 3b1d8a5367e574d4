/** Finite-difference helpers shared by the engine and model gradient tests (float64 central differences). */
import assert from "node:assert/strict";

/** Deterministic pseudo-random numbers so failures reproduce. */
export { uniformRng as rng } from "../../src/rng.js";

/** Float64Array of n uniform values in [−scale, scale). */
export function randn64(n: number, rand: () => number, scale = 1): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

/** Σ c_i y_i: a random linear functional turns any output into a scalar loss whose dL/dy is c. */
export function dot(c: ArrayLike<number>, y: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i] * y[i];
  return s;
}

/**
 * Asserts that `analytic` matches the central difference of `loss` with respect to every element of `x`
 * (or the `indices` given), within |a − n| ≤ atol + rtol·|n|.
 */
export function checkGrad(name: string, x: Float64Array | Float32Array, loss: () => number, analytic: ArrayLike<number>,
  opts: { h?: number; atol?: number; rtol?: number; indices?: number[] } = {}): void {
  const h = opts.h ?? 1e-6, atol = opts.atol ?? 1e-7, rtol = opts.rtol ?? 1e-5;
  const idx = opts.indices ?? Array.from({ length: x.length }, (_, i) => i);
  for (const i of idx) {
    const x0 = x[i];
    x[i] = x0 + h; const lp = loss();
    x[i] = x0 - h; const lm = loss();
    x[i] = x0;
    const num = (lp - lm) / (2 * h);
    const err = Math.abs(analytic[i] - num);
    assert.ok(err <= atol + rtol * Math.abs(num), `${name}[${i}]: analytic ${analytic[i]} vs numeric ${num} (err ${err})`);
  }
}
