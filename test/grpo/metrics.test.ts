import { test } from "node:test";
import assert from "node:assert/strict";
import { combineRewards, computeAdvantages } from "../../src/train/grpo/advantages.js";
import { rewardMetrics, completionMetrics, healthWarnings } from "../../src/train/grpo/metrics.js";

test("reward metrics use TRL's names and definitions", () => {
  const table = [[1, 1], [0, null], [0, 1], [0, 0], [1, 1], [1, 1], [1, 1], [1, 1]];
  const adv = computeAdvantages(combineRewards(table, [1, 0.5]), 4, "group");
  const m = rewardMetrics(table, ["accuracy", "format"], adv);
  assert.equal(m["rewards/accuracy/mean"], 5 / 8);
  assert.equal(m["rewards/format/mean"], 6 / 7); // null skipped
  // group 1 rewards [1.5, 0, 0.5, 0] mean 0.5; group 2 all 1.5
  assert.equal(m.reward, (0.5 + 1.5) / 2);
  assert.equal(m.frac_reward_zero_std, 0.5);
  assert.ok(Math.abs(m.reward_std - 0.7071067811865476 / 2) < 1e-12); // stdev([1.5,0,0.5,0]) = 0.7071, other group 0
});

test("completion metrics and warnings", () => {
  const m = completionMetrics([3, 8, 5, 8], [0, 1, 0, 1]);
  assert.equal(m["completions/mean_length"], 6);
  assert.equal(m["completions/clipped_ratio"], 0.5);
  assert.equal(m["completions/mean_terminated_length"], 4);
  assert.equal(m["completions/max_terminated_length"], 5);
  assert.equal(completionMetrics([8], [1])["completions/mean_terminated_length"], 0);
  assert.equal(healthWarnings({ frac_reward_zero_std: 0.95, "completions/clipped_ratio": 0.1 }).length, 1);
  assert.match(healthWarnings({ frac_reward_zero_std: 0, "completions/clipped_ratio": 1 })[0], /max_completion_length/);
});
