import { test } from "node:test";
import assert from "node:assert/strict";
import { encoderAttentionBackward, encoderAttentionForward, encoderKeyMask } from "../../src/model/attention.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
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

test("encoder attention: every query sees every key (reference and native against a direct softmax; the last query equals causal attention)", () => {
  const r = rng(11);
  const q = randn64(B * T * Q, r), k = randn64(B * T * K, r), v = randn64(B * T * K, r);
  const want = direct(q, k, v, B, T, nh, nkv, hd);
  const backends = [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])];
  for (const be of backends) {
    const F = be.name === "native" ? Float32Array : Float64Array;
    const out = new F(B * T * Q), lse = new F(B * nh * T);
    encoderAttentionForward(be, out, lse, F.from(q), F.from(k), F.from(v), new F(B * 2 * T * K), new F(B * 2 * T * K), encoderKeyMask(B, T), B, T, nh, nkv, hd);
    const tol = be.name === "native" ? 1e-5 : 1e-12;
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(out[i] - want[i]) <= tol, `${be.name} out[${i}] ${out[i]} vs ${want[i]}`);
  }
  // Not causal: the first query's output depends on the last key (a causal mask would make it v_0 alone).
  const out = new Float64Array(B * T * Q);
  encoderAttentionForward(referenceBackend, out, new Float64Array(B * nh * T), q, k, v, new Float64Array(B * 2 * T * K), new Float64Array(B * 2 * T * K), encoderKeyMask(B, T), B, T, nh, nkv, hd);
  assert.ok(Math.abs(out[0] - v[0]) > 1e-3);
});

test("encoder attention backward matches central finite differences in q, k and v (float64, reference)", () => {
  const r = rng(12), be = referenceBackend;
  const q = randn64(B * T * Q, r), k = randn64(B * T * K, r), v = randn64(B * T * K, r), c = randn64(B * T * Q, r);
  const kAll = new Float64Array(B * 2 * T * K), vAll = new Float64Array(B * 2 * T * K), mask = encoderKeyMask(B, T);
  const out = new Float64Array(B * T * Q), lse = new Float64Array(B * nh * T);
  const loss = () => { encoderAttentionForward(be, out, lse, q, k, v, kAll, vAll, mask, B, T, nh, nkv, hd); return dot(c, out); };
  loss();
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  dk.fill(0.25); // accumulates: the gradient is added to what is there
  encoderAttentionBackward(be, dq, dk, dv, c, out, lse, q, k, v, kAll, vAll, new Float64Array(kAll.length), new Float64Array(vAll.length), mask, B, T, nh, nkv, hd);
  for (let i = 0; i < dk.length; i++) dk[i] -= 0.25;
  checkGrad("q", q, loss, dq);
  checkGrad("k", k, loss, dk);
  checkGrad("v", v, loss, dv);
});

test("encoder attention backward: native equals the reference", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  const r = rng(13), nat = getBackend("native");
  const q = randn64(B * T * Q, r), k = randn64(B * T * K, r), v = randn64(B * T * K, r), c = randn64(B * T * Q, r);
  const run = (F: Float32ArrayConstructor | Float64ArrayConstructor, be: typeof nat) => {
    const kAll = new F(B * 2 * T * K), vAll = new F(B * 2 * T * K), mask = encoderKeyMask(B, T);
    const out = new F(B * T * Q), lse = new F(B * nh * T), qq = F.from(q), kk = F.from(k), vv = F.from(v);
    encoderAttentionForward(be, out, lse, qq, kk, vv, kAll, vAll, mask, B, T, nh, nkv, hd);
    const dq = new F(q.length), dk = new F(k.length), dv = new F(v.length);
    encoderAttentionBackward(be, dq, dk, dv, F.from(c), out, lse, qq, kk, vv, kAll, vAll, new F(kAll.length), new F(vAll.length), mask, B, T, nh, nkv, hd);
    return [dq, dk, dv];
  };
  const want = run(Float64Array, referenceBackend), got = run(Float32Array, nat);
  for (let g = 0; g < 3; g++) for (let i = 0; i < want[g].length; i++)
    assert.ok(Math.abs(got[g][i] - want[g][i]) <= 1e-4 + 1e-4 * Math.abs(want[g][i]), `grad ${"qkv"[g]}[${i}] ${got[g][i]} vs ${want[g][i]}`);
});
