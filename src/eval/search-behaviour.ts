/**
 * Search behaviour in countdown completions, counted by rules a script applies without judgment (issue 19): how many
 * distinct lines of search a completion tries, how often it backtracks to an earlier state, checks a result against
 * the target out loud, or abandons a line half way. Logged per 100 completions: per GRPO step (metrics.jsonl
 * `search/*`), before and after RL (report.json), and as curves in the dashboard.
 *
 * The rules. Only the reasoning counts: the text before "</think>" when there is one, with any <answer>…</answer>
 * removed. Its arithmetic statements are read by one scan (arithmeticStatements, below). A **step** is a statement
 * "a op b = c" with op one of + - * / (or × x ÷ −), not part of a longer expression ("3+5*2 = 13" is no step; "5*2 = 10"
 * is; in "3+5 = 8*2 = 16" both "3+5 = 8" and "8*2 = 16" are). Steps are replayed on the numbers: the writer stands at
 * a state (the numbers still to use), starting from the given ones; a step takes a and b from the deepest state of the
 * current line that holds both (the current one if it can) and puts c in their place.
 *   attempts    distinct lines of search: a line starts at the first step and again whenever a step starts from an
 *               earlier state (a restart from the given numbers, or a backtrack); lines with the same steps count once
 *   backtracks  steps that start from an earlier state of the current line other than the given numbers (the line
 *               is cut back to it: "3+5 = 8, 8*2 = 16, too big. Back to 8: 8+2 = 10")
 *   checks      a result compared with the target in words or symbols: a number followed by a comparison (vs, not,
 *               !=, ≠, ==, =, <, >, less/more than, under, over, below, above, short of, instead of, compared to,
 *               equals, matches) and then the target's value or the word "target" ("74, not 72", "16 = 16",
 *               "75 is over the target"); a step's own "= c" is no check
 *   abandoned   lines left for another one while two or more numbers were still unused (a search given up half way)
 *   dead_ends   lines that used every number and missed the target
 *   false_steps statements that are false in exact arithmetic: steps, longer "E = c" and "x = y" checks the writer
 *               does not reject (the process check; the rules are arithmeticStatements'; countdown_checked pays
 *               only completions with none)
 * Steps that no state of the line can take (numbers not available) are counted as `unanchored` and otherwise ignored.
 *
 * Worked example, numbers [3, 5, 2], target 16:
 *   "3*5 = 15, 15+2 = 17, not 16. 3+5 = 8, 8+2 = 10 hmm. Back: 8*2 = 16 = 16"
 *   → attempts 3 (3*5…, 3+5 8+2, 3+5 8*2), backtracks 1 (8*2 from the state [2, 8]), checks 2 ("17, not 16",
 *     "16 = 16"), abandoned 0, dead_ends 2 (17 and 10), false_steps 0
 */

import { evaluateCountdown, MAX_EXPR_CHARS, normalizeOperator, OPERATOR_CHARS } from "../rewards/countdown-expr.js";

export interface SearchCounts {
  attempts: number;
  backtracks: number;
  checks: number;
  abandoned: number;
  dead_ends: number;
  /** Arithmetic statements of the reasoning that are false (the process check, see arithmeticStatements). */
  false_steps: number;
  unanchored: number;
}

export const SEARCH_BEHAVIOURS = ["attempts", "backtracks", "checks", "abandoned", "dead_ends", "false_steps"] as const;

const OP = "[-+*/×x÷−]";
// "\\s*(?:,\\s*)?" and not "\\s*,?\\s*": the two ways to split a run of spaces made a number followed by 100,000 of them
// take 40 s to reject (quadratic backtracking)
const CMP = "vs\\.?|versus|!=|≠|==|=|<|>|≤|≥|not|isn't|less than|more than|under|over|below|above|short of|instead of|compared to|compared with|equals|equal to|matches";
const CHECK = new RegExp(`(?<![\\d)]\\s*${OP}\\s*)(?<![\\d)])(\\d+)\\s*(?:,\\s*)?(?:which\\s+|that\\s+|and\\s+)?(?:is\\s+|it's\\s+)?(?:${CMP})\\s*(?:the\\s+)?(target\\b)?\\s*(?:of\\s+)?(\\d+)?`, "g");

/** The reasoning part of a completion: before "</think>" if present, answers removed. */
export function reasoningText(completion: string): string {
  const end = completion.indexOf("</think>");
  return (end >= 0 ? completion.slice(0, end) : completion).replace(/<answer>[\s\S]*?(<\/answer>|$)/g, " ");
}


