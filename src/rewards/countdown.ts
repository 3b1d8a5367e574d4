// Countdown (TinyZero): the expression in <answer> must use each given number exactly once with
// + − × ÷ and parentheses and equal the target. A small recursive-descent parser with exact
// rational arithmetic (src/rewards/countdown-expr.ts) evaluates it; nothing is ever passed to eval.
import { evaluateCountdown } from "./countdown-expr.js";
import { falseStatements } from "../eval/search-behaviour.js";
import { safe } from "./guard.js";
import { answerTag, stripThink } from "./math/extract.js";
import type { RewardExample, RewardFn } from "./types.js";

export { evaluateCountdown };

/** The equation text: inside the last <answer> outside <think>, left of any "=". */
export function countdownExpression(completion: string): string | undefined {
  const tagged = answerTag(stripThink(completion));
  if (tagged === undefined) return undefined;
  const expr = tagged.split("=")[0].trim();
  return expr === "" ? undefined : expr;
}

function numbersOf(example: RewardExample): bigint[] | undefined {
  const raw = example.nums ?? example.numbers;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 32) return undefined;
  if (!raw.every(x => Number.isSafeInteger(x))) return undefined;
  return raw.map(x => BigInt(x as number));
}

function sameMultiset(a: bigint[], b: bigint[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort(), sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

/** Verdict for `move37 verify`: correct, formatted-but-wrong, or no equation. */
export function judgeCountdown(completion: string, example: RewardExample): "correct" | "wrong" | "missing" | null {
  const nums = numbersOf(example);
  const target = example.target;
  if (!nums || typeof target !== "number" || !Number.isSafeInteger(target)) return null;
  const expr = countdownExpression(completion);
  if (expr === undefined) return "missing";
  const r = evaluateCountdown(expr);
  if (!r || !sameMultiset(r.numbers, nums)) return "wrong";
  return r.value.equals(target) ? "correct" : "wrong";
}

/**
 * Countdown, TinyZero scheme: 1 for a correct equation, 0.1 for an equation in <answer> that is
 * wrong (bad value, numbers not each used once, malformed), 0 with no <answer>. Needs
 * `example.nums` (or `numbers`) and `example.target`, else null.
 *
 * Worked example:
 *   countdownReward("<answer>(25 - 1) * 3</answer>", { nums: [25, 3, 1], target: 72 })  // 1
 *   countdownReward("<answer>25 * 3</answer>", { nums: [25, 3, 1], target: 72 })        // 0.1 (1 unused)
 *   countdownReward("I think 72", { nums: [25, 3, 1], target: 72 })                     // 0
 */
export const countdownReward: RewardFn = safe((completion, example) => {
  const v = judgeCountdown(completion, example);
  return v === null ? null : v === "correct" ? 1 : v === "wrong" ? 0.1 : 0;
});

/**
 * Countdown, strict 0/1: 1 only for a correct equation.
 *
 * Worked example:
 *   countdownStrictReward("<answer>25 * 3 - 1</answer>", { nums: [25, 3, 1], target: 74 })  // 1
 *   countdownStrictReward("<answer>25 * 3</answer>", { nums: [25, 3, 1], target: 75 })      // 0
 */
export const countdownStrictReward: RewardFn = safe((completion, example) => {
  const v = judgeCountdown(completion, example);
  return v === null ? null : v === "correct" ? 1 : 0;
});

/**
 * Countdown with the process check (issue 19): 1 only when the equation is correct as countdown_strict judges it AND
 * no arithmetic statement of the reasoning is false in exact arithmetic (every `a op b = c`, longer `E = c`, and
 * `x = y` check the writer leaves standing; the rules are arithmeticStatements' in src/eval/search-behaviour.ts);
 * else 0; null without numbers and target. A statement that cannot be read (a decimal, "= 8*2") is not false.
 *
 * Worked example (numbers [62, 37, 25], target 50):
 *   countdownCheckedReward("<think>62-37 = 25, 25+25 = 50. Got it.</think><answer>25+62-37</answer>", ex)      // 1
 *   countdownCheckedReward("<think>62-37 = 1, 25+1 = 131, yes.</think><answer>25+(62-37)</answer>", ex)      // 0: false steps
 *   countdownCheckedReward("<think>62+37 = 99, 99 = 50, no. 62-37 = 25, 25+25 = 50</think><answer>25+62-37</answer>", ex)
 *     // 1: "99 = 50, no" is a check the writer rejects, a true observation
 */
export const countdownCheckedReward: RewardFn = safe((completion, example) => {
  const v = judgeCountdown(completion, example);
  if (v === null) return null;
  return v === "correct" && falseStatements(completion).length === 0 ? 1 : 0;
});
