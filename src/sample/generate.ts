import type { CausalLM } from "../model/types.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatRenderOptions } from "../tokenizer/chat-template.js";
import type { SamplingOptions } from "./options.js";
import { DecodeEngine, type Generation, type TokenEvent } from "./engine.js";

export { GenerationError, PREFILL_CHUNK_TOKENS, type FinishReason, type Generation, type TokenEvent } from "./engine.js";

/**
 * Batched generation with the KV cache and continuous batching (see engine.ts). At most `batchSize` rows decode
 * together; when one finishes, the next waiting row (prompt-major: prompt 0's samples first) is prefilled — or forks
 * a prefill its prompt already had — and joins the running batch at the next step. Prompts of different lengths are
 * left-padded (valid = 0) into one prefill; rows with the same prompt ids (numReturnSequences samples, or a prompt
 * given twice) share one prefill whose cache rows are forked. A row finishes on an EOS id, a stop string, or
 * maxNewTokens, and leaves the cache (`keep`). Results are in prompt-major order. Each sequence samples from its own
 * seeded stream, so a seeded run gives the same completions whatever the batch size; with `seeds`, prompt i's
 * samples get the streams a call on prompt i alone with seed seeds[i] gives them.
 */
export function generate(model: CausalLM, tokenizer: Tokenizer, prompts: readonly (readonly number[])[],
  options: SamplingOptions, onToken?: (e: TokenEvent) => void): Generation[] {
  const batchSize = options.batchSize ?? 256;
  const rows = prompts.length * (options.numReturnSequences ?? 1);
  // every row in the first batch: nothing joins later, so the cache needs no spare slots
  const engine = new DecodeEngine(model, tokenizer, { batchSize, slack: rows <= batchSize ? 0 : undefined });
  let out: Generation[] | null = null;
  engine.add({ prompts, options, onToken, done: g => { out = g; } });
  engine.drain();
  return out!;
}

/**
 * Prompt text → ids. With `chat`, the text is the user's message rendered through the chat template (which holds
 * any BOS itself); without, the raw text is encoded with the tokenizer's own special tokens.
 */
export function encodePrompt(tokenizer: Tokenizer, text: string, chat?: ChatRenderOptions | false): number[] {
  if (!chat) return tokenizer.encode(text);
  return tokenizer.encode(renderChat(tokenizer, [{ role: "user", content: text }], chat), { addSpecialTokens: false });
}
