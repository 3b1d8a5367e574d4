/**
 * Preference pairs for a reward model: JSONL rows of TRL's explicit-prompt form, one pair per line,
 *
 *   {"prompt": "User: 2+3=? Assistant: <think>", "chosen": "2+3 = 5</think><answer>5</answer>", "rejected": "…", "margin": 0.5}
 *
 * `chosen` and `rejected` continue `prompt` (the text a policy generated after it); `margin` is optional (Llama 2's
 * "how much better"). Other fields (provenance) pass through. `move37 prefs` writes this format.
 */
import { z } from "zod";
import type { Tokenizer } from "../tokenizer/types.js";
import { makeRng, mixSeed, shuffle } from "../rng.js";
import { encodeSequence } from "./reward-model-net.js";
import { parseJsonlRows, readJsonlRows, type JsonlRowFormat } from "./jsonl-rows.js";

const PairSchema = z.object({ prompt: z.string(), chosen: z.string(), rejected: z.string(), margin: z.number().finite().optional() }).passthrough();
export type PreferencePair = z.output<typeof PairSchema>;

export class PreferenceDataError extends Error {
  constructor(message: string) { super(message); this.name = "PreferenceDataError"; }
}

const PAIRS_JSONL: JsonlRowFormat<typeof PairSchema> = {
  schema: PairSchema,
  what: "preference pairs",
  expected: `{"prompt": string, "chosen": string, "rejected": string, "margin"?: number}`,
  empty: `no pairs; write one {"prompt", "chosen", "rejected"} object per line (move37 prefs makes them)`,
  error: message => new PreferenceDataError(message),
};

export function parsePairs(text: string, source = "pairs"): PreferencePair[] {
  return parseJsonlRows(text, source, PAIRS_JSONL);
}

export function loadPairs(path: string): PreferencePair[] {
  return readJsonlRows(path, PAIRS_JSONL);
}

/**
 * Holds out the pairs of whole prompts, chosen at random by `seed`, until at least `evalSize` pairs are held out:
 * held-out accuracy is then measured on prompts the model never trained on.
 */
export function splitPairsByPrompt(pairs: readonly PreferencePair[], evalSize: number, seed: number): { train: PreferencePair[]; eval: PreferencePair[] } {
  const prompts = [...new Set(pairs.map(p => p.prompt))];
  shuffle(prompts, makeRng(mixSeed(seed, 0x9a1e)));
  const held = new Set<string>();
  let n = 0;
  for (const p of prompts) {
    if (n >= evalSize) break;
    held.add(p);
    n += pairs.filter(x => x.prompt === p).length;
  }
  const split = { train: pairs.filter(p => !held.has(p.prompt)), eval: pairs.filter(p => held.has(p.prompt)) };
  if (split.train.length === 0) throw new PreferenceDataError(`eval_size ${evalSize} holds out every prompt of ${pairs.length} pairs: lower eval_size or give eval_file`);
  return split;
}

export interface TokenizedPair { chosen: number[]; rejected: number[]; margin: number; truncated: boolean }

export function tokenizePair(tok: Tokenizer, p: PreferencePair, maxLength: number): TokenizedPair {
  const c = encodeSequence(tok, p.prompt, p.chosen, maxLength), r = encodeSequence(tok, p.prompt, p.rejected, maxLength);
  return { chosen: c.ids, rejected: r.ids, margin: p.margin ?? 0, truncated: c.truncated || r.truncated };
}

/** The sequences of a batch of pairs: chosen rows first, then rejected rows in the same order. */
export const pairRows = (pairs: readonly TokenizedPair[]) => [...pairs.map(p => p.chosen), ...pairs.map(p => p.rejected)];
