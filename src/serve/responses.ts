// Generations → OpenAI response objects (completions and chat, whole and streamed chunks).
import type { FinishReason, Generation } from "../sample/generate.js";
import type { Tokenizer } from "../tokenizer/types.js";

/** OpenAI has two finish reasons: an EOS token or a stop string is "stop". */
export const finishReason = (f: FinishReason | null): "stop" | "length" | null => (f === null ? null : f === "length" ? "length" : "stop");

/** vLLM's stop_reason: the stop string that ended the text (null for EOS or length). */
export function stopReason(g: Generation, tokenizer: Tokenizer, stop: readonly string[], skipSpecial: boolean): string | null {
  if (g.finishReason !== "stop") return null;
  const rest = tokenizer.decode(g.ids, { skipSpecialTokens: skipSpecial }).slice(g.text.length);
  return stop.find(s => rest.startsWith(s)) ?? stop.find(s => rest.includes(s)) ?? null;
}

export interface TokenNaming { tokenizer: Tokenizer; asIds: boolean }
const tokenName = (id: number, t: TokenNaming) => (t.asIds ? `token_id:${id}` : t.tokenizer.decode([id]));

/**
 * Legacy completions log-probs: one entry per generated token (EOS included), sampled token only. A streamed
 * chunk passes its tokens and the text offset its first token starts at.
 */
export function completionLogprobs(ids: readonly number[], logprobs: readonly number[], t: TokenNaming, at = 0) {
  const tokens = ids.map(id => tokenName(id, t));
  const text_offset: number[] = [];
  for (const s of tokens) { text_offset.push(at); at += t.asIds ? 0 : s.length; }
  return { tokens, token_logprobs: [...logprobs], top_logprobs: null, text_offset };
}

/** Chat log-probs: {content: [{token, logprob, bytes, top_logprobs: []}]}; a streamed chunk holds its own token. */
export function chatLogprobs(ids: readonly number[], logprobs: readonly number[], t: TokenNaming) {
  return {
    content: ids.map((id, i) => {
      const token = tokenName(id, t);
      return { token, logprob: logprobs[i], bytes: [...Buffer.from(token, "utf8")], top_logprobs: [] };
    }),
    refusal: null,
  };
}

export function usage(promptTokens: number, gens: readonly Generation[]) {
  const completion = gens.reduce((s, g) => s + g.ids.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}
