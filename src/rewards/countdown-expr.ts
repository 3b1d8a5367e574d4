// The Countdown expression evaluator: a small recursive-descent parser over + − × ÷ and parentheses with exact
// rational arithmetic (fraction.js); nothing is ever passed to eval. One home for reading arithmetic: the countdown
// rewards judge the <answer> with it, and the process check (src/eval/search-behaviour.ts) the reasoning's statements.
import Fraction from "fraction.js";

/** Longest expression evaluated (characters); longer ones are unreadable. */
export const MAX_EXPR_CHARS = 256;
const MAX_NEST = 32;
/** The operator characters the evaluator reads: + − × ÷ as ASCII and as people type them (x, X, ·, ×; ÷; −, –). */
export const OPERATOR_CHARS = "+-*/×xX·÷−–";

/** An operator character as the evaluator reads it: + - * / (× x X · are *, ÷ is /, − – are -); others unchanged. */
export const normalizeOperator = (c: string): string => (c === "×" || c === "x" || c === "X" || c === "·" ? "*" : c === "÷" ? "/" : c === "−" || c === "–" ? "-" : c);

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
    const op = normalizeOperator(c);
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
