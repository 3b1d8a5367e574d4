/**
 * SFT data: JSONL rows → token ids with a loss mask → length-grouped, right-padded batches.
 *
 *   {"prompt": "User: 2+3=? Assistant: <think>", "completion": "2+3 = 5</think><answer>5</answer>"}
 *   {"messages": [{"role": "user", "content": "2+3=?"}, {"role": "assistant", "content": "<think>…</think><answer>5</answer>"}]}
 *
 * Only completion tokens (assistant turns for chat rows) are targets; prompt tokens are context. Prompt and
 * completion are encoded separately and concatenated, as the sampler sees them (prompt ids, then generated ids),
 * so the model learns exactly the continuation it will be asked to produce. Extra fields (provenance) pass through.
 *
 * Two ways to spend little compute on padding. group_by_length batches examples of similar length together
 * (Hugging Face's). Packing (TRL's packing with the "bfd" strategy) places several whole examples in one row,
 * best-fit decreasing into rows of max_length positions, and gives each token its example's segment id: the
 * model then lets a token attend only within its own example and restarts positions at 0 for each, so a packed
 * example is computed exactly as it would be alone (test/sft/packing.test.ts).
 */
import { z } from "zod";
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage } from "../tokenizer/chat-template.js";
import { makeRng, mixSeed, shuffle } from "../rng.js";
import { parseJsonlRows, readJsonlRows, type JsonlRowFormat } from "./jsonl-rows.js";
import type { Example } from "../tasks/types.js";
import { completionRow } from "../data/dataset.js";

const Message = z.object({ role: z.string(), content: z.string() }).passthrough();
const Row = z.union([
  z.object({ prompt: z.string(), completion: z.string() }).passthrough(),
  z.object({ messages: z.array(Message).min(1) }).passthrough(),
]);
/** A prompt/completion row or a chat row; other fields (provenance) are kept as they are. */
export type SFTRow = ({ prompt: string; completion: string } | { messages: ChatMessage[] }) & Record<string, unknown>;
const isPromptRow = (row: SFTRow): row is { prompt: string; completion: string } => typeof row.prompt === "string";

export class SFTDataError extends Error {
  constructor(message: string) { super(message); this.name = "SFTDataError"; }
}

const SFT_JSONL: JsonlRowFormat<typeof Row> = {
  schema: Row,
  what: "SFT data",
  expected: `{"prompt": string, "completion": string} or {"messages": [{role, content}, …]}`,
  empty: "no rows; an SFT dataset needs one JSON object per line",
  error: message => new SFTDataError(message),
};

/**
 * The SFT row of a dataset problem (src/data) with TRL's SFT columns: a conversational completion (or a prompt that
 * is a chat) becomes a messages row, the prompt's turns then the completion's; a text prompt and a text completion
 * stay a prompt/completion row. The dataset's system_prompt and template have already shaped `messages`.
 */
export function sftRowOf(ex: Example): SFTRow {
  const row = completionRow(ex);
  if (!row)
    throw new SFTDataError(`dataset row ${JSON.stringify(ex.id.slice(0, 60))} has no completion: SFT needs a "completion" column or "messages" ending in assistant turns (TRL's SFT columns); map another column with dataset.columns: {completion: <column>}`);
  // Other fields (data_source, extra_info, the gold answer) pass through as provenance.
  const { id: _id, question: _q, answer, messages: _m, completion: _c, ...rest } = ex;
  return { ...row, ...rest, ...(answer !== "" ? { answer } : {}) };
}

export function parseSftJsonl(text: string, source = "dataset"): SFTRow[] {
  return parseJsonlRows(text, source, SFT_JSONL) as SFTRow[];
}

export function loadSftJsonl(path: string): SFTRow[] {
  return readJsonlRows(path, SFT_JSONL) as SFTRow[];
}

/** One tokenized example: ids[i] is a training target when loss[i] = 1. */
export interface SFTExample { ids: number[]; loss: Uint8Array }

/** Text pieces of one training sequence in order; `train` pieces are completion text. */
export type Pieces = { text: string; train: boolean }[];

/**
 * The training sequences of a row. A prompt/completion row is one. A conversation is one when the template renders
 * it as growing prefixes: each assistant turn is the text the template adds between "history + generation prompt"
 * and "history + turn". Templates that rewrite earlier turns (Qwen3 drops the <think> block of assistant turns before
 * the last user message) break that, so each assistant turn is then its own sequence: the prompt the template renders
 * for its history, as the model sees it at inference, then the turn.
 */
