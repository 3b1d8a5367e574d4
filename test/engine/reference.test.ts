/**
 * The reference backend checked against things it does not share code with: central finite differences
 * in float64 for every backward op, direct formulas for forward values, and a hand-computed AdamW step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend as be } from "../../src/engine/reference.js";
import { checkGrad, dot, randn64, rng } from "../model/finite-diff.js";

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${a} vs ${b}`);

test("matmul: all transpose variants and accumulate match the index formula", () => {
  const rand = rng(1);
  const M = 5, N = 7, K = 3;
  for (const transA of [false, true]) for (const transB of [false, true]) {
    const A = randn64(M * K, rand), B = randn64(K * N, rand), C0 = randn64(M * N, rand);
    const a = (i: number, k: number) => transA ? A[k * M + i] : A[i * K + k];
    const b = (k: number, j: number) => transB ? B[j * K + k] : B[k * N + j];
    for (const accumulate of [false, true]) {
      const C = C0.slice();
      be.matmul(C, A, B, M, N, K, transA, transB, accumulate);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let s = accumulate ? C0[i * N + j] : 0;
        for (let k = 0; k < K; k++) s += a(i, k) * b(k, j);
        close(C[i * N + j], s);
      }
    }
  }
});

test("linear layer backward through matmul transposes and biasBackward matches finite differences", () => {
  const rand = rng(2);
  const R = 4, I = 5, O = 3;
  const x = randn64(R * I, rand), W = randn64(O * I, rand), bias = randn64(O, rand), c = randn64(R * O, rand);
  const forward = () => { const y = new Float64Array(R * O); be.matmul(y, x, W, R, O, I, false, true, false); be.addBias(y, bias, R, O); return dot(c, y); };
  const dx = new Float64Array(R * I).fill(0.5), dW = new Float64Array(O * I).fill(0.5), db = new Float64Array(O).fill(0.5);
  be.matmul(dx, c, W, R, I, O, false, false, true); // dx += dy · W
  be.matmul(dW, c, x, O, I, R, true, false, true);  // dW += dyᵀ · x
  be.biasBackward(db, c, R, O);
  const minus = (g: Float64Array) => g.map(v => v - 0.5); // the 0.5 prefill proves accumulation
  checkGrad("x", x, forward, minus(dx));
  checkGrad("W", W, forward, minus(dW));
  checkGrad("b", bias, forward, minus(db));
});

test("add, scale, sumSquares", () => {
  const a = Float64Array.of(1, 2, 3), b = Float64Array.of(4, 5, 6), y = new Float64Array(3);
  be.add(y, a, b, 3);
  assert.deepEqual([...y], [5, 7, 9]);
  be.scale(y, 2, 3);
  assert.deepEqual([...y], [10, 14, 18]);
  assert.equal(be.sumSquares(a, 3), 14);
});

test("rmsnorm forward formula and backward by finite differences", () => {
  const rand = rng(3);
  const R = 3, N = 6, eps = 1e-5;
  const x = randn64(R * N, rand), w = randn64(N, rand), c = randn64(R * N, rand);
  const y = new Float64Array(R * N), rstd = new Float64Array(R);
  be.rmsnorm(y, rstd, x, w, R, N, eps);
  const ms = x.slice(0, N).reduce((s, v) => s + v * v, 0) / N;
  close(y[2], x[2] / Math.sqrt(ms + eps) * w[2]);
  const loss = () => { be.rmsnorm(y, rstd, x, w, R, N, eps); return dot(c, y); };
  loss();
  const dx = new Float64Array(R * N), dw = new Float64Array(N);
  be.rmsnormBackward(dx, dw, c, x, w, rstd, R, N);
  checkGrad("x", x, loss, dx);
  checkGrad("w", w, loss, dw);
});

test("layernorm forward formula and backward by finite differences", () => {
  const rand = rng(4);
  const R = 3, N = 5, eps = 1e-5;
  const x = randn64(R * N, rand), w = randn64(N, rand), b = randn64(N, rand), c = randn64(R * N, rand);
  const y = new Float64Array(R * N), mean = new Float64Array(R), rstd = new Float64Array(R);
  be.layernorm(y, mean, rstd, x, w, b, R, N, eps);
  const row = [...x.slice(N, 2 * N)], mu = row.reduce((s, v) => s + v, 0) / N;
  const va = row.reduce((s, v) => s + (v - mu) ** 2, 0) / N;
  close(y[N + 1], (row[1] - mu) / Math.sqrt(va + eps) * w[1] + b[1]);
  const loss = () => { be.layernorm(y, mean, rstd, x, w, b, R, N, eps); return dot(c, y); };
  loss();
  const dx = new Float64Array(R * N), dw = new Float64Array(N), db = new Float64Array(N);
  be.layernormBackward(dx, dw, db, c, x, w, mean, rstd, R, N);
  checkGrad("x", x, loss, dx);
  checkGrad("w", w, loss, dw);
  checkGrad("b", b, loss, db);
});

/** HF tables: inv_freq_i = θ^(−2i/hd), cos/sin[pos, i] of pos·inv_freq_i. */
function ropeTables(maxPos: number, hd: number, theta = 10000) {
  const half = hd / 2, cos = new Float64Array(maxPos * half), sin = new Float64Array(maxPos * half);
  for (let p = 0; p < maxPos; p++) for (let i = 0; i < half; i++) {
    const a = p * Math.pow(theta, -2 * i / hd);
    cos[p * half + i] = Math.cos(a); sin[p * half + i] = Math.sin(a);
  }
  return { cos, sin };
}

