/** Finite-difference helpers shared by the engine and model gradient tests (float64 central differences). */
import assert from "node:assert/strict";
import type { Transformer } from "../../src/model/transformer.js";

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

/**
 * Every parameter gradient of a float64 model against central differences: the loss is a random linear functional
 * (weights from `rand`) of the forward's log-probs of the next tokens and of its entropies on unmasked positions,
 * at temperature `temp`. Returns the analytic gradient.
 */
export function checkModelGradients(m: Transformer<Float64Array>, tokens: Int32Array, mask: Uint8Array, B: number, T: number, temp: number, rand: () => number): Float64Array {
  const targets = Int32Array.from(tokens, (_, i) => mask[i] && i % T < T - 1 && mask[i + 1] ? tokens[i + 1] : -1);
  const a = Float64Array.from({ length: B * T }, () => rand() * 2 - 1), e = Float64Array.from({ length: B * T }, (_, i) => mask[i] ? rand() * 2 - 1 : 0);
  const loss = () => { const r = m.forward(tokens, mask, targets, B, T, temp); return dot(a, r.logp) + dot(e, r.entropy); };
  loss();
  m.flatGrads.fill(0);
  m.backward(a, e);
  const analytic = m.flatGrads.slice();
  checkGrad("params", m.flatParams, loss, analytic, { h: 1e-5, atol: 1e-8, rtol: 1e-5 });
  return analytic;
}
