// Generations → OpenAI response objects (completions and chat, whole and streamed chunks).
import type { FinishReason, Generation, TopLogprob } from "../sample/generate.js";
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

/** JSON has no -Infinity: a token the model rules out entirely is reported at -9999 (vLLM's floor). */
const finite = (x: number) => Math.max(x, -9999);

/**
 * Legacy completions log-probs: one entry per generated token (EOS included). With `top` (logprobs: N > 0),
 * `top_logprobs` holds per position a {token: logprob} object of the N most likely tokens, most likely first, plus
 * the sampled token when it is not among them (OpenAI: "up to logprobs + 1 elements"); else null. Two ids that
 * decode to the same text share a key: the more likely one's log-prob is kept (return_tokens_as_token_ids avoids
 * that). A streamed chunk passes its tokens and the text offset its first token starts at.
 */
export function completionLogprobs(ids: readonly number[], logprobs: readonly number[], t: TokenNaming, at = 0, top?: readonly (readonly TopLogprob[])[]) {
  const tokens = ids.map(id => tokenName(id, t));
  const text_offset: number[] = [];
  for (const s of tokens) { text_offset.push(at); at += t.asIds ? 0 : s.length; }
  const top_logprobs = top ? ids.map((id, i) => {
    const d: Record<string, number> = {};
    for (const a of top[i]) { const k = tokenName(a.token, t); if (!(k in d)) d[k] = finite(a.logprob); }
    if (!top[i].some(a => a.token === id) && !(tokens[i] in d)) d[tokens[i]] = finite(logprobs[i]);
    return d;
  }) : null;
  return { tokens, token_logprobs: [...logprobs], top_logprobs, text_offset };
}

/**
 * Chat log-probs: {content: [{token, logprob, bytes, top_logprobs}]}, `top_logprobs` the N most likely tokens at
 * that position ([] without top_logprobs); a streamed chunk holds its own token.
 */
export function chatLogprobs(ids: readonly number[], logprobs: readonly number[], t: TokenNaming, top?: readonly (readonly TopLogprob[])[]) {
  const entry = (id: number, logprob: number) => {
    const token = tokenName(id, t);
    return { token, logprob, bytes: [...Buffer.from(token, "utf8")] };
  };
  return {
    content: ids.map((id, i) => ({ ...entry(id, logprobs[i]), top_logprobs: top ? top[i].map(a => entry(a.token, finite(a.logprob))) : [] })),
    refusal: null,
  };
}

export function usage(promptTokens: number, gens: readonly Generation[]) {
  const completion = gens.reduce((s, g) => s + g.ids.length, 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
}
