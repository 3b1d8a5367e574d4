/**
 * The plain-text R1-Zero prompt for byte-level tiny models (no chat template, no special tokens):
 *
 *   "User: 3+7-2+9=? Assistant: <think>"
 *
 * Generation continues inside the think block; a well-formed completion is
 *   "3+7-2+9 = 10-2+9 = 8+9 = 17</think><answer>17</answer>"
 * and the sampler stops at "</answer>" (or EOS). Models with a tokenizer and chat template use
 * src/tokenizer's R1 template instead. The corpus (src/corpus) never contains this string's frame.
 */
export const TINY_R1_PREFIX = "User: ";
export const TINY_R1_SUFFIX = " Assistant: <think>";

export const tinyR1Prompt = (question: string): string => `${TINY_R1_PREFIX}${question}${TINY_R1_SUFFIX}`;

/** The stop string that ends a tiny R1 completion. */
export const TINY_R1_STOP = "</answer>";
