// The backends' sampleRows pass (the sampler's per-step pass over every row) against an independent float64
// inverse-CDF reference, and TokenPicker / generate routing through it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import { TokenPicker } from "../../src/sample/pick.js";
import { Rng } from "../../src/sample/rng.js";

const backends = [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])];

/** float64: the token at u of softmax(z/T) over the first Vs ids (cumulative, id order), and log softmax(z/T)[token] over all V. */
function oracle(z: Float32Array, T: number, u: number, Vs: number) {
  const t = T === 0 ? 1 : T;
  let mV = -Infinity;
  for (const x of z) mV = Math.max(mV, x / t);
  let sV = 0;
  for (const x of z) sV += Math.exp(x / t - mV);
  const lse = mV + Math.log(sV);
  let token = 0;
  if (T === 0) { for (let i = 1; i < Vs; i++) if (z[i] > z[token]) token = i; }
  else {
    let m = -Infinity;
    for (let i = 0; i < Vs; i++) m = Math.max(m, z[i] / T);
    const w = Array.from(z.subarray(0, Vs), x => Math.exp(x / T - m)), total = w.reduce((a, b) => a + b, 0);
    let c = 0;
    token = Vs - 1;
    for (let i = 0; i < Vs; i++) { c += w[i] / total; if (c > u) { token = i; break; } }
  }
  return { token, logprob: z[token] / t - lse, margin: T === 0 ? Infinity : cdfMargin(z, T, u, Vs) };
}
/** How far u is from the nearest CDF boundary (a draw that close may fall either side by float rounding). */
function cdfMargin(z: Float32Array, T: number, u: number, Vs: number) {
  let m = -Infinity;
  for (let i = 0; i < Vs; i++) m = Math.max(m, z[i] / T);
  const w = Array.from(z.subarray(0, Vs), x => Math.exp(x / T - m)), total = w.reduce((a, b) => a + b, 0);
  let c = 0, best = Infinity;
  for (const x of w) { c += x / total; best = Math.min(best, Math.abs(c - u)); }
  return best;
}

for (const be of backends) {
  test(`[${be.name}] sampleRows: greedy, draws at several temperatures, skipped rows, Vs < V, over vocabularies of odd sizes`, () => {
    const rng = new Rng(3);
    for (const [V, Vs] of [[5, 5], [37, 37], [3001, 2990], [40000, 40000]]) {
      const temps = Float32Array.of(0, 1, 0.7, Number.NaN, 1.3, 1, 0, 0.2);
      const R = temps.length, logits = new Float32Array(R * V), u = new Float64Array(R);
      for (let i = 0; i < logits.length; i++) logits[i] = 6 * (rng.nextFloat() - 0.5);
      logits[6 * V + Math.min(3, Vs - 1)] = 9; logits[6 * V + Math.min(4, Vs - 1)] = 9; // a tie: the first wins
      if (Vs < V) logits[1 * V + V - 1] = 12;                                              // the best id is not sampleable
      for (let r = 0; r < R; r++) u[r] = rng.nextFloat();
      const tokens = new Int32Array(R), logprobs = new Float32Array(R);
      be.sampleRows!(tokens, logprobs, logits, temps, u, R, V, Vs);
      for (let r = 0; r < R; r++) {
        if (Number.isNaN(temps[r])) { assert.equal(tokens[r], -1); continue; }
        const z = logits.subarray(r * V, (r + 1) * V), want = oracle(z, temps[r], u[r], Vs);
        assert.ok(tokens[r] >= 0 && tokens[r] < Vs, `row ${r}: token ${tokens[r]} outside [0, ${Vs})`);
        if (want.margin > 1e-5) assert.equal(tokens[r], want.token, `V ${V} row ${r} (T ${temps[r]})`);
        const t = temps[r] || 1, lse = z[want.token] / t - want.logprob, lp = z[tokens[r]] / t - lse;
        assert.ok(Math.abs(logprobs[r] - lp) < 2e-5, `V ${V} row ${r}: log-prob ${logprobs[r]} vs ${lp}`);
      }
      if (Vs < V) assert.ok(tokens[1] < Vs);
    }
  });

  test(`[${be.name}] sampleRows draws follow softmax(z/T): frequencies over 4000 draws within 4 sigma`, () => {
    const V = 6, z = Float32Array.of(1, 0.5, -1, 2, 0, 0.1), T = 0.8, n = 4000, rng = new Rng(5);
    const logits = new Float32Array(n * V);
    for (let r = 0; r < n; r++) logits.set(z, r * V);
    const u = Float64Array.from({ length: n }, () => rng.nextFloat()), tokens = new Int32Array(n);
    be.sampleRows!(tokens, new Float32Array(n), logits, new Float32Array(n).fill(T), u, n, V, V);
    const p = Array.from(z, x => Math.exp(x / T)), s = p.reduce((a, b) => a + b, 0);
    for (let i = 0; i < V; i++) {
      const f = tokens.filter(t => t === i).length / n, q = p[i] / s;
      assert.ok(Math.abs(f - q) < 4 * Math.sqrt(q * (1 - q) / n), `id ${i}: ${f} vs ${q}`);
    }
  });

  test(`[${be.name}] TokenPicker with the backend: plain draws and greedy go through sampleRows, filters stay in JS`, () => {
    const V = 500, rng = new Rng(9), z = Float32Array.from({ length: V }, () => 4 * (rng.nextFloat() - 0.5));
    const plain = new TokenPicker(V, V, { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 }, be);
    const filtered = new TokenPicker(V, V, { temperature: 1, topK: 20, topP: 1, minP: 0, repetitionPenalty: 1 }, be);
    assert.ok(plain.fast && !filtered.fast);
    const a = new Rng(1), b = new Rng(1), tokens = new Int32Array(1), lp = new Float32Array(1);
    for (let i = 0; i < 20; i++) {
      const got = plain.pick(z, null, a);
      be.sampleRows!(tokens, lp, z, Float32Array.of(1), Float64Array.of(b.nextFloat()), 1, V, V);
      assert.deepEqual(got, { token: tokens[0], logprob: lp[0] });
    }
  });
}
