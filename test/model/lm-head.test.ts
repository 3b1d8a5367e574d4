/** The chunked LM head: results independent of the chunk size, gradients by finite differences, skipped chunks, unscored rows. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/engine/backend.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import { referenceBackend as be } from "../../src/engine/reference.js";
import { headChunkRows, lmHeadBackward, lmHeadForward } from "../../src/model/lm-head.js";
import { checkGrad, dot, randn64, rng } from "./finite-diff.js";

test("chunked head: chunk size does not change log-probs; dhidden and dW match finite differences; idle chunks write zeros", () => {
  const rand = rng(11), R = 7, H = 3, V = 5, temp = 0.9;
  const xf = randn64(R * H, rand), W = randn64(V * H, rand);
  const targets = Int32Array.of(1, 4, -1, 0, 2, 3, 1);
  // rows 3..5 form the middle chunk when C = 3 and carry no gradient: that chunk is skipped
  const a = Float64Array.of(0.5, -1, 0.7, 0, 0, 0, 1.2), e = Float64Array.of(0.3, 0, -0.4, 0, 0, 0, 0.8);
  const run = (C: number) => {
    const logp = new Float64Array(R), ent = new Float64Array(R), lse = new Float64Array(R), chunk = new Float64Array(C * V);
    lmHeadForward(be, logp, ent, lse, xf, W, targets, chunk, R, H, V, C, temp);
    return { logp, ent, lse, chunk };
  };
  const whole = run(R), chunked = run(3);
  for (let r = 0; r < R; r++) { assert.equal(chunked.logp[r], whole.logp[r]); assert.equal(chunked.ent[r], whole.ent[r]); }
  const dxf = new Float64Array(R * H).fill(99), dW = new Float64Array(V * H);
  lmHeadBackward(be, dxf, dW, xf, W, chunked.lse, targets, a, e, chunked.chunk, R, H, V, 3, temp);
  assert.deepEqual([...dxf.subarray(2 * H, 6 * H)], new Array(4 * H).fill(0)); // row 2 has no target, rows 3..5 no gradient
  const loss = () => { const r = run(3); return dot(a, r.logp) + dot(e, r.ent); };
  checkGrad("xf", xf, loss, dxf);
  checkGrad("W", W, loss, dW);
});

test("chunk rows fit the 8M-logit budget and never exceed the batch", () => {
  assert.equal(headChunkRows(151936, 4096), 55);
  assert.equal(headChunkRows(32000, 4096), 262);
  assert.equal(headChunkRows(512, 2048), 2048);
  assert.equal(headChunkRows(1 << 24, 10), 1);
});

/** log-prob and entropy of one row, straight from the definition: z = (x·Wᵀ)/temperature. */
function direct(x: ArrayLike<number>, W: ArrayLike<number>, H: number, V: number, target: number, temp: number) {
  const z = Array.from({ length: V }, (_, v) => { let s = 0; for (let h = 0; h < H; h++) s += x[h] * W[v * H + h]; return s / temp; });
  const m = Math.max(...z), lse = m + Math.log(z.reduce((s, zi) => s + Math.exp(zi - m), 0));
  return { logp: z[target] - lse, entropy: -z.reduce((s, zi) => s + Math.exp(zi - lse) * (zi - lse), 0) };
}

function unscoredRows(be: Backend, F: Float32ArrayConstructor | Float64ArrayConstructor, tol: number) {
  const rand = rng(5), R = 23, H = 16, V = 37, C = 4, temp = 0.8;
  const fill = (n: number) => F.from(randn64(n, rand));
  const xf = fill(R * H), W = fill(V * H);
  // prompt-like runs without targets at the start, in the middle and at the end; isolated ones between
  const targets = Int32Array.from({ length: R }, (_, r) => (r < 5 || (r >= 11 && r < 14) || r === 8 || r >= 20 ? -1 : Math.floor(rand() * V)));
  const dlogp = fill(R), dent = fill(R); // nonzero on every row, also where there is no target: must be ignored
  const logp = new F(R).fill(7), ent = new F(R).fill(7), lse = new F(R), chunk = new F(C * V);
  lmHeadForward(be, logp, ent, lse, xf, W, targets, chunk, R, H, V, C, temp);
  const dxf = new F(R * H).fill(7), dW = new F(V * H);
  lmHeadBackward(be, dxf, dW, xf, W, lse, targets, dlogp, dent, chunk, R, H, V, C, temp);

  // the same head run on the scored rows alone
  const live = [...targets.keys()].filter(r => targets[r] >= 0), n = live.length;
  const pick = (a: ArrayLike<number>, w: number) => F.from(live.flatMap(r => Array.from({ length: w }, (_, j) => a[r * w + j])));
  const xs = pick(xf, H), ts = Int32Array.from(live, r => targets[r]);
  const logp2 = new F(n), ent2 = new F(n), lse2 = new F(n), chunk2 = new F(n * V), dxs = new F(n * H), dW2 = new F(V * H);
  lmHeadForward(be, logp2, ent2, lse2, xs, W, ts, chunk2, n, H, V, n, temp);
  lmHeadBackward(be, dxs, dW2, xs, W, lse2, ts, pick(dlogp, 1), pick(dent, 1), chunk2, n, H, V, n, temp);

  for (let r = 0; r < R; r++) {
    const i = live.indexOf(r);
    if (i < 0) {
      assert.equal(logp[r], 0, `logp[${r}]`); assert.equal(ent[r], 0, `entropy[${r}]`);
      for (let h = 0; h < H; h++) assert.equal(dxf[r * H + h], 0, `dxf[${r},${h}]`);
      continue;
    }
    const d = direct(xf.subarray(r * H, (r + 1) * H), W, H, V, targets[r], temp);
    assert.ok(Math.abs(logp[r] - d.logp) < tol && Math.abs(ent[r] - d.entropy) < tol, `row ${r}: ${logp[r]}, ${ent[r]} vs ${d.logp}, ${d.entropy}`);
    assert.ok(Math.abs(logp[r] - logp2[i]) < tol && Math.abs(ent[r] - ent2[i]) < tol, `row ${r} vs scored-rows-only run`);
    for (let h = 0; h < H; h++) assert.ok(Math.abs(dxf[r * H + h] - dxs[i * H + h]) < tol, `dxf[${r},${h}] ${dxf[r * H + h]} vs ${dxs[i * H + h]}`);
  }
  for (let j = 0; j < V * H; j++) assert.ok(Math.abs(dW[j] - dW2[j]) < tol * 10, `dW[${j}] ${dW[j]} vs ${dW2[j]}`);
}

test("rows without a target are not scored: logp, entropy and dhidden 0 (whatever dlogp/dentropy say); the other rows as if those were absent", () => {
  unscoredRows(be, Float64Array, 1e-12);
});

test("unscored rows on the native backend", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  unscoredRows(getBackend("native"), Float32Array, 1e-5);
});
