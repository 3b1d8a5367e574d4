// Math answer equivalence: extraction → normalisation → parsing → comparison (see src/rewards/math/).
import { safe, field } from "./guard.js";
import { answerCandidates, boxedSpans, latexSpans, MAX_ANSWER_CHARS, type ExtractOptions } from "./math/extract.js";
import { clearParseDeadline, parseAnswer, setParseDeadline, type MathValue } from "./math/parse.js";
import { equivalent, type CompareOptions } from "./math/compare.js";
import { normalizeAnswer, plainNumber } from "./math/normalize.js";
import { warmLatexParser } from "./math/latex.js";
import type { RewardExample, RewardFn } from "./types.js";

export interface MathOptions extends CompareOptions {
  /** Options for reading the prediction (the gold answer is read with think-awareness off). */
  extract?: ExtractOptions;
}

/** First candidate of a text that parses, with the string it came from. */
export function parseFirst(text: string, opts: ExtractOptions): { value: MathValue; source: string } | undefined {
  for (const c of answerCandidates(text, opts)) {
    const value = parseAnswer(c);
    if (value) return { value, source: c };
  }
  return undefined;
}

/** A gold answer: a bare string ("x^2+1", "[0,1)", "1,22") is read whole; otherwise like a completion. */
export function parseGold(gold: string): { value: MathValue; source: string } | undefined {
  const t = gold.trim();
  if (t.length <= MAX_ANSWER_CHARS && latexSpans(t).length === 0 && boxedSpans(t).length === 0 && !/final answer/i.test(t)) {
    const whole = /^-?[\d., ]+$/.test(t) ? plainNumber(t) : t;
    const value = parseAnswer(whole);
    if (value) return { value, source: whole };
  }
  return parseFirst(gold, { thinkAware: false });
}

/** Detailed verdict: reward plus what was extracted, for `move37 verify` and debugging. */
export interface MathVerdict {
  reward: number | null;
  gold?: string;
  pred?: string;
  reason?: string;
}

/** Compares a completion with a gold answer; returns the verdict with the extracted strings. */
export function verifyMath(completion: string, gold: string, options: MathOptions = {}): MathVerdict {
  warmLatexParser();
  setParseDeadline(PARSE_BUDGET_MS);
  try {
    return verifyParsed(completion, gold, options);
  } finally {
    clearParseDeadline();
  }
}

/** Parsing time one verification may spend (ms); later parses fail, so the answer scores 0. */
const PARSE_BUDGET_MS = 2000;

function verifyParsed(completion: string, gold: string, options: MathOptions): MathVerdict {
  const g = parseGold(gold);
  if (!g) return { reward: null, reason: "gold answer does not parse" };
  const candidates = answerCandidates(completion, options.extract ?? {});
  if (candidates.length === 0) return { reward: 0, gold: g.source, reason: "no answer found in completion" };
  const goldNorm = normalizeAnswer(g.source).replace(/\s+/g, "");
  for (const c of candidates) {
    if (normalizeAnswer(c).replace(/\s+/g, "") === goldNorm) return { reward: 1, gold: g.source, pred: c };
    const p = parseAnswer(c);
    if (!p) continue;
    return { reward: equivalent(g.value, p, options) ? 1 : 0, gold: g.source, pred: c };
  }
  return { reward: 0, gold: g.source, pred: candidates[0], reason: "answer does not parse" };
}

/**
 * Math accuracy reward: 1 when the completion's final answer equals `example.answer`, 0 when not,
 * null when the gold answer cannot be parsed (the sample is skipped, never scored 1).
 *
 * Worked example:
 *   mathReward("... so the total is \\boxed{\\dfrac{3}{4}}", { answer: "0.75" })      // 1
 *   mathReward("<think>maybe 5</think><answer>x = 4</answer>", { answer: "4" })    // 1
 *   mathReward("<think>\\boxed{4}</think><answer>5</answer>", { answer: "4" })     // 0 (the think does not count)
 *   mathReward("\\boxed{4}", { answer: "\\text{see figure}" })                    // 0, text differs
 *   mathReward("\\boxed{4}", { answer: "" })                                       // null
 */
export function makeMathReward(options: MathOptions = {}): RewardFn {
  return safe((completion: string, example: RewardExample) => {
    const gold = field(example, "answer");
    if (gold === undefined) return null;
    return verifyMath(completion, gold, options).reward;
  });
}

export const mathReward: RewardFn = makeMathReward();
