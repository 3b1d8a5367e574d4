/**
 * Sliding-window attention (Gemma 3's local layers) and the score scale, and the GeGLU kernel:
 * the reference against a naive masked softmax and float64 finite differences; the native kernels against the
 * reference over odd shapes (GQA, odd head dims, windows of 1, windows wider than the sequence, KV-cache layouts
 * with T < S ≤ Smax, key masks, packed segments, blocks crossing the 64-query tile).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend as be } from "../../src/engine/reference.js";
import { checkGrad, dot, randn64 } from "../model/finite-diff.js";
import { assertClose, nat, rand32, ref, rng, skip, withThreads } from "./native-helpers.js";

/** Key j visible from the query at key index i = t + S − T iff j ≤ i, i − j < window (window 0 = ∞), unmasked, same segment. */
function naive(q: Float64Array, k: Float64Array, v: Float64Array, mask: Uint8Array | null, seg: Int32Array | null,
  B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, window: number, scale: number) {
  const out = new Float64Array(B * T * nh * hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) for (let t = 0; t < T; t++) {
    const kh = Math.floor(h * nkv / nh), i = t + S - T, s: number[] = [];
    for (let j = 0; j < S; j++) {
      const ok = j <= i && (window === 0 || i - j < window) && (!mask || mask[b * Smax + j] === 1) && (!seg || seg[b * Smax + j] === seg[b * Smax + i]);
      let d = 0;
      for (let x = 0; x < hd; x++) d += q[((b * T + t) * nh + h) * hd + x] * k[((b * Smax + j) * nkv + kh) * hd + x];
      s.push(ok ? d * scale : -Infinity);
    }
    const m = Math.max(...s);
    if (m === -Infinity) continue;
    const e = s.map(x => Math.exp(x - m)), z = e.reduce((a, x) => a + x, 0);
    for (let j = 0; j < S; j++) for (let x = 0; x < hd; x++) out[((b * T + t) * nh + h) * hd + x] += e[j] / z * v[((b * Smax + j) * nkv + kh) * hd + x];
  }
  return out;
}

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

test("reference: windowed, scaled attention equals the naive masked softmax; backward by finite differences", () => {
  const rand = rng(41);
  const B = 2, T = 4, S = 7, Smax = 8, nh = 4, nkv = 2, hd = 3, scale = 0.37;
  const mask = Uint8Array.of(0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1);
  for (const window of [1, 2, 3, 0]) {
    const q = randn64(B * T * nh * hd, rand), k = randn64(B * Smax * nkv * hd, rand), v = randn64(B * Smax * nkv * hd, rand);
    const c = randn64(B * T * nh * hd, rand);
    const out = new Float64Array(B * T * nh * hd), lse = new Float64Array(B * nh * T);
    const loss = () => { be.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, null, window, scale); return dot(c, out); };
    loss();
    const want = naive(q, k, v, mask, null, B, T, S, Smax, nh, nkv, hd, window, scale);
    for (let i = 0; i < out.length; i++) close(out[i], want[i]);
    const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
    be.attentionBackward(dq, dk, dv, c, out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, null, window, scale);
    checkGrad(`q w=${window}`, q, loss, dq);
    checkGrad(`k w=${window}`, k, loss, dk);
    checkGrad(`v w=${window}`, v, loss, dv);
    if (window > 0) {
      // keys older than every query's window get no gradient: the first query sits at key index S − T = 3
      for (let j = 0; j < 3 - window + 1; j++) for (let x = 0; x < nkv * hd; x++) assert.equal(dk[j * nkv * hd + x], 0, `w=${window} key ${j}`);
    }
  }
  // window ≥ S is full causal attention; window 1 sees only the query's own key
  const q = randn64(B * T * nh * hd, rand), k = randn64(B * Smax * nkv * hd, rand), v = randn64(B * Smax * nkv * hd, rand);
  const full = new Float64Array(q.length), wide = new Float64Array(q.length), lse = new Float64Array(B * nh * T);
  be.attention(full, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd, null, 0, scale);
  be.attention(wide, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd, null, S, scale);
  assert.deepEqual(wide, full);
  be.attention(wide, lse, q, k, v, null, B, T, S, Smax, nh, nkv, hd, null, 1, scale);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let h = 0; h < nh; h++) for (let x = 0; x < hd; x++) {
    close(wide[((b * T + t) * nh + h) * hd + x], v[((b * Smax + t + S - T) * nkv + Math.floor(h * nkv / nh)) * hd + x]);
  }
});

