import { BYTE_TO_UNICODE } from "./byte-unicode.js";

/** The parts of a Hugging Face tokenizer.json this project writes (the format of the `tokenizers` library, v1.0). */
export interface TokenizerJson {
  version: "1.0";
  truncation: null;
  padding: null;
  added_tokens: { id: number; content: string; single_word: false; lstrip: false; rstrip: false; normalized: false; special: true }[];
  normalizer: null;
  pre_tokenizer: Record<string, unknown>;
  post_processor: Record<string, unknown>;
  decoder: Record<string, unknown>;
  model: {
    type: "BPE"; dropout: null; unk_token: null; continuing_subword_prefix: null; end_of_word_suffix: null;
    fuse_unk: false; byte_fallback: false; ignore_merges: false;
    vocab: Record<string, number>;
    merges: string[];
  };
}

/**
 * A GPT-2-style byte-level BPE tokenizer.json: ids 0..255 are the bytes (spelled with GPT-2's byte↔unicode map),
 * each merge (a pair of ids, in priority order) creates the next id unless its spelling already exists (two
 * merge paths to one string share the id, as the `tokenizers` trainer does), special tokens follow.
 * Merges are written as "a b" strings, the form every reader (tokenizers, transformers.js, llama.cpp) accepts.
 */
export function byteLevelTokenizerJson(merges: readonly (readonly [number, number])[], specials: readonly string[]): TokenizerJson {
  const spelling: string[] = [...BYTE_TO_UNICODE];
  const vocab: Record<string, number> = Object.create(null); // a merge may spell "__proto__"
  spelling.forEach((s, id) => { vocab[s] = id; });
  for (const [a, b] of merges) {
    const s = spelling[a] + spelling[b];
    if (!(s in vocab)) { vocab[s] = spelling.length; spelling.push(s); }
  }
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, i) => ({
      id: spelling.length + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${spelling[a]} ${spelling[b]}`),
    },
  };
}
