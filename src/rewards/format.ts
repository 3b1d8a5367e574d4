// R1 output-format rewards. All scans are indexOf-based (no backtracking regex over model text).
// Shared guards: every tag must appear exactly once, in order, and the answer must not be empty,
// so repeated, nested or empty tags never earn the full format reward.
import { safe } from "./guard.js";
import type { RewardFn } from "./types.js";

function count(s: string, sub: string): number {
  let n = 0;
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++;
  return n;
}

const TAGS = ["<think>", "</think>", "<answer>", "</answer>"] as const;

/** Positions of the four R1 tags when each occurs exactly once and in order, else undefined. */
function tagLayout(s: string): number[] | undefined {
  if (TAGS.some(t => count(s, t) !== 1)) return undefined;
  const at = TAGS.map(t => s.indexOf(t));
  return at.every((x, i) => i === 0 || x > at[i - 1]) ? at : undefined;
}

/**
 * R1 strict format (open-r1): exactly "<think>\n…\n</think>\n<answer>\n…\n</answer>" and nothing
 * around it; 1 or 0. The answer must be non-empty.
 *
 * Worked example:
 *   r1StrictFormatReward("<think>\n2+2=4\n</think>\n<answer>\n4\n</answer>", {})   // 1
 *   r1StrictFormatReward("<think>2+2=4</think><answer>4</answer>", {})            // 0 (no newlines)
 */
export const r1StrictFormatReward: RewardFn = safe(completion => {
  const s = completion.replace(/\s+$/, "");
  const at = tagLayout(s);
  if (!at || at[0] !== 0) return 0;
  const ok = s.startsWith("<think>\n") && s.slice(at[1] - 1, at[2] + 9) === "\n</think>\n<answer>\n" && s.endsWith("\n</answer>");
  return ok && s.slice(at[2] + 8, at[3]).trim() !== "" ? 1 : 0;
});

/**
 * R1 lenient format (TRL/open-r1 `format_reward`): "<think>…</think>" then "<answer>…</answer>",
 * whitespace allowed between and around; 1 or 0. The answer must be non-empty.
 *
 * Worked example:
 *   r1FormatReward("<think>2+2=4</think> <answer>4</answer>", {})   // 1
 *   r1FormatReward("<think>a</think><answer></answer>", {})         // 0 (empty answer)
 *   r1FormatReward("<think>a<think>b</think></think><answer>4</answer>", {}) // 0 (nested)
 */
export const r1FormatReward: RewardFn = safe(completion => {
  const s = completion.trim();
  const at = tagLayout(s);
  if (!at || at[0] !== 0 || !s.endsWith("</answer>")) return 0;
  if (s.slice(at[1] + 8, at[2]).trim() !== "") return 0;
  return s.slice(at[2] + 8, at[3]).trim() !== "" ? 1 : 0;
});

/**
 * TRL's `think_format_reward`: 1 when the completion opens with "<think>", closes it once and never
 * reopens it ("<think>…</think>" then anything), else 0.
 *
 * Worked example:
 *   thinkFormatReward("<think>\nhmm\n</think>\nThe answer is 4.", {})   // 1
 *   thinkFormatReward("The answer is 4.", {})                          // 0
 */
export const thinkFormatReward: RewardFn = safe(completion => {
  if (!completion.startsWith("<think>")) return 0;
  return count(completion, "<think>") === 1 && count(completion, "</think>") === 1 ? 1 : 0;
});

/**
 * Tag-count partial credit (open-r1 `tag_count_reward`): 0.25 for each of "<think>\n", "\n</think>\n",
 * "\n<answer>\n", "\n</answer>" present exactly once. The two answer credits need a non-empty answer,
 * so an empty answer earns at most 0.5.
 *
 * Worked example:
 *   tagCountReward("<think>\nx\n</think>\n<answer>\n4\n</answer>", {})   // 1
 *   tagCountReward("<think>\nx\n</think>\nno answer tags", {})            // 0.5
 */
export const tagCountReward: RewardFn = safe(completion => {
  let r = 0;
  if (count(completion, "<think>\n") === 1) r += 0.25;
  if (count(completion, "\n</think>\n") === 1) r += 0.25;
  const open = completion.indexOf("<answer>"), close = completion.indexOf("</answer>");
  const nonEmpty = open >= 0 && close > open && completion.slice(open + 8, close).trim() !== "";
  if (nonEmpty && count(completion, "\n<answer>\n") === 1) r += 0.25;
  if (nonEmpty && count(completion, "\n</answer>") === 1) r += 0.25;
  return r;
});
