import { test } from "node:test";
import assert from "node:assert/strict";
import { segments } from "../../src/dashboard/page/trace.js";
import { alignSeries, orderMetrics, smooth } from "../../src/dashboard/page/series.js";

test("segments separate reasoning, answer and untagged text", () => {
  assert.deepEqual(segments("<think>2+2 is 4</think>\n<answer>4</answer>"), [
    { kind: "think", text: "2+2 is 4" },
    { kind: "answer", text: "4" },
  ]);
  // the R1-Zero prompt ends with "<think>", so the completion starts inside the reasoning
  assert.deepEqual(segments("so 7\n</think> <answer> 7 </answer> trailing"), [
    { kind: "think", text: "so 7" },
    { kind: "answer", text: " 7" },
    { kind: "text", text: " trailing" },
  ]);
  assert.deepEqual(segments("no tags at all"), [{ kind: "text", text: "no tags at all" }]);
  assert.deepEqual(segments("<think>unclosed"), [{ kind: "think", text: "unclosed" }]);
  assert.deepEqual(segments(""), []);
});

test("metrics are ordered with the ones users watch first", () => {
  assert.deepEqual(orderMetrics(["zeta", "kl", "rewards/format/mean", "step", "reward", "time", "alpha", "completions/mean_length"]), [
    "reward", "rewards/format/mean", "completions/mean_length", "kl", "alpha", "zeta",
  ]);
  // the language mix of the chains of thought (GRPO on rows with a language) comes right after the held-out figures
  assert.deepEqual(orderMetrics(["kl", "language/switched", "frac_reward_zero_std", "eval/language", "language/share", "accuracy"]), [
    "accuracy", "eval/language", "language/share", "language/switched", "frac_reward_zero_std", "kl",
  ]);
});

test("countdown's search counts sit beside length and accuracy (issue 19)", () => {
  const order = orderMetrics(["kl", "search/checks", "completions/clipped_ratio", "search/attempts", "accuracy", "accuracy/unseen_target", "completions/mean_length", "reward"]);
  assert.deepEqual(order, ["reward", "accuracy", "accuracy/unseen_target", "completions/mean_length", "search/attempts", "search/checks", "completions/clipped_ratio", "kl"]);
});

test("alignSeries puts runs with different steps on one x axis; smooth is a debiased EMA", () => {
  const a = [{ step: 1, reward: 0 }, { step: 2, reward: 1 }, { step: 3, reward: null }];
  const b = [{ step: 2, reward: 0.5 }, { step: 4, reward: 0.7 }];
  assert.deepEqual(alignSeries([a, b], "reward"), [[1, 2, 4], [0, 1, null], [null, 0.5, 0.7]]);
  const s = smooth([1, null, 3], 0.5);
  assert.equal(s[0], 1);
  assert.equal(s[1], null);
  assert.equal(s[2], (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25));
});
