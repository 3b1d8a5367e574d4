import { z } from "zod";
import type { CausalLM, KVCache } from "../model/types.js";
import type { Backend } from "../engine/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { DecodeStream } from "../tokenizer/decode-stream.js";
import { renderChat, type ChatRenderOptions } from "../tokenizer/chat-template.js";
import { SamplingOptionsSchema, type SamplingOptions, type ResolvedSamplingOptions } from "./options.js";
import { TokenPicker, type TopLogprob } from "./pick.js";

export type { TopLogprob } from "./pick.js";
import { Rng } from "../rng.js";

export type FinishReason = "stop" | "eos" | "length";

export interface Generation {
  /** Which prompt this completes, and which of its numReturnSequences samples it is. */
  prompt: number;
  sample: number;
  /** Generated ids, including the EOS token or the tokens that spelled a stop string. */
  ids: number[];
  /** Completion text: no EOS, cut before a stop string, special tokens skipped unless asked. */
  text: string;
  /** [ids.length] log-probs under log softmax(logits / temperature), see `Picked.logprob`. */
  logprobs: number[];
  /** With `topLogprobs: N`: per generated token, the N most likely ids and their log-probs (see `Picked.top`). */
  topLogprobs?: TopLogprob[][];
  finishReason: FinishReason;
}

/**
 * One generated token; `text` is the new printable text (may be "" while UTF-8 or a possible stop string is pending);
 * `logprob` is the token's entry in `Generation.logprobs`.
 */
export interface TokenEvent {
  prompt: number; sample: number; token: number; logprob: number; text: string; finishReason: FinishReason | null;
  /** With `topLogprobs`: this position's entry of `Generation.topLogprobs`. */
  top?: TopLogprob[];
}

export class GenerationError extends Error {
  constructor(message: string) { super(message); this.name = "GenerationError"; }
}

interface Row {
  prompt: number; sample: number; promptIds: readonly number[];
  ids: number[]; logprobs: number[]; top: TopLogprob[][] | null; text: string; emitted: number;
  finishReason: FinishReason | null; rng: Rng; stream: DecodeStream; seen: Set<number> | null;
}

/**
 * Batched generation with the KV cache. Prompts of different lengths are left-padded (valid = 0) into one prefill,
 * then every step feeds each unfinished row its last token. Rows with the same prompt ids (numReturnSequences
 * samples, or a prompt given twice) share one prefill whose cache rows are forked. A row finishes on an EOS id, a stop
 * string, or maxNewTokens; finished rows leave the cache (`keep`), so steps shrink as sequences end. Results are in
 * prompt-major order (prompt 0's samples first). Each sequence samples from its own seeded stream, so a seeded run
 * gives the same completions whatever the batch size; with `seeds`, prompt i's samples get the streams a call on
 * prompt i alone with seed seeds[i] gives them.
 */
