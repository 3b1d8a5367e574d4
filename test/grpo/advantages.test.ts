import { test } from "node:test";
import assert from "node:assert/strict";
import { combineRewards, computeAdvantages } from "../../src/train/grpo/advantages.js";
import { informativeGroups } from "../../src/train/grpo/dynamic.js";
import { GRPOInputError } from "../../src/train/grpo/errors.js";

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) =>
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol, `index ${i}: got ${a[i]}, expected ${v}`));

// grpo-vectors.md §4.4, group rewards r = [1, 0, 0, 0]
test("TRL group scaling: Bessel std and eps 1e-4", () => {
  const { advantages } = computeAdvantages([1, 0, 0, 0], 4, "group");
  close(advantages, [1.4997, -0.4999, -0.4999, -0.4999]);
  // a population-std implementation would give 1.7321 / −0.5774
  assert.ok(Math.abs(advantages[0] - 1.7321) > 0.1);
});

test("scale_rewards none is Dr. GRPO's r − mean", () => {
  close(computeAdvantages([1, 0, 0, 0], 4, "none").advantages, [0.75, -0.25, -0.25, -0.25], 1e-12);
});

test("scale_rewards batch: group mean, std over the whole batch (values from Python statistics.stdev)", () => {
  const a = computeAdvantages([1, 0, 0, 0, 1, 1, 0, 0], 4, "batch");
  close(a.advantages, [1.4488577287, -0.4829525762, -0.4829525762, -0.4829525762, 0.9659051525, 0.9659051525, -0.9659051525, -0.9659051525], 1e-9);
  close(a.std, Array(8).fill(0.5175491695), 1e-9);
});

test("weighted sum skips nulls; an all-null row is NaN and gets advantage 0, outside the group stats", () => {
  const r = combineRewards([[1, null], [null, null], [0, 0], [0, 1]], [1, 0.5]);
  assert.equal(r[0], 1);
  assert.ok(Number.isNaN(r[1]));
  assert.equal(r[2], 0);
  assert.equal(r[3], 0.5);
  const a = computeAdvantages(r, 4, "group");
  // stats over [1, 0, 0.5]: mean 0.5, stdev 0.5
  close(a.advantages, [0.99980004, 0, -0.99980004, 0], 1e-7);
  close(a.groupMean, [0.5, 0.5, 0.5, 0.5], 1e-12);
});

test("zero-std groups get zero advantage and are flagged; dynamic sampling drops them", () => {
  const r = [1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0];
  const a = computeAdvantages(r, 4, "group");
  assert.deepEqual(Array.from(a.zeroStd), [1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(a.advantages.slice(0, 4)), [0, 0, 0, 0]);
  assert.deepEqual(informativeGroups(r, 4), { groups: [1], rows: [4, 5, 6, 7] });
  // a group with a single judged row carries no signal either
  assert.deepEqual(informativeGroups([1, NaN, NaN, NaN], 4).groups, []);
});

test("rewards that do not split into groups are refused with a named error", () => {
  assert.throws(() => computeAdvantages([1, 0, 0], 2, "group"), GRPOInputError);
  assert.throws(() => combineRewards([[1]], [1, 1]), /one value \(or null\) per reward function/);
});
