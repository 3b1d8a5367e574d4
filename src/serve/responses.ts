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

/** Legacy completions log-probs: one entry per generated token (EOS included), sampled token only. */
export function completionLogprobs(g: Generation, t: TokenNaming) {
  const tokens = g.ids.map(id => tokenName(id, t));
  const text_offset: number[] = [];
  let at = 0;
  for (const s of tokens) { text_offset.push(at); at += t.asIds ? 0 : s.length; }
  return { tokens, token_logprobs: g.logprobs, top_logprobs: null, text_offset };
}

/** Chat log-probs: {content: [{token, logprob, bytes, top_logprobs: []}]}. */
export function chatLogprobs(g: Generation, t: TokenNaming) {
  return {
    content: g.ids.map((id, i) => {
      const token = tokenName(id, t);
      return { token, logprob: g.logprobs[i], bytes: [...Buffer.from(token, "utf8")], top_logprobs: [] };
    }),
    refusal: null,
  };
}

export function usage(promptTokens: number, gens: readonly Generation[]) {
  const completion = gens.reduce((s, g) => s + g.ids.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}