export function rowSequences(tok: Tokenizer, row: SFTRow, template?: string, extra?: Record<string, unknown>): Pieces[] {
  if (isPromptRow(row)) return [[{ text: row.prompt, train: false }, { text: row.completion, train: true }]];
  const messages = row.messages as ChatMessage[];
  if (!messages.some(m => m.role === "assistant")) throw new SFTDataError("a messages row has no assistant turn: there is nothing to train on");
  const render = (n: number, addGenerationPrompt: boolean) => renderChat(tok, messages.slice(0, n), { template, addGenerationPrompt, extra });
  const turns = messages.flatMap((m, i) => {
    if (m.role !== "assistant") return [];
    const open = render(i, true), closed = render(i + 1, false);
    if (!closed.startsWith(open))
      throw new SFTDataError(`the chat template does not render assistant turn ${i} after its own generation prompt, so the turn cannot be located: use prompt/completion rows`);
    return [{ open, closed }];
  });
  const full = render(messages.length, false);
  const grows = turns.every((t, k) => full.startsWith(t.closed) && (k === 0 || t.open.startsWith(turns[k - 1].closed)));
  if (!grows) return turns.map(t => [{ text: t.open, train: false }, { text: t.closed.slice(t.open.length), train: true }].filter(p => p.text !== ""));
  const pieces: Pieces = [];
  let at = 0;
  for (const t of turns) {
    pieces.push({ text: t.open.slice(at), train: false }, { text: t.closed.slice(t.open.length), train: true });
    at = t.closed.length;
  }
  if (at < full.length) pieces.push({ text: full.slice(at), train: false });
  return [pieces.filter(p => p.text !== "")];
}

/**
 * Token ids and loss masks of a row's training sequences (rowSequences), each cut to `maxLength`. Prompt/completion
 * rows end with EOS (trained), as TRL's SFTTrainer does; chat templates write their own end-of-turn tokens.
 */
export function tokenizeRow(tok: Tokenizer, row: SFTRow, maxLength: number, template?: string, templateKwargs?: Record<string, unknown>): (SFTExample & { truncated: boolean })[] {
  return rowSequences(tok, row, template, templateKwargs).map(seq => {
    const ids: number[] = [], loss: number[] = [];
    for (const p of seq) {
      const piece = tok.encode(p.text, { addSpecialTokens: false });
      ids.push(...piece);
      loss.push(...piece.map(() => (p.train ? 1 : 0)));
    }
    if (isPromptRow(row) && tok.eosId !== null) { ids.push(tok.eosId); loss.push(1); }
    const truncated = ids.length > maxLength;
    return { ids: ids.slice(0, maxLength), loss: Uint8Array.from(loss.slice(0, maxLength)), truncated };
  });
}

/** A right-padded batch. targets[b,t] = ids[b,t+1] where that token is trained, else −1 (no log-prob computed). */
export interface SFTBatch {
  B: number; T: number;
  tokens: Int32Array;   // [B*T]
  mask: Uint8Array;     // [B*T] 1 = real token
  targets: Int32Array;  // [B*T]
  lossMask: Uint8Array; // [B*T] 1 = this position's target is in the loss
  /** [B*T] packed rows only: the example each position belongs to (−1 on padding). */
  segments?: Int32Array;
  /** Trained targets in the batch. */
  numTokens: number;
}

/** Input positions an example fills: position t holds ids[t] and predicts ids[t+1]. */
const positions = (e: SFTExample) => e.ids.length - 1;

export function makeBatch(examples: readonly SFTExample[], padId: number): SFTBatch {
  return makePackedBatch(examples.map(e => [e]), padId, false);
}

/**
 * A right-padded batch whose row b holds the examples of rows[b] one after another. With `segmented` (packing)
 * each position carries its example's index in the row as segment id, so examples never see each other.
 */
export function makePackedBatch(rows: readonly (readonly SFTExample[])[], padId: number, segmented = true): SFTBatch {
  const B = rows.length;
  const T = Math.max(1, ...rows.map(r => r.reduce((n, e) => n + positions(e), 0)));
  const tokens = new Int32Array(B * T).fill(padId), mask = new Uint8Array(B * T), targets = new Int32Array(B * T).fill(-1), lossMask = new Uint8Array(B * T);
  const segments = segmented ? new Int32Array(B * T).fill(-1) : undefined;
  let numTokens = 0;
  rows.forEach((row, b) => {
    let i = b * T;
    row.forEach((e, s) => {
      for (let t = 0; t < positions(e); t++, i++) {
        tokens[i] = e.ids[t];
        mask[i] = 1;
        if (segments) segments[i] = s;
        if (e.loss[t + 1]) { targets[i] = e.ids[t + 1]; lossMask[i] = 1; numTokens++; }
      }
    });
  });
  return { B, T, tokens, mask, targets, lossMask, segments, numTokens };
}

