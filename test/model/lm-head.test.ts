/** The chunked LM head: results independent of the chunk size, gradients by finite differences, skipped chunks. */
import { test } from "node:test";
import assert from "node:assert/strict";
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
  assert.deepEqual([...dxf.subarray(3 * H, 6 * H)], new Array(3 * H).fill(0));
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