test("reference: the default scale is 1/√hd, so passing it explicitly changes nothing", () => {
  const rand = rng(42), B = 1, T = 5, nh = 2, nkv = 1, hd = 4;
  const q = randn64(B * T * nh * hd, rand), k = randn64(B * T * nkv * hd, rand), v = randn64(B * T * nkv * hd, rand);
  const a = new Float64Array(q.length), b = new Float64Array(q.length), l = new Float64Array(B * nh * T);
  be.attention(a, l, q, k, v, null, B, T, T, T, nh, nkv, hd);
  be.attention(b, l, q, k, v, null, B, T, T, T, nh, nkv, hd, null, 0, 0.5);
  assert.deepEqual(a, b);
});

test("reference geglu: gelu_tanh(gate)·up, backward by finite differences", () => {
  const rand = rng(43), N = 13;
  const g = randn64(N, rand, 4), u = randn64(N, rand), c = randn64(N, rand), h = new Float64Array(N), gl = new Float64Array(N);
  be.geglu(h, g, u, N);
  be.gelu(gl, g, N);
  for (let i = 0; i < N; i++) close(h[i], gl[i] * u[i]);
  const dg = new Float64Array(N).fill(0.25), du = new Float64Array(N).fill(0.25);
  be.gegluBackward(dg, du, c, g, u, N);
  const loss = () => { be.geglu(h, g, u, N); return dot(c, h); };
  checkGrad("gate", g, loss, dg.map(x => x - 0.25)); // the 0.25 prefill proves accumulation
  checkGrad("up", u, loss, du.map(x => x - 0.25));
});

type Dims = { B: number; T: number; S: number; Smax: number; nh: number; nkv: number; hd: number; window: number };
const cases: Dims[] = [
  { B: 1, T: 1, S: 1, Smax: 1, nh: 1, nkv: 1, hd: 1, window: 1 },
  { B: 2, T: 7, S: 7, Smax: 9, nh: 4, nkv: 2, hd: 17, window: 3 },
  { B: 1, T: 33, S: 33, Smax: 33, nh: 4, nkv: 1, hd: 33, window: 1 },
  { B: 2, T: 3, S: 11, Smax: 13, nh: 6, nkv: 2, hd: 16, window: 5 },   // prefill continuing a KV cache
  { B: 3, T: 1, S: 20, Smax: 24, nh: 2, nkv: 1, hd: 64, window: 7 },   // one-token decode step past the window
  { B: 2, T: 130, S: 130, Smax: 131, nh: 2, nkv: 1, hd: 8, window: 50 }, // windows that start inside later 64-query blocks
  { B: 1, T: 9, S: 9, Smax: 9, nh: 2, nkv: 2, hd: 5, window: 100 },     // window wider than the sequence
];

function maskFor(d: Dims, rand: () => number): [string, Uint8Array | null, Int32Array | null][] {
  const left = new Uint8Array(d.B * d.Smax).fill(1), holes = new Uint8Array(d.B * d.Smax), seg = new Int32Array(d.B * d.Smax);
  for (let b = 0; b < d.B; b++) {
    for (let j = 0; j < Math.min(d.S, 2 + b); j++) left[b * d.Smax + j] = 0;
    for (let j = 0; j < d.Smax; j++) holes[b * d.Smax + j] = rand() < 0.7 ? 1 : 0;
    for (let j = 0; j < d.Smax; j++) seg[b * d.Smax + j] = Math.floor(j / Math.max(1, Math.ceil(d.S / 3)));
  }
  return [["no mask", null, null], ["left padding", left, null], ["holes", holes, null], ["segments", left, d.T === d.S ? seg : null]];
}

