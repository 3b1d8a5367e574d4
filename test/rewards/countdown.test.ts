import { test } from "node:test";
import assert from "node:assert/strict";
import { countdownCheckedReward, countdownReward, countdownStrictReward, evaluateCountdown } from "../../src/rewards/countdown.js";
import { OPERATOR_CHARS } from "../../src/rewards/countdown-expr.js";
import { getReward, listRewards, scoreBatch } from "../../src/rewards/registry.js";
import { guardStats } from "../../src/rewards/guard.js";
import { readRecipe } from "../../src/recipes/load.js";
import { runCli } from "../cli/run-cli.js";
import { fuzzString } from "./fuzz-gen.js";

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
  // OPERATOR_CHARS (what the process check's scan takes for an operator) is exactly what the evaluator reads
  for (const c of OPERATOR_CHARS) assert.ok(evaluateCountdown(`6${c}3`), c);
  assert.deepEqual([...OPERATOR_CHARS].map(c => evaluateCountdown(`6${c}3`)!.value.valueOf()), [9, 3, 18, 2, 18, 18, 18, 18, 2, 3, 3]);
  for (const c of "%^=<>!,.a") assert.equal(evaluateCountdown(`6${c}3`), undefined, c);
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

// countdown_checked: the process check (issue 19). The traces are the 3-number run's (docs/countdown.md).
const p50 = { nums: [62, 37, 25], target: 50 };

test("countdown_checked: a right answer after false arithmetic earns 0 (the collapsed run's lines), where strict pays 1", () => {
  const lines: [string, { nums: number[]; target: number }][] = [
    ["<think>62-37 = 1, 25+1 = 131, yes.</think><answer>25+(62-37)</answer>", p50],
    ["<think>54+34 = 58, 56+28 = 50, yes.</think><answer>(54+34)-28</answer>", { nums: [54, 28, 34], target: 60 }],
    ["<think>96+62 = 158, 158-31 = 137, yes.</think><answer>(96+62)-31</answer>", { nums: [31, 62, 96], target: 127 }],
    ["<think>62-37 = 25, 25+25 = 50, 50 = 51, yes.</think><answer>25+62-37</answer>", p50],
    ["<think>So (62-37)+25 = 51.</think><answer>(62-37)+25</answer>", p50],
  ];
  for (const [c, ex] of lines) {
    assert.equal(countdownStrictReward(c, ex), 1, c);
    assert.equal(countdownCheckedReward(c, ex), 0, c);
  }
});

test("countdown_checked: honest searches, with rejected checks, dead ends and backtracks, earn 1 when right", () => {
  const right: [string, { nums: number[]; target: number }][] = [
    ["<think>62-37 = 25, 25+25 = 50. Got it.</think><answer>25+62-37</answer>", p50],
    ["<think>37+36 = 73, 73-48 = 25, under 47. Another way: 48+36 = 84, 84-37 = 47. 47 = 47, yes.</think><answer>48+36-37</answer>", { nums: [37, 48, 36], target: 47 }],
    ["<think>77-17 = 60; 60-27 = 33. 33 vs 67, no. Start aain. 27-17 = 10; 77-10 = 67. Got it.</think><answer>77-(27-17)</answer>", { nums: [17, 77, 27], target: 67 }],
    ["<think>25+4 = 29, no good. 25*3 = 75, 75+4 = 79, 79-1 = 78, 78 = 76, no. Back to 75: 75+1 = 76, but 4 is left over. "
      + "25-1 = 24, 24*3 = 72, 72+4 = 76, 76 = 76.</think><answer>(25-1)*3+4</answer>", { nums: [25, 1, 3, 4], target: 76 }],
    ["<think>62+37 = 99, 99 = 50? no. 62-37 = 25; so 62-37+25 = 50</think><answer>25+62-37</answer>", p50],
    ["<think>no arithmetic at all</think><answer>25+62-37</answer>", p50],
  ];
  for (const [c, ex] of right) assert.equal(countdownCheckedReward(c, ex), 1, c);
  // honest but wrong, or no answer: 0, as strict; no numbers or target: null, as strict
  assert.equal(countdownCheckedReward("<think>62-37 = 25, 25*25 = 625</think><answer>25*(62-37)</answer>", p50), 0);
  assert.equal(countdownCheckedReward("<think>62-37 = 25, 25+25 = 50</think>", p50), 0);
  assert.equal(countdownCheckedReward("<think>62-37 = 25</think><answer>25+62-37</answer>", { nums: [62, 37, 25] }), null);
  assert.equal(countdownCheckedReward("<think>62-37 = 25</think><answer>25+62-37</answer>", {}), null);
});

