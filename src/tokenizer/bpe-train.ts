import { BYTE_TO_UNICODE, GPT2_SPLIT } from "./byte-unicode.js";
import { byteLevelTokenizerJson, type TokenizerJson } from "./tokenizer-json.js";
import { ENDOFTEXT, PAD } from "./byte.js";
import { TokenizerError } from "./types.js";

export interface BpeTrainOptions {
  /** Final vocabulary size including the 256 bytes and the special tokens. */
  vocabSize: number;
  /** Special tokens appended after the merges (default "<|endoftext|>", "<|pad|>"); never merged, never split. */
  specials?: readonly string[];
  /** A pair must occur at least this often to be merged (default 2). */
  minFrequency?: number;
}

export interface TrainedBpe {
  /** Hugging Face tokenizer.json; load it with `HfTokenizer.fromJson`. */
  json: TokenizerJson;
  /** Merges learned, as id pairs in priority order. */
  merges: [number, number][];
  /** Length in tokens of the training text under the learned merges (specials removed). */
  corpusTokens: number;
}

/**
 * Byte-level BPE training, minbpe's RegexTokenizer: the text is split with GPT-2's regex (as the ByteLevel
 * pre-tokenizer does at encode time), then the most frequent adjacent pair of ids is merged into a new id until
 * the vocabulary is full. Ties go to the smallest pair (a, b) so training is deterministic. Unique chunks are
 * counted once and weighted, which keeps a pass linear in the number of distinct words.
 */
export function trainBpe(text: string, opts: BpeTrainOptions): TrainedBpe {
  const specials = opts.specials ?? [ENDOFTEXT, PAD];
  const minFrequency = opts.minFrequency ?? 2;
  const targetMerges = opts.vocabSize - 256 - specials.length;
  if (targetMerges < 0) throw new TokenizerError(`vocabSize ${opts.vocabSize} is below 256 bytes + ${specials.length} special tokens: raise it`);

  const counts = new Map<string, number>();
  const enc = new TextEncoder();
  for (const piece of splitOnSpecials(text, specials)) {
    for (const m of piece.matchAll(GPT2_SPLIT)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1);
  }
  const words: number[][] = [];
  const weights: number[] = [];
  for (const [w, c] of counts) { words.push([...enc.encode(w)]); weights.push(c); }

  const spelling: string[] = [...BYTE_TO_UNICODE];
  const idOf = new Map(spelling.map((s, i) => [s, i]));
  const merges: [number, number][] = [];
  const KEY = 1 << 20;
  while (spelling.length - 256 < targetMerges) {
    const pairCounts = new Map<number, number>();
    for (let w = 0; w < words.length; w++) {
      const ids = words[w];
      for (let i = 0; i + 1 < ids.length; i++) {
        const k = ids[i] * KEY + ids[i + 1];
        pairCounts.set(k, (pairCounts.get(k) ?? 0) + weights[w]);
      }
    }
    let best = -1, bestCount = 0;
    for (const [k, c] of pairCounts) if (c > bestCount || (c === bestCount && k < best)) { best = k; bestCount = c; }
    if (bestCount < minFrequency) break;
    const a = Math.floor(best / KEY), b = best % KEY;
    const s = spelling[a] + spelling[b];
    let id = idOf.get(s);
    if (id === undefined) { id = spelling.length; spelling.push(s); idOf.set(s, id); }
    merges.push([a, b]);
    for (const ids of words) mergeInPlace(ids, a, b, id);
  }
  let corpusTokens = 0;
  for (let w = 0; w < words.length; w++) corpusTokens += words[w].length * weights[w];
  return { json: byteLevelTokenizerJson(merges, specials), merges, corpusTokens };
}

/** Replaces every non-overlapping occurrence of (a, b), left to right, by id. */
function mergeInPlace(ids: number[], a: number, b: number, id: number) {
  let w = 0;
  for (let r = 0; r < ids.length; r++) {
    if (r + 1 < ids.length && ids[r] === a && ids[r + 1] === b) { ids[w++] = id; r++; } else ids[w++] = ids[r];
  }
  ids.length = w;
}

function splitOnSpecials(text: string, specials: readonly string[]): string[] {
  let parts = [text];
  for (const s of specials) parts = parts.flatMap(p => p.split(s));
  return parts;
}