test("rope matches HF rotate_half and its inverse is the gradient (transpose) of the forward", () => {
  const rand = rng(5);
  const R = 3, heads = 2, hd = 8, half = hd / 2;
  const { cos, sin } = ropeTables(10, hd);
  const pos = Int32Array.of(0, 4, 9);
  const x = randn64(R * heads * hd, rand), c = randn64(R * heads * hd, rand);
  const y = x.slice();
  be.rope(y, pos, cos, sin, R, heads, hd, false);
  // HF: q·cos + rotate_half(q)·sin with cos/sin duplicated over both halves; rotate_half(x) = [−x2, x1].
  for (let r = 0; r < R; r++) for (let h = 0; h < heads; h++) for (let d = 0; d < hd; d++) {
    const o = (r * heads + h) * hd, i = d % half;
    const rot = d < half ? -x[o + d + half] : x[o + d - half];
    close(y[o + d], x[o + d] * cos[pos[r] * half + i] + rot * sin[pos[r] * half + i]);
  }
  const back = y.slice();
  be.rope(back, pos, cos, sin, R, heads, hd, true);
  for (let i = 0; i < x.length; i++) close(back[i], x[i]);
  const g = c.slice();
  be.rope(g, pos, cos, sin, R, heads, hd, true);
  checkGrad("x", x, () => { const t = x.slice(); be.rope(t, pos, cos, sin, R, heads, hd, false); return dot(c, t); }, g);
});

/** Straightforward attention: full score matrix per (b, h), masked softmax, weighted sum. */
function naiveAttention(q: Float64Array, k: Float64Array, v: Float64Array, mask: Uint8Array, B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number) {
  const out = new Float64Array(B * T * nh * hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) for (let t = 0; t < T; t++) {
    const kh = Math.floor(h * nkv / nh);
    const s: number[] = [];
    for (let j = 0; j < S; j++) {
      const visible = j <= t + S - T && mask[b * Smax + j] === 1;
      let d = 0;
      for (let i = 0; i < hd; i++) d += q[((b * T + t) * nh + h) * hd + i] * k[((b * Smax + j) * nkv + kh) * hd + i];
      s.push(visible ? d / Math.sqrt(hd) : -Infinity);
    }
    const m = Math.max(...s);
    if (m === -Infinity) continue;
    const e = s.map(x => Math.exp(x - m)), z = e.reduce((a, x) => a + x, 0);
    for (let j = 0; j < S; j++) for (let i = 0; i < hd; i++) out[((b * T + t) * nh + h) * hd + i] += e[j] / z * v[((b * Smax + j) * nkv + kh) * hd + i];
  }
  return out;
}

