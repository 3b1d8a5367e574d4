import { test } from "node:test";
import assert from "node:assert/strict";
import { countdownReward, countdownStrictReward, evaluateCountdown } from "../../src/rewards/countdown.js";

const ex = { nums: [25, 3, 1], target: 72 };

test("safe parser: precedence, parentheses, exact division, malformed input", () => {
  assert.equal(evaluateCountdown("(25 - 1) * 3")!.value.valueOf(), 72);
  assert.equal(evaluateCountdown("25 - 1 * 3")!.value.valueOf(), 22);
  assert.equal(evaluateCountdown("1 / 3 * 3")!.value.valueOf(), 1);
  assert.equal(evaluateCountdown("6 ÷ 4 × 2")!.value.valueOf(), 3);
  assert.deepEqual(evaluateCountdown("(25 - 1) * 3")!.numbers, [25n, 1n, 3n]);
  assert.equal(evaluateCountdown("5 / (3 - 3)"), undefined);
  assert.equal(evaluateCountdown("(1 + 2"), undefined);
  assert.equal(evaluateCountdown("-3 + 5"), undefined);
  assert.equal(evaluateCountdown("process.exit(1)"), undefined);
  assert.equal(evaluateCountdown("2 ** 3"), undefined);
  assert.equal(evaluateCountdown("(".repeat(100) + "1" + ")".repeat(100)), undefined);
});

test("TinyZero scheme: 1 correct, 0.1 formatted but wrong, 0 without an answer", () => {
  assert.equal(countdownReward("<think>try</think><answer>(25 - 1) * 3</answer>", ex), 1);
  assert.equal(countdownReward("<answer>(25 - 1) * 3 = 72</answer>", ex), 1);
  assert.equal(countdownReward("<answer>25 * 3</answer>", ex), 0.1);
  assert.equal(countdownReward("<answer>(25 - 1) * 3 * 1</answer>", ex), 0.1);
  assert.equal(countdownReward("<answer>(25 - 1) * 3 + 0</answer>", ex), 0.1);
  assert.equal(countdownReward("<answer>25 + 3 + 1</answer>", ex), 0.1);
  assert.equal(countdownReward("the answer is (25-1)*3", ex), 0);
  assert.equal(countdownReward("<think><answer>(25-1)*3</answer></think>", ex), 0);
  assert.equal(countdownReward("<answer>(25-1)*3</answer>", { nums: [25, 3, 1] }), null);
});

test("strict variant is 0/1", () => {
  assert.equal(countdownStrictReward("<answer>(25 - 1) * 3</answer>", ex), 1);
  assert.equal(countdownStrictReward("<answer>25 * 3</answer>", ex), 0);
  assert.equal(countdownStrictReward("<answer>72</answer>", ex), 0);
});