/**
 * One arithmetic statement of the reasoning, `left = claimed`: where it is, what it says, and whether it holds.
 *   step        the left side is `a op b` (two numbers, one operator, no parentheses): the counter's step
 *   expression  a longer left side: more operators or parentheses ("(20+79)/3 = 33", "7+93-42 = 58")
 *   comparison  the left side is one number ("52 = 52", "98 = 97, no"), usually a result checked against the target
 */
export interface ArithmeticStatement {
  kind: "step" | "expression" | "comparison";
  /** The left side as written (trimmed). */
  left: string;
  /** The integer written right after "=", when there is one. */
  claimed: number | undefined;
  /** Offsets in the text: the left side's first character, and the end of the claimed number. */
  start: number;
  end: number;
  /** For a step: its operands, operator (+ - * /) and result, as the counter replays them. */
  step?: { a: number; op: string; b: number; c: number };
  /**
   * The verdict: true or false in exact arithmetic (what the writer leaves standing, see the rules), undefined when
   * the statement cannot be read (a decimal, "= 8*2", a negative operand, a left side the evaluator refuses).
   */
  holds: boolean | undefined;
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9";
const isSpace = (c: string | undefined) => c === " " || c === "\t" || c === "\n" || c === "\r";
const isOp = (c: string | undefined) => c !== undefined && c.length === 1 && OPERATOR_CHARS.includes(c);
const isMinus = (c: string | undefined) => c === "-" || c === "−" || c === "–";
const isLetter = (c: string | undefined) => c !== undefined && /\p{L}/u.test(c);
// the writer rejects a comparison ("98 = 97, no"), or leaves it an open question ("98 = 97? Hmm", not "98 = 97? yes");
// a step's result is rejected only at once, with a question ("54+34 = 58? No")
const REJECTS = /\b(?:no|not|nope|wrong|false|incorrect|isn't|never)\b|✗/i;
const ASKED = /^\s*\?/;
const AFFIRMS = /\b(?:yes|yep|yeah|right|correct|true|exactly|matches|got it)\b|✓/i;
const QUESTIONED = /^\s*\?\s*(?:no|not|nope|wrong|false|incorrect)\b/i;

/** The left side of the "=" at p: its start, numbers, operators and parentheses; null for none, "bad" when unreadable. */
function readLeft(t: string, p: number): { start: number; nums: number; ops: number; parens: boolean } | null | "bad" {
  let i = p - 1, start = p, expectOperand = true, depth = 0, nums = 0, ops = 0, parens = false, lastOp = -1;
  for (;;) {
    while (i >= 0 && isSpace(t[i]) && p - i <= MAX_EXPR_CHARS) i--;
    if (i < 0) break;
    if (p - i > MAX_EXPR_CHARS) return "bad";
    const c = t[i];
    if (expectOperand) {
      if (isDigit(c)) {
        let j = i;
        while (j > 0 && isDigit(t[j - 1])) j--;
        if ((t[j - 1] === "." || t[j - 1] === ",") && isDigit(t[j - 2])) return "bad"; // 2.5, 1,000
        nums++; start = j; i = j - 1; expectOperand = false;
        continue;
      }
      if (c === ")") { depth++; parens = true; start = i; i--; continue; }
      break;
    }
    if (isOp(c)) {
      if ((c === "x" || c === "X") && isLetter(t[i - 1])) break; // the end of a word ("six", "max"), not a times sign
      ops++; lastOp = i; i--; expectOperand = true;
      continue;
    }
    if (c === "(" && depth > 0) { depth--; start = i; i--; continue; }
    break; // a number juxtaposed ("9 3+5"), an unmatched "(", a letter, punctuation: the left side starts here
  }
  if (nums === 0) return null;
  if (depth !== 0) return "bad";
  if (expectOperand) {
    // an operator with nothing on its left: a negative number ("-3+5") is unreadable; a dash or bullet in prose
    // ("Another way - 3+5", "* 3+5") is not part of the statement
    if (isMinus(t[lastOp]) && (isDigit(t[lastOp + 1]) || t[lastOp + 1] === "(")) return "bad";
    ops--;
  }
  return { start, nums, ops, parens };
}

/**
 * Every arithmetic statement `left = c` in a text (the reasoning), in order, read by one scan over its "=" signs
 * (linear in the text: each left side is read back to the previous "=" at most, and at most 256 characters).
 * The rules (docs/countdown.md, "The process check"):
 *   - a statement is an "=" (or "==") with a left side the Countdown evaluator reads (numbers, + − × ÷, parentheses)
 *     and an integer right after it; "<=", ">=", "!=", "=>" are no statements;
 *   - unreadable, so neither true nor false: a left side with a negative number or a decimal ("-3+5", "2.5*2"), a
 *     right side that is not a whole integer ("= 3.5", "= 1,000", "= 8*2", "= ?"); a chain "3+5 = 8 = 8" reads as
 *     the step "3+5 = 8" and the comparison "8 = 8";
 *   - a step or expression holds when its left side equals c exactly (fractions kept: "7/2*4 = 14" holds), whatever
 *     follows ("20+82 = 102, no." is a true step and a miss), unless the writer asks and rejects it at once
 *     ("54+34 = 58? No, 88": a corrected slip);
 *   - a comparison "x = y" holds when x = y, and also when the writer rejects it in the words that follow, before
 *     the next number ("98 = 97, no", "98 = 97? not quite": a true observation that they differ), or only asks it
 *     ("98 = 97? Hmm."); "130 = 13, yes.", "130 = 13." and "130 = 13? yes" do not hold.
 */
export function arithmeticStatements(text: string): ArithmeticStatement[] {
  const out: ArithmeticStatement[] = [];
  for (let p = text.indexOf("="); p >= 0; p = text.indexOf("=", p + 1)) {
    const prev = text[p - 1];
    if (prev === "<" || prev === ">" || prev === "!" || prev === "=" || prev === "≤" || prev === "≥") continue;
    let q = p + 1;
    if (text[q] === "=") q++;
    if (text[q] === ">") continue;
    const left = readLeft(text, p);
    if (left === null) continue;
    // the right side: an integer (a minus sign for a negative result), which must end the statement
    let k = q;
    while (k < text.length && isSpace(text[k]) && k - q < MAX_EXPR_CHARS) k++;
    const negative = isMinus(text[k]) && isDigit(text[k + 1]);
    if (negative) k++;
    let e = k;
    while (e < text.length && isDigit(text[e])) e++;
    const digits = e - k;
    const claimed = digits > 0 && digits <= 12 ? (negative ? -1 : 1) * Number(text.slice(k, e)) : undefined;
    const whole = claimed !== undefined && !((text[e] === "." || text[e] === ",") && isDigit(text[e + 1])); // not 3.5, 1,000
    let goesOn = false; // "= 8*2": the right side is an expression
    let f = e;
    while (text[f] === " " || text[f] === "\t") f++;
    if (isOp(text[f]) && !isLetter(text[f + 1])) {
      let g = f + 1;
      while (text[g] === " " || text[g] === "\t") g++;
      goesOn = isDigit(text[g]) || text[g] === "(";
    }
    const readable = whole && !goesOn && left !== "bad";
    const start = left === "bad" ? p : left.start;
    const leftText = text.slice(start, p).trim();
    const kind: ArithmeticStatement["kind"] = left === "bad" ? "expression" : left.ops === 0 ? "comparison"
      : left.nums === 2 && left.ops === 1 && !left.parens ? "step" : "expression";
    const s: ArithmeticStatement = { kind, left: leftText, claimed, start, end: Math.max(e, q), holds: undefined };
    // the counter replays a step from its first result even when the right side goes on ("3+5 = 8*2" steps to 8)
    if (kind === "step" && whole && left !== "bad" && claimed! >= 0) {
      const m = /^(\d+)\s*(\S)\s*(\d+)$/.exec(leftText);
      if (m) s.step = { a: Number(m[1]), op: normalizeOperator(m[2]), b: Number(m[3]), c: claimed };
    }
    // a comparison's left side is one integer (read as the evaluator reads it, compared without building fractions)
    const value = !readable ? undefined : kind === "comparison" && /^\d{1,12}$/.test(leftText) ? Number(leftText) : evaluateCountdown(leftText)?.value;
    if (value !== undefined && claimed !== undefined) {
      if (typeof value === "number" ? value === claimed : value.equals(claimed)) s.holds = true;
      else {
        let w = e;
        while (w < text.length && w - e < 40 && !isDigit(text[w]) && text[w] !== "=" && text[w] !== "\n") w++;
        const after = text.slice(e, w);
        s.holds = kind === "comparison" ? REJECTS.test(after) || (ASKED.test(after) && !AFFIRMS.test(after)) : QUESTIONED.test(after);
      }
    }
    out.push(s);
  }
  return out;
}

/** The statements of a completion's reasoning that are false (see arithmeticStatements); none is a clean process. */
export function falseStatements(completion: string): ArithmeticStatement[] {
  return arithmeticStatements(reasoningText(completion)).filter(s => s.holds === false);
}

/** Removes a and b from a state (a multiset), or null when it does not hold both. */
function take(state: readonly number[], a: number, b: number): number[] | null {
  const rest = [...state];
  const i = rest.indexOf(a);
  if (i < 0) return null;
  rest.splice(i, 1);
  const j = rest.indexOf(b);
  if (j < 0) return null;
  rest.splice(j, 1);
  return rest;
}

/** The counts of one completion (see the rules above). */
export function searchBehaviour(completion: string, numbers: readonly number[], target: number): SearchCounts {
  const text = reasoningText(completion);
  const counts: SearchCounts = { attempts: 0, backtracks: 0, checks: 0, abandoned: 0, dead_ends: 0, false_steps: 0, unanchored: 0 };
  // the current line: its states (path[0] = the given numbers) and the steps between them
  let path: number[][] = [[...numbers]];
  let steps: string[] = [];
  const lines = new Set<string>();
  const leave = () => {
    if (steps.length === 0) return;
    lines.add(steps.join(" "));
    if (path[path.length - 1].length >= 2) counts.abandoned++;
  };
  for (const st of arithmeticStatements(text)) {
    if (st.holds === false) counts.false_steps++;
    if (!st.step) continue;
    const { a, op, b, c } = st.step;
    let j = path.length - 1;
    let rest: number[] | null = null;
    for (; j >= 0; j--) if ((rest = take(path[j], a, b))) break;
    if (!rest) { counts.unanchored++; continue; }
    if (j < path.length - 1) {
      leave();
      if (j > 0) counts.backtracks++;
      path = path.slice(0, j + 1);
      steps = steps.slice(0, j);
    }
    const key = op === "+" || op === "*" ? `${Math.min(a, b)}${op}${Math.max(a, b)}=${c}` : `${a}${op}${b}=${c}`;
    path.push([...rest, c]);
    steps.push(key);
    if (path[path.length - 1].length === 1 && c !== target) counts.dead_ends++;
  }
  if (steps.length > 0) lines.add(steps.join(" "));
  counts.attempts = lines.size;
  for (const m of text.matchAll(CHECK)) if (m[2] !== undefined || (m[3] !== undefined && Number(m[3]) === target)) counts.checks++;
  return counts;
}

/** One completion to count: its text and its problem's numbers and target. */
export interface SearchSample { completion: string; numbers: readonly number[]; target: number }

/** Counts per 100 completions, under the metric names `search/<behaviour>` (empty when there are none). */
export function searchMetrics(samples: readonly SearchSample[]): Record<string, number> {
  if (samples.length === 0) return {};
  const total: Record<string, number> = Object.fromEntries(SEARCH_BEHAVIOURS.map(k => [k, 0]));
  for (const s of samples) {
    const c = searchBehaviour(s.completion, s.numbers, s.target);
    for (const k of SEARCH_BEHAVIOURS) total[k] += c[k];
  }
  return Object.fromEntries(SEARCH_BEHAVIOURS.map(k => [`search/${k}`, (100 * total[k]) / samples.length]));
}

/** The countdown problems among examples paired with their completions (rows without numbers and target are skipped). */
export function countdownSamples(completions: readonly string[], examples: readonly { numbers?: number[]; target?: number }[]): SearchSample[] {
  const out: SearchSample[] = [];
  completions.forEach((completion, i) => {
    const ex = examples[i];
    if (ex?.numbers && typeof ex.target === "number") out.push({ completion, numbers: ex.numbers, target: ex.target });
  });
  return out;
}

/** Index of the first sample that backtracks or restarts after a failed try (a backtrack, and a dead end or an abandoned line), or -1. */
export function firstBacktrack(samples: readonly SearchSample[]): number {
  return samples.findIndex(s => {
    const c = searchBehaviour(s.completion, s.numbers, s.target);
    return c.backtracks > 0 && c.dead_ends + c.abandoned > 0;
  });
}
