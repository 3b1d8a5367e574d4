/**
 * Plain-text R1-Zero prompts for byte-level tiny models (no chat template, no special tokens).
 *
 *   bare:      "User: 3+7-2+9=? Assistant: <think>"
 *   instructed "User: 3+7-2+9=? Reason in <think> </think>, then answer in <answer> </answer>. Assistant: <think>"
 *
 * Generation continues inside the think block; a well-formed completion is
 *   "3+7-2+9 = 10-2+9 = 8+9 = 17</think><answer>17</answer>"
 * and the sampler stops at "</answer>" (or EOS). The instructed form is the tiny analogue of R1-Zero's
 * template, which also names the tags: a base that has only ever seen other tag names (src/corpus) can copy
 * "<answer>" from the instruction. The corpus never contains this frame, these tags, or this wording.
 * Models with a tokenizer and chat template use src/tokenizer's R1 template instead.
 */
export const TINY_R1_PREFIX = "User: ";
export const TINY_R1_INSTRUCTION = "Reason in <think> </think>, then answer in <answer> </answer>.";
export const TINY_R1_SUFFIX = " Assistant: <think>";

export function tinyR1Prompt(question: string, opts: { instruct?: boolean } = {}): string {
  return `${TINY_R1_PREFIX}${question}${opts.instruct ? ` ${TINY_R1_INSTRUCTION}` : ""}${TINY_R1_SUFFIX}`;
}

/** The prompt opens the think block, so rewards (which expect "<think>…") must see it prepended. */
export const TINY_R1_PREFILL = "<think>";
export const withPrefill = (completion: string): string => TINY_R1_PREFILL + completion;

/** The stop string that ends a tiny R1 completion. */
export const TINY_R1_STOP = "</answer>";