test("attention with GQA, key mask and T < S: forward vs naive, backward by finite differences", () => {
  const rand = rng(6);
  const B = 2, T = 3, S = 5, Smax = 6, nh = 4, nkv = 2, hd = 4;
  const q = randn64(B * T * nh * hd, rand), k = randn64(B * Smax * nkv * hd, rand), v = randn64(B * Smax * nkv * hd, rand);
  // row 0: left padding at keys 0,1; row 1: a hole at key 3 (a padded decode slot); slot 5 unused.
  const mask = Uint8Array.of(0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1);
  const c = randn64(B * T * nh * hd, rand);
  const out = new Float64Array(B * T * nh * hd), lse = new Float64Array(B * nh * T);
  be.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
  const ref = naiveAttention(q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
  for (let i = 0; i < out.length; i++) close(out[i], ref[i], 1e-12);
  const loss = () => { be.attention(out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd); return dot(c, out); };
  loss();
  const dq = new Float64Array(q.length), dk = new Float64Array(k.length), dv = new Float64Array(v.length);
  be.attentionBackward(dq, dk, dv, c, out, lse, q, k, v, mask, B, T, S, Smax, nh, nkv, hd);
  checkGrad("q", q, loss, dq);
  checkGrad("k", k, loss, dk);
  checkGrad("v", v, loss, dv);
  // masked and unused key slots get no gradient
  for (const slot of [0, 1, 5, Smax + 3, Smax + 5]) for (let i = 0; i < nkv * hd; i++) assert.equal(dk[slot * nkv * hd + i], 0);
});

test("attention: a query that sees no valid key gives out = 0 and lse = −Infinity, and no gradient", () => {
  const B = 1, T = 2, S = 2, nh = 1, nkv = 1, hd = 2;
  const q = Float64Array.of(1, 2, 3, 4), k = Float64Array.of(1, 1, 2, -1), v = Float64Array.of(5, 6, 7, 8);
  const out = new Float64Array(4).fill(9), lse = new Float64Array(2);
  be.attention(out, lse, q, k, v, Uint8Array.of(0, 1), B, T, S, S, nh, nkv, hd);
  assert.deepEqual([...out], [0, 0, 7, 8]);
  assert.equal(lse[0], -Infinity);
  close(lse[1], (3 * 2 + 4 * -1) / Math.sqrt(2));
  const dq = new Float64Array(4), dk = new Float64Array(4), dv = new Float64Array(4);
  be.attentionBackward(dq, dk, dv, Float64Array.of(1, 1, 1, 1), out, lse, q, k, v, Uint8Array.of(0, 1), B, T, S, S, nh, nkv, hd);
  assert.deepEqual([...dq.slice(0, 2)], [0, 0]);
  assert.deepEqual([...dv], [0, 0, 1, 1]);
});

test("swiglu and gelu: values and backward by finite differences", () => {
  const rand = rng(7);
  const N = 9;
  const g = randn64(N, rand, 3), u = randn64(N, rand, 3), c = randn64(N, rand);
  const h = new Float64Array(N);
  be.swiglu(h, g, u, N);
  close(h[0], g[0] / (1 + Math.exp(-g[0])) * u[0]);
  const lossS = () => { be.swiglu(h, g, u, N); return dot(c, h); };
  const dg = new Float64Array(N), du = new Float64Array(N);
  be.swigluBackward(dg, du, c, g, u, N);
  checkGrad("gate", g, lossS, dg);
  checkGrad("up", u, lossS, du);

  const y = new Float64Array(1);
  be.gelu(y, Float64Array.of(1), 1);
  close(y[0], 0.8411919906082768, 1e-15); // torch.nn.functional.gelu(1., approximate="tanh")
  const x = randn64(N, rand, 3), yy = new Float64Array(N), dx = new Float64Array(N);
  be.geluBackward(dx, c, x, N);
  checkGrad("x", x, () => { be.gelu(yy, x, N); return dot(c, yy); }, dx);
});

test("embedding gather and scatter-add with repeated ids", () => {
  const rand = rng(8);
  const Vv = 5, H = 3, ids = Int32Array.of(4, 1, 4, 0);
  const table = randn64(Vv * H, rand), c = randn64(ids.length * H, rand), out = new Float64Array(ids.length * H);
  be.embedding(out, table, ids, ids.length, H);
  assert.deepEqual([...out.slice(0, 3)], [...table.slice(12, 15)]);
  const dt = new Float64Array(Vv * H);
  be.embeddingBackward(dt, c, ids, ids.length, H);
  checkGrad("table", table, () => { be.embedding(out, table, ids, ids.length, H); return dot(c, out); }, dt);
});

test("logSoftmaxGather: values, ignored targets, and backward of logp and entropy with temperature", () => {
  const rand = rng(9);
  const R = 4, Vv = 7, temp = 0.7;
  const logits = randn64(R * Vv, rand, 4), targets = Int32Array.of(3, -1, 0, 6);
  const a = randn64(R, rand), bb = randn64(R, rand);
  const logp = new Float64Array(R), ent = new Float64Array(R), lse = new Float64Array(R);
  be.logSoftmaxGather(logp, ent, lse, logits, targets, R, Vv, temp);
  const z = [...logits.slice(0, Vv)].map(x => x / temp), Z = z.reduce((s, x) => s + Math.exp(x), 0);
  close(logp[0], z[3] - Math.log(Z));
  close(ent[0], -z.reduce((s, x) => s + Math.exp(x) / Z * (x - Math.log(Z)), 0));
  assert.equal(logp[1], 0);
  assert.ok(ent[1] > 0);
  for (const [da, de] of [[a, bb], [a, null], [null, bb]] as const) {
    const lossOf = () => { be.logSoftmaxGather(logp, ent, lse, logits, targets, R, Vv, temp); return (da ? dot(a, logp) : 0) + (de ? dot(bb, ent) : 0); };
    lossOf();
    const g = logits.slice();
    be.logSoftmaxGatherBackward(g, lse, targets, da, de, R, Vv, temp);
    checkGrad(`logits(${da ? "logp" : ""}${de ? "+entropy" : ""})`, logits, lossOf, g);
  }
});

test("adamw: one hand-computed step with bias correction and decoupled weight decay, then a second step", () => {
  const p = Float64Array.of(1, -2), g = Float64Array.of(0.5, -0.1), m = new Float64Array(2), v = new Float64Array(2);
  const lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  be.adamw(p, g, m, v, 2, lr, b1, b2, eps, wd, 1);
  // t = 1: m̂ = g, v̂ = g², so the step is lr·(sign(g)·|g|/(|g|+eps) + wd·p₀)
  close(m[0], 0.05); close(v[0], 0.00025);
  close(p[0], 1 - 0.1 * (0.5 / (0.5 + 1e-8) + 0.01 * 1));
  close(p[1], -2 - 0.1 * (-0.1 / (0.1 + 1e-8) + 0.01 * -2));
  const p1 = p[0];
  be.adamw(p, Float64Array.of(0.3, 0), m, v, 2, lr, b1, b2, eps, wd, 2);
  const m2 = 0.9 * 0.05 + 0.1 * 0.3, v2 = 0.999 * 0.00025 + 0.001 * 0.09;
  close(p[0], p1 - lr * ((m2 / (1 - 0.81)) / (Math.sqrt(v2 / (1 - 0.998001)) + eps) + wd * p1));
});
