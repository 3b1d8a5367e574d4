import { test } from "node:test";
import assert from "node:assert/strict";
import { packBatch } from "../../src/train/grpo/batch.js";

test("packBatch scores each completion token at the slot before it", () => {
  // row 0: prompt [5,6], completion [7,8,2] (2 = EOS, counted); row 1: prompt [9], completion [3] masked out
  const p = packBatch([[5, 6], [9]], [[7, 8, 2], [3]], [[1, 1, 1], [0]]);
  assert.equal(p.T, 4);
  assert.deepEqual(Array.from(p.tokens), [5, 6, 7, 8, 9, 0, 0, 0]);
  assert.deepEqual(Array.from(p.attention), [1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(p.targets), [-1, 7, 8, 2, 3, -1, -1, -1]);
  assert.deepEqual(Array.from(p.lossMask), [0, 1, 1, 1, 0, 0, 0, 0]);
  assert.throws(() => packBatch([[]], [[1]], [[1]]), /empty prompt/);
});
