import { test } from "node:test";
import assert from "node:assert/strict";
import { completionMask } from "../../src/train/grpo/mask.js";

const EOS = 9;

test("mask covers tokens up to and including the first EOS", () => {
  // row 0: EOS at 2 then junk; row 1: no EOS, full length (truncated); row 2: stopped early at length 2 without EOS
  const ids = [5, 6, EOS, 7, EOS, 1, 2, 3, 4, 5, 1, 2, 0, 0, 0];
  const m = completionMask(ids, 3, 5, EOS, { lengths: [5, 5, 2] });
  assert.deepEqual(Array.from(m.mask), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(m.lengths), [3, 5, 2]);
  assert.deepEqual(Array.from(m.truncated), [0, 1, 0]);
});

test("mask_truncated_completions zeroes truncated rows but lengths still count them", () => {
  const ids = [EOS, 1, 1, 1, 2, 3];
  const m = completionMask(ids, 2, 3, [EOS, 8], { maskTruncated: true });
  assert.deepEqual(Array.from(m.mask), [1, 0, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(m.lengths), [1, 3]);
  assert.deepEqual(Array.from(m.truncated), [0, 1]);
});

test("any of several EOS ids ends the completion", () => {
  const m = completionMask([1, 8, 1, 1], 1, 4, [EOS, 8]);
  assert.deepEqual(Array.from(m.mask), [1, 1, 0, 0]);
});

test("with maxLength, only rows that reached max_completion_length are truncated, not the longest of a micro-batch", () => {
  // T = 3 is just this micro-batch's longest row; max_completion_length is 8
  const m = completionMask([1, 2, 3, 4, 5, 0], 2, 3, EOS, { lengths: [3, 2], maxLength: 8, maskTruncated: true });
  assert.deepEqual(Array.from(m.truncated), [0, 0]);
  assert.deepEqual(Array.from(m.mask), [1, 1, 1, 1, 1, 0]);
  assert.deepEqual(Array.from(completionMask([1, 2, 3], 1, 3, EOS, { maxLength: 3 }).truncated), [1]);
});