/**
 * Packs examples into rows of at most `capacity` positions, best-fit decreasing (TRL's "bfd"): longest first,
 * each into the row with the least room that still holds it, else a new row. Examples stay whole; returns
 * rows of example indices (an example longer than capacity gets a row of its own).
 */
export function packExamples(examples: readonly SFTExample[], capacity: number): number[][] {
  const order = examples.map((_, i) => i).sort((a, b) => positions(examples[b]) - positions(examples[a]) || a - b);
  const rows: number[][] = [], room: number[] = [];
  for (const i of order) {
    const need = positions(examples[i]);
    let best = -1;
    for (let r = 0; r < rows.length; r++) if (room[r] >= need && (best < 0 || room[r] < room[best])) best = r;
    if (best < 0) { rows.push([]); room.push(capacity); best = rows.length - 1; }
    rows[best].push(i);
    room[best] -= need;
  }
  return rows;
}

/** How many examples one length-sorted group holds, in batches (Hugging Face's megabatch_mult). */
const GROUP_BATCHES = 50;

/**
 * The batches of one epoch as example indices. Shuffled by (seed, epoch); with `groupByLength`, each group of
 * 50 batches' worth of examples is sorted by length before being cut into batches, and the batches are shuffled
 * again, so a batch holds examples of near-equal length while the epoch order stays random.
 */
export function epochBatches(lengths: readonly number[], batchSize: number, seed: number, epoch: number, groupByLength: boolean): number[][] {
  const order = shuffle(lengths.map((_, i) => i), makeRng(mixSeed(seed, epoch)));
  const batches: number[][] = [];
  const group = groupByLength ? batchSize * GROUP_BATCHES : batchSize;
  for (let g = 0; g < order.length; g += group) {
    const chunk = order.slice(g, g + group);
    if (groupByLength) chunk.sort((a, b) => lengths[b] - lengths[a] || a - b);
    for (let i = 0; i < chunk.length; i += batchSize) batches.push(chunk.slice(i, i + batchSize));
  }
  return groupByLength ? shuffle(batches, makeRng(mixSeed(seed, epoch, 1))) : batches;
}

export interface BatchingOptions { batchSize: number; packing: boolean; maxLength: number; groupByLength: boolean; seed: number; padId: number }

/**
 * The trainer's micro-batches: rows are single examples, or packed rows of several (packed once; epochs reorder
 * the rows). Micro-batch m is batch (m mod perEpoch) of epoch ⌊m / perEpoch⌋, a function of (seed, m) alone.
 */
export function trainingBatches(examples: readonly SFTExample[], o: BatchingOptions): { rows: number; perEpoch: number; at(m: number): SFTBatch } {
  const rows = o.packing ? packExamples(examples, o.maxLength).map(r => r.map(i => examples[i])) : examples.map(e => [e]);
  const perEpoch = Math.ceil(rows.length / o.batchSize);
  const lengths = rows.map(r => r.reduce((n, e) => n + e.ids.length, 0));
  const epochs = new Map<number, number[][]>(); // at most the two epochs one optimizer step can span
  const at = (m: number): SFTBatch => {
    const epoch = Math.floor(m / perEpoch);
    if (!epochs.has(epoch)) {
      for (const e of epochs.keys()) if (e < epoch - 1) epochs.delete(e);
      epochs.set(epoch, epochBatches(lengths, o.batchSize, o.seed, epoch, o.groupByLength));
    }
    return makePackedBatch(epochs.get(epoch)![m % perEpoch].map(i => rows[i]), o.padId, o.packing);
  };
  return { rows: rows.length, perEpoch, at };
}

/** Deterministic split: `evalSize` rows held out, the rest for training. */
export function splitRows<T>(rows: readonly T[], evalSize: number, seed: number): { train: T[]; eval: T[] } {
  if (evalSize >= rows.length) throw new SFTDataError(`eval_size ${evalSize} leaves no training rows out of ${rows.length}: lower eval_size or give eval_file`);
  const xs = shuffle([...rows], makeRng(mixSeed(seed, 0xe5a1)));
  return { eval: xs.slice(0, evalSize), train: xs.slice(evalSize) };
}