export function generate(model: CausalLM, tokenizer: Tokenizer, prompts: readonly (readonly number[])[],
  options: SamplingOptions, onToken?: (e: TokenEvent) => void): Generation[] {
  const parsed = SamplingOptionsSchema.safeParse(options);
  if (!parsed.success) throw new GenerationError(`invalid sampling options: ${z.prettifyError(parsed.error)}`);
  const o = parsed.data;
  const V = model.config.vocab_size;
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new GenerationError(`prompt ${i} is empty: give at least one token (e.g. the BOS token)`);
    for (const id of p) if (!Number.isInteger(id) || id < 0 || id >= V) throw new GenerationError(`prompt ${i} holds token id ${id}, outside the model's vocabulary of ${V}: use the model's own tokenizer`);
  });
  const longest = Math.max(0, ...prompts.map(p => p.length));
  if (longest + o.maxNewTokens > model.config.max_position_embeddings) {
    throw new GenerationError(`prompt (${longest} tokens) + maxNewTokens (${o.maxNewTokens}) exceeds the model's max_position_embeddings (${model.config.max_position_embeddings}): shorten the prompt or lower maxNewTokens`);
  }
  if (o.seeds && o.seeds.length !== prompts.length) throw new GenerationError(`seeds holds ${o.seeds.length} seeds for ${prompts.length} prompts: give one seed per prompt`);
  if (o.seeds && o.seed !== undefined) throw new GenerationError("both seed and seeds are set: give one seed for the run, or one per prompt");
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
  const rows: Row[] = [];
  prompts.forEach((promptIds, prompt) => {
    for (let sample = 0; sample < o.numReturnSequences; sample++) {
      rows.push({
        prompt, sample, promptIds, ids: [], logprobs: [], top: o.topLogprobs > 0 ? [] : null, text: "", emitted: 0, finishReason: null,
        rng: o.seeds ? Rng.forStream(o.seeds[prompt], sample) : Rng.forStream(seed, rows.length),
        stream: new DecodeStream(tokenizer, { skipSpecialTokens: o.skipSpecialTokens }),
        seen: o.repetitionPenalty !== 1 ? new Set(promptIds) : null,
      });
    }
  });
  const eos = new Set(o.eosTokenIds ?? [tokenizer.eosId, model.config.eos_token_id].filter((x): x is number => x !== null));
  const picker = new TokenPicker(V, Math.min(V, tokenizer.vocabSize), o);
  for (let start = 0; start < rows.length; start += o.batchSize) {
    decodeRows(model, rows.slice(start, start + o.batchSize), o, eos, picker, tokenizer.padId ?? 0, onToken);
  }
  return rows.map(({ prompt, sample, ids, text, logprobs, top, finishReason }) =>
    ({ prompt, sample, ids, text, logprobs, ...(top ? { topLogprobs: top } : {}), finishReason: finishReason! }));
}

function decodeRows(model: CausalLM, rows: Row[], o: ResolvedSamplingOptions, eos: Set<number>, picker: TokenPicker,
  padId: number, onToken?: (e: TokenEvent) => void) {
  const V = model.config.vocab_size;
  // each distinct prompt is prefilled once; src[b] is row b's prefill row
  const index = new Map<string, number>(), distinct: (readonly number[])[] = [];
  const src = rows.map(r => {
    const key = r.promptIds.join();
    let i = index.get(key);
    if (i === undefined) { i = distinct.length; index.set(key, i); distinct.push(r.promptIds); }
    return i;
  });
  const T = Math.max(...distinct.map(p => p.length));
  // Room for every row from the start: the prefill uses the first P rows, and the fork spreads them in place.
  const cache = model.newCache(rows.length, T + o.maxNewTokens);
  if (distinct.length < rows.length) cache.keep(distinct.map((_, i) => i));
  const tokens = new Int32Array(distinct.length * T).fill(padId);   // [P, T] left-padded prompts
  const valid = new Uint8Array(distinct.length * T);                // [P, T] 0 on padding
  distinct.forEach((p, b) => {
    const off = b * T + T - p.length;
    tokens.set(p, off);
    valid.fill(1, off, (b + 1) * T);
  });
  let logits = prefill(model, cache, tokens, valid, distinct.length, T); // [P, V] at each prompt's last slot
  if (distinct.length < rows.length) {
    cache.fork(src);
    const prefilled = logits;
    logits = new Float32Array(rows.length * V);                     // [B, V]
    src.forEach((i, b) => logits.set(prefilled.subarray(i * V, (i + 1) * V), b * V));
  }
  // greedy: every row's log-sum-exp in one backend pass per step (native: vectorised, threaded) instead of in JS
  const be = o.temperature === 0 ? (model as { backend?: Backend }).backend : undefined;
  const lse = new Float32Array(be ? rows.length : 0), scratch = new Float32Array(lse.length), zeros = new Int32Array(lse.length);
  let active = rows;
  const maxStop = Math.max(0, ...o.stop.map(s => s.length));
  for (;;) {
    const keep: number[] = [];
    be?.logSoftmaxGather(scratch, scratch, lse, logits, zeros, active.length, V, 1);
    active.forEach((r, b) => {
      const { token, logprob, top } = picker.pick(logits.subarray(b * V, (b + 1) * V), r.seen, r.rng, be ? lse[b] : undefined);
      r.ids.push(token);
      r.logprobs.push(logprob);
      if (top) r.top?.push(top);
      r.seen?.add(token);
      advance(r, token, o, eos, maxStop);
      if (onToken) {
        const safe = r.finishReason ? r.text.length : Math.max(r.emitted, r.text.length - Math.max(0, maxStop - 1));
        onToken({ prompt: r.prompt, sample: r.sample, token, logprob, text: r.text.slice(r.emitted, safe), finishReason: r.finishReason, ...(top ? { top } : {}) });
        r.emitted = safe;
      }
      if (!r.finishReason) keep.push(b);
    });
    if (keep.length === 0) { cache.release?.(); return; }
    if (keep.length < active.length) {
      cache.keep(keep);
      active = keep.map(b => active[b]);
    }
    const next = Int32Array.from(active, r => r.ids[r.ids.length - 1]);
    logits = model.decode(cache, next, new Uint8Array(active.length).fill(1), 1);
  }
}

