// Countdown (TinyZero): the expression in <answer> must use each given number exactly once with
// + − × ÷ and parentheses and equal the target. A small recursive-descent parser with exact
// rational arithmetic (fraction.js) evaluates it; nothing is ever passed to eval.
import Fraction from "fraction.js";
import { safe } from "./guard.js";
import { answerTag, stripThink } from "./math/extract.js";
import type { RewardExample, RewardFn } from "./types.js";

const MAX_EXPR_CHARS = 256;
const MAX_NEST = 32;

type Token = { kind: "num"; value: bigint; text: string } | { kind: "op"; op: string };

function tokenize(s: string): Token[] | undefined {
  const out: Token[] = [];
  for (let i = 0; i < s.length;) {
    const c = s[i];
    if (c === " " || c === "\t" || c === "\n") { i++; continue; }
    if (c >= "0" && c <= "9") {
      let j = i;
      while (j < s.length && s[j] >= "0" && s[j] <= "9") j++;
      if (j - i > 12) return undefined;
      out.push({ kind: "num", value: BigInt(s.slice(i, j)), text: s.slice(i, j) });
      i = j;
      continue;
    }
    const op = c === "×" || c === "x" || c === "X" || c === "·" ? "*" : c === "÷" ? "/" : c === "−" || c === "–" ? "-" : c;
    if (!"+-*/()".includes(op)) return undefined;
    out.push({ kind: "op", op });
    i++;
  }
  return out;
}

/** Value of an arithmetic expression and the numbers it used, or undefined when malformed or dividing by zero. */
export function evaluateCountdown(expr: string): { value: Fraction; numbers: bigint[] } | undefined {
  if (expr.length > MAX_EXPR_CHARS) return undefined;
  const tokens = tokenize(expr);
  if (!tokens || tokens.length === 0) return undefined;
  let pos = 0;
  const numbers: bigint[] = [];
  const peek = (): string | undefined => { const t = tokens[pos]; return t?.kind === "op" ? t.op : undefined; };
  const expression = (depth: number): Fraction | undefined => {
    let left = term(depth);
    while (left && (peek() === "+" || peek() === "-")) {
      const op = peek(); pos++;
      const right = term(depth);
      if (!right) return undefined;
      left = op === "+" ? left.add(right) : left.sub(right);
    }
    return left;
  };
  const term = (depth: number): Fraction | undefined => {
    let left = factor(depth);
    while (left && (peek() === "*" || peek() === "/")) {
      const op = peek(); pos++;
      const right = factor(depth);
      if (!right || (op === "/" && right.equals(0))) return undefined;
      left = op === "*" ? left.mul(right) : left.div(right);
    }
    return left;
  };
  const factor = (depth: number): Fraction | undefined => {
    if (depth > MAX_NEST) return undefined;
    const t = tokens[pos];
    if (!t) return undefined;
    if (t.kind === "num") { pos++; numbers.push(t.value); return new Fraction(t.value); }
    if (t.op === "(") {
      pos++;
      const v = expression(depth + 1);
      if (!v || peek() !== ")") return undefined;
      pos++;
      return v;
    }
    return undefined; // unary minus would let "-" create numbers not given
  };
  const value = expression(0);
  if (!value || pos !== tokens.length) return undefined;
  return { value, numbers };
}

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
