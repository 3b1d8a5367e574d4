// Gold-answer extractors: a dataset's reference solution → the short answer the math reward compares.
//
//   GSM8K   (openai/gsm8k "answer"):     "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n…\n#### 72"  → "72"
//   MATH    (hendrycks / lighteval "solution"): "… so the answer is $\boxed{\frac{1}{4}}$."              → "\frac{1}{4}"
//   already short (MATH-500 "answer", verl ground_truth): "\frac{1}{4}", "72"                             → unchanged
//
// Each extractor returns undefined when its marker is absent, so the loader can say which row lacks it.
import { lastBoxed } from "../rewards/math/extract.js";

export const ANSWER_EXTRACTORS = ["auto", "gsm8k", "boxed", "none"] as const;
export type AnswerExtractor = (typeof ANSWER_EXTRACTORS)[number];

/**
 * GSM8K: the text after the last "####", thousands separators dropped ("#### 1,600" → "1600"), as verl's
 * gsm8k preprocessing and the GSM8K paper's evaluation do. A trailing period or a leading "$" is dropped too.
 */
export function gsm8kAnswer(solution: string): string | undefined {
  const at = solution.lastIndexOf("####");
  if (at < 0) return undefined;
  let a = solution.slice(at + 4).trim().split("\n")[0].trim();
  if (/^\$?-?[\d,]*\.?\d+\.?$/.test(a)) a = a.replace(/^\$/, "").replace(/,/g, "").replace(/\.$/, "");
  return a === "" ? undefined : a;
}

/** MATH: the content of the last \boxed{…} (or \fbox{…}) group, nested braces kept ("\boxed{\frac{1}{2}}" → "\frac{1}{2}"). */
export function boxedAnswer(solution: string): string | undefined {
  const a = lastBoxed(solution)?.trim();
  return a ? a : undefined;
}

/** Which marker "auto" would use for a text, or "none" when it has neither. */
export function detectAnswerFormat(text: string): "gsm8k" | "boxed" | "none" {
  if (/####/.test(text)) return "gsm8k";
  if (/\\(boxed|fbox)\b/.test(text)) return "boxed";
  return "none";
}

/**
 * The gold answer of a text under an extractor. "auto" uses "####" when present, else \boxed{}, else the text
 * itself when `requireMarker` is false (a short answer column); undefined when the marker it needs is missing.
 *   extractAnswer("…\n#### 1,600", "auto")                 // "1600"
 *   extractAnswer("$\\boxed{\\dfrac{3}{4}}$.", "auto")      // "\\dfrac{3}{4}"
 *   extractAnswer("42", "auto")                            // "42"
 *   extractAnswer("It is 42.", "auto", true)               // undefined: a solution with no marker
 */
export function extractAnswer(text: string, how: AnswerExtractor, requireMarker = false): string | undefined {
  switch (how) {
    case "none": return text.trim();
    case "gsm8k": return gsm8kAnswer(text);
    case "boxed": return boxedAnswer(text);
    case "auto": {
      const f = detectAnswerFormat(text);
      if (f === "gsm8k") return gsm8kAnswer(text);
      if (f === "boxed") return boxedAnswer(text);
      return requireMarker ? undefined : text.trim();
    }
  }
}