/**
 * Tokens fed to the model per prefill call. The model's decode scratch grows to the largest call and stays: 64 prompts
 * of 103 tokens at once (the default run's held-out batch) kept 100 MB of it.
 */
export const PREFILL_CHUNK_TOKENS = 1024;

/** Feeds [P, T] left-padded prompts into the cache in column chunks of at most PREFILL_CHUNK_TOKENS tokens. */
function prefill(model: CausalLM, cache: KVCache, tokens: Int32Array, valid: Uint8Array, P: number, T: number): Float32Array {
  const step = Math.max(1, Math.floor(PREFILL_CHUNK_TOKENS / P));
  if (step >= T) return model.decode(cache, tokens, valid, T);
  let logits: Float32Array | null = null;
  for (let t0 = 0; t0 < T; t0 += step) {
    const n = Math.min(step, T - t0), tk = new Int32Array(P * n), ok = new Uint8Array(P * n);
    for (let b = 0; b < P; b++) {
      tk.set(tokens.subarray(b * T + t0, b * T + t0 + n), b * n);
      ok.set(valid.subarray(b * T + t0, b * T + t0 + n), b * n);
    }
    logits = model.decode(cache, tk, ok, n); // the last chunk ends at every prompt's last token
  }
  return logits!;
}

/** Appends a token's text and decides whether the row is done. */
function advance(r: Row, token: number, o: ResolvedSamplingOptions, eos: Set<number>, maxStop: number) {
  if (eos.has(token)) {
    r.finishReason = "eos";
    appendText(r, r.stream.flush(), o.stop, maxStop);
    return;
  }
  appendText(r, r.stream.push(token), o.stop, maxStop);
  if (!r.finishReason && r.ids.length >= o.maxNewTokens) {
    r.finishReason = "length";
    appendText(r, r.stream.flush(), o.stop, maxStop);
  }
}

/** Adds text and cuts it before the earliest stop string; only the tail that the new text can complete is searched. */
function appendText(r: Row, delta: string, stop: readonly string[], maxStop: number) {
  if (!delta) return;
  const from = Math.max(0, r.text.length - maxStop + 1);
  r.text += delta;
  let cut = -1;
  for (const s of stop) {
    const i = r.text.indexOf(s, from);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  if (cut >= 0) {
    r.text = r.text.slice(0, cut);
    r.finishReason = "stop";
  }
}

/**
 * Prompt text → ids. With `chat`, the text is the user's message rendered through the chat template (which holds
 * any BOS itself); without, the raw text is encoded with the tokenizer's own special tokens.
 */
export function encodePrompt(tokenizer: Tokenizer, text: string, chat?: ChatRenderOptions | false): number[] {
  if (!chat) return tokenizer.encode(text);
  return tokenizer.encode(renderChat(tokenizer, [{ role: "user", content: text }], chat), { addSpecialTokens: false });
}
