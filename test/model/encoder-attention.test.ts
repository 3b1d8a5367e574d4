// Bidirectional attention: the attention kernel with causal = false (the self-play transformer's cells see each other).
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import type { Backend } from "../../src/engine/backend.js";
import { checkGrad, dot, randn64, rng } from "./finite-diff.js";

/** Full (non-causal) softmax attention written out directly: every query sees every key of its row. */
function direct(q: Float64Array, k: Float64Array, v: Float64Array, B: number, T: number, nh: number, nkv: number, hd: number): Float64Array {
  const out = new Float64Array(B * T * nh * hd), scale = 1 / Math.sqrt(hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) for (let t = 0; t < T; t++) {
    const kh = Math.floor(h / (nh / nkv)), qo = ((b * T + t) * nh + h) * hd;
    const s = Array.from({ length: T }, (_, j) => {
      let d = 0;
      for (let i = 0; i < hd; i++) d += q[qo + i] * k[((b * T + j) * nkv + kh) * hd + i];
      return d * scale;
    });
    const m = Math.max(...s), e = s.map(x => Math.exp(x - m)), z = e.reduce((a, c) => a + c, 0);
    for (let j = 0; j < T; j++) for (let i = 0; i < hd; i++) out[qo + i] += e[j] / z * v[((b * T + j) * nkv + kh) * hd + i];
  }
  return out;
}

const B = 2, T = 5, nh = 4, nkv = 2, hd = 3, Q = nh * hd, K = nkv * hd;
const nativeSkip = nativeAvailable() ? false : "native addon not built";

/** Forward (and, given c, backward of dot(c, out)) with causal = false; mask and segments optional. */
function run(be: Backend, F: Float32ArrayConstructor | Float64ArrayConstructor, x: { q: Float64Array; k: Float64Array; v: Float64Array; c?: Float64Array },
  B: number, T: number, mask: Uint8Array | null = null, seg: Int32Array | null = null) {
  const q = F.from(x.q), k = F.from(x.k), v = F.from(x.v), out = new F(B * T * Q), lse = new F(B * nh * T);
  be.attention(out, lse, q, k, v, mask, B, T, T, T, nh, nkv, hd, seg, 0, undefined, 0, false);
  if (!x.c) return { out };
  const dq = new F(q.length), dk = new F(k.length), dv = new F(v.length);
  be.attentionBackward(dq, dk, dv, F.from(x.c), out, lse, q, k, v, mask, B, T, T, T, nh, nkv, hd, seg, 0, undefined, 0, false);
  return { out, dq, dk, dv };
}

test("causal = false: every query sees every key (reference and native against a direct softmax)", () => {
  const r = rng(11);
  const x = { q: randn64(B * T * Q, r), k: randn64(B * T * K, r), v: randn64(B * T * K, r) };
  const want = direct(x.q, x.k, x.v, B, T, nh, nkv, hd);
  for (const be of [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])]) {
    const { out } = run(be, be.name === "native" ? Float32Array : Float64Array, x, B, T);
    const tol = be.name === "native" ? 1e-5 : 1e-12;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(out[i] - want[i]) <= tol, `${be.name} out[${i}] ${out[i]} vs ${want[i]}`);
  }
  // the causal default differs: its first query sees only key 0, so its output is v_0
  const causal = new Float64Array(B * T * Q);
  referenceBackend.attention(causal, new Float64Array(B * nh * T), x.q, x.k, x.v, null, B, T, T, T, nh, nkv, hd);
  for (let i = 0; i < hd; i++) assert.ok(Math.abs(causal[i] - x.v[i]) < 1e-12);
  assert.ok(Math.abs(want[0] - x.v[0]) > 1e-3);
});

test("causal = false backward matches central finite differences in q, k and v (float64, reference)", () => {
  const r = rng(12), be = referenceBackend;
  const q = randn64(B * T * Q, r), k = randn64(B * T * K, r), v = randn64(B * T * K, r), c = randn64(B * T * Q, r);
  const out = new Float64Array(B * T * Q), lse = new Float64Array(B * nh * T);
  const loss = () => { be.attention(out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, null, 0, undefined, 0, false); return dot(c, out); };
  loss();
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  dk.fill(0.25); // accumulates: the gradient is added to what is there
  be.attentionBackward(dq, dk, dv, c, out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, null, 0, undefined, 0, false);
  for (let i = 0; i < dk.length; i++) dk[i] -= 0.25;
  checkGrad("q", q, loss, dq);
  checkGrad("k", k, loss, dk);
  checkGrad("v", v, loss, dv);
});

test("causal = false, native against the reference: forward and backward, over several query blocks, with a key mask and segments", { skip: nativeSkip }, () => {
  const nat = getBackend("native");
  for (const [Bn, Tn, masked] of [[2, 5, false], [3, 43, false], [2, 70, true]] as const) {
    const r = rng(13 + Tn);
    const x = { q: randn64(Bn * Tn * Q, r), k: randn64(Bn * Tn * K, r), v: randn64(Bn * Tn * K, r), c: randn64(Bn * Tn * Q, r) };
    let mask: Uint8Array | null = null, seg: Int32Array | null = null;
    if (masked) { // every 7th key masked; two packed examples a row, split at 30
      mask = new Uint8Array(Bn * Tn).map((_, i) => (i % 7 === 3 ? 0 : 1));
      seg = new Int32Array(Bn * Tn).map((_, i) => (i % Tn < 30 ? 1 : 2));
    }
    const want = run(referenceBackend, Float64Array, x, Bn, Tn, mask, seg), got = run(nat, Float32Array, x, Bn, Tn, mask, seg);
    for (const key of ["out", "dq", "dk", "dv"] as const)
      for (let i = 0; i < want[key]!.length; i++)
        assert.ok(Math.abs(got[key]![i] - want[key]![i]) <= 1e-4 + 1e-4 * Math.abs(want[key]![i]), `B${Bn} T${Tn} ${key}[${i}] ${got[key]![i]} vs ${want[key]![i]}`);
  }
});

test("causal = false takes no sliding window: both backends refuse it", () => {
  const n = B * T * Q, m = B * T * K;
  const call = (be: Backend, F: Float32ArrayConstructor | Float64ArrayConstructor) =>
    be.attention(new F(n), new F(B * nh * T), new F(n), new F(m), new F(m), null, B, T, T, T, nh, nkv, hd, null, 2, undefined, 0, false);
  assert.throws(() => call(referenceBackend, Float64Array), /cannot take a sliding window/);
  if (nativeAvailable()) assert.throws(() => call(getBackend("native"), Float32Array), /cannot take a sliding window/);
});