test("countdown_checked: odd and malformed text never throws, and 100,000 characters are judged fast", () => {
  const before = guardStats.exceptions;
  const odd = ["", "=", "= = =", "<think>", "</think></think>", "<answer>", "1/0 = 0 <answer>1</answer>", "9".repeat(40) + "+1 = 2", "3+5 = " + "9".repeat(40),
    "(".repeat(5000) + "1+1 = 2", "3+5 = 8".repeat(3000), "\u0000=\u0000", "−–×÷·xX = 1", "1e5+1 = 100001", "NaN = NaN", "Infinity = 1/0"];
  for (const c of [...odd, ...Array.from({ length: 2000 }, (_, i) => fuzzString(i))]) {
    const v = countdownCheckedReward(c, p50);
    assert.ok(v === 0 || v === 1, `${v} for ${JSON.stringify(c.slice(0, 80))}`);
  }
  assert.equal(countdownCheckedReward(42 as unknown as string, p50), null);
  assert.equal(guardStats.exceptions - before, 0, `a statement made the reward throw: ${String(guardStats.lastError)}`);
  // the most any reward reads: 100,000 characters of steps, true and false (a quadratic scan would take minutes)
  countdownCheckedReward("<think>62-37 = 25</think><answer>25+62-37</answer>", p50);
  for (const unit of ["62-37 = 25, 25+25 = 50, ", "62-37 = 26, 99 = 98, no, "]) {
    const c = "<think>" + unit.repeat(Math.ceil(100_000 / unit.length)) + "</think><answer>25+62-37</answer>";
    const t = performance.now();
    const v = countdownCheckedReward(c, p50);
    const ms = performance.now() - t;
    assert.equal(v, unit.includes("26") ? 0 : 1);
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms for ${c.length} characters`);
  }
});

test("countdown_checked is in the registry beside countdown_strict and scores batches", async () => {
  const names = listRewards().map(r => r.name);
  assert.equal(names.indexOf("countdown_checked"), names.indexOf("countdown_strict") + 1);
  assert.ok(getReward("countdown_checked").sync);
  assert.deepEqual(await scoreBatch("countdown_checked", ["<think>62-37 = 25</think><answer>25+62-37</answer>", "<think>62-37 = 1</think><answer>25+62-37</answer>"], [p50, p50]), [1, 0]);
});

test("recipes/experiments/countdown-checked.yaml: r1-zero-countdown with countdown_checked as the training reward, held-out accuracy still strict", async () => {
  const f = "recipes/experiments/countdown-checked.yaml";
  const r = await runCli(["train", f, "--dry-run"]);
  assert.equal(r.error, undefined, `${f}: ${r.error?.message}`);
  const checked = readRecipe(f) as Record<string, any>;
  const base = readRecipe("recipes/r1-zero-countdown.yaml") as Record<string, any>;
  assert.deepEqual(checked.grpo.reward_funcs, ["countdown_checked", "format"]);
  assert.equal(checked.accuracy_reward, "countdown_strict", "the held-out figures stay comparable with the run they are measured against");
  for (const name of [...checked.grpo.reward_funcs, checked.accuracy_reward, checked.format_reward]) assert.ok(getReward(name));
  // nothing else differs: the same task, held-out set, base, budget and GRPO settings
  assert.deepEqual({ ...checked, grpo: { ...checked.grpo, reward_funcs: base.grpo.reward_funcs } }, base);
});