test("native windowed, scaled attention forward and backward match the reference", { skip }, () => {
  const rand = rng(44);
  for (const d of cases) for (const [name, mask, seg] of maskFor(d, rand)) {
    const { B, T, S, Smax, nh, nkv, hd, window } = d, scale = 0.8 / Math.sqrt(hd), label = `${JSON.stringify(d)} ${name}`;
    const nq = B * T * nh * hd, nk = B * Smax * nkv * hd;
    const q = rand32(nq, rand, 2), k = rand32(nk, rand, 2), v = rand32(nk, rand);
    for (let b = 0; b < B; b++) for (let j = S; j < Smax; j++) for (let i = 0; i < nkv * hd; i++) { k[(b * Smax + j) * nkv * hd + i] = NaN; v[(b * Smax + j) * nkv * hd + i] = NaN; }
    const outN = new Float32Array(nq), lseN = new Float32Array(B * nh * T), outR = new Float32Array(nq), lseR = new Float32Array(B * nh * T);
    nat.attention(outN, lseN, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale);
    ref.attention(outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale);
    assertClose(outN, outR, `out ${label}`, 1e-5, 1e-5);
    assertClose(lseN, lseR, `lse ${label}`, 1e-5, 1e-5);
    const dout = rand32(nq, rand);
    const [dqN, dkN, dvN, dqR, dkR, dvR] = [nq, nk, nk, nq, nk, nk].map(n => new Float32Array(n));
    nat.attentionBackward(dqN, dkN, dvN, dout, outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale);
    ref.attentionBackward(dqR, dkR, dvR, dout, outR, lseR, q, k, v, mask, B, T, S, Smax, nh, nkv, hd, seg, window, scale);
    assertClose(dqN, dqR, `dq ${label}`, 1e-4, 1e-5);
    assertClose(dkN, dkR, `dk ${label}`, 1e-4, 1e-5);
    assertClose(dvN, dvR, `dv ${label}`, 1e-4, 1e-5);
  }
});

test("native windowed attention is bit-identical on 1 and 2 threads", { skip }, () => {
  const B = 2, T = 100, nh = 4, nkv = 2, hd = 16, window = 20, rand = rng(45);
  const q = rand32(B * T * nh * hd, rand), k = rand32(B * T * nkv * hd, rand), v = rand32(B * T * nkv * hd, rand), dout = rand32(q.length, rand);
  const run = () => {
    const out = new Float32Array(q.length), lse = new Float32Array(B * nh * T), dq = new Float32Array(q.length), dk = new Float32Array(k.length), dv = new Float32Array(v.length);
    nat.attention(out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, null, window);
    nat.attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, null, B, T, T, T, nh, nkv, hd, null, window);
    return [out, lse, dq, dk, dv];
  };
  assert.deepEqual(withThreads(2, run), withThreads(1, run));
});

test("native geglu forward and backward match the reference, including large |x|", { skip }, () => {
  const rand = rng(46);
  for (const [N, s] of [[1, 1], [37, 3], [1000, 12]] as const) {
    const g = rand32(N, rand, s), u = rand32(N, rand), dh = rand32(N, rand);
    const hn = new Float32Array(N), hr = new Float32Array(N);
    nat.geglu(hn, g, u, N); ref.geglu(hr, g, u, N);
    assertClose(hn, hr, `geglu ${N}`, 2e-6, 1e-6);
    const [dgn, dun, dgr, dur] = [0, 0, 0, 0].map(() => Float32Array.from({ length: N }, () => 0.5));
    nat.gegluBackward(dgn, dun, dh, g, u, N); ref.gegluBackward(dgr, dur, dh, g, u, N);
    assertClose(dgn, dgr, `geglu dgate ${N}`, 2e-6, 2e-6);
    assertClose(dun, dur, `geglu dup ${N}`, 2e-6, 2e-6);
  }
});

test("native attention refuses a bad window or scale", { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  assert.throws(() => nat.attention(f(8), f(2), f(8), f(8), f(8), null, 1, 2, 2, 2, 1, 1, 4, null, -1), /non-negative integer/);
  assert.throws(() => nat.attention(f(8), f(2), f(8), f(8), f(8), null, 1, 2, 2, 2, 1, 1, 4, null, 0, -2), /scale/);
});
