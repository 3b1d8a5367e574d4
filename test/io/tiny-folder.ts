// Test helper: a tiny random Llama/Qwen2 Hugging Face folder with a small byte-level BPE tokenizer.json.
import { ModelConfigSchema, type ModelConfig } from "../../src/model/config.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import type { CausalLM } from "../../src/model/types.js";
import { BYTE_TO_UNICODE } from "../../src/tokenizer/byte-unicode.js";

/** Merges of a toy English BPE (each result is itself a token). */
const MERGES = ["Ġ t", "h e", "Ġt he", "Ġ a", "a t", "Ġ s", "Ġs at", "Ġ c", "Ġc at", "o n", "Ġ on", "Ġ m", "Ġm at", "i n", "e r", "Ġ d", "o g", "Ġd og"];
export const EOS = "<|endoftext|>";
/** Token count of the tokenizer: 256 bytes + merges + 1 special. */
export const TOKENIZER_SIZE = 256 + MERGES.length + 1;

const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** tokenizer.json in the `tokenizers` library format; Qwen2 style (regex Split + ByteLevel) or GPT-2 style (ByteLevel regex). */
export function tinyTokenizerJson(style: "qwen2" | "gpt2", dropByte?: number) {
  const vocab: Record<string, number> = {};
  BYTE_TO_UNICODE.forEach((c, b) => { if (b !== dropByte) vocab[c] = b; });
  MERGES.forEach((m, i) => { vocab[m.replace(" ", "")] = 256 + i; });
  const byteLevel = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: style === "gpt2" };
  return {
    version: "1.0", truncation: null, padding: null,
    added_tokens: [{ id: 256 + MERGES.length, content: EOS, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: style === "gpt2" ? byteLevel : {
      type: "Sequence",
      pretokenizers: [{ type: "Split", pattern: { Regex: QWEN2_SPLIT }, behavior: "Isolated", invert: false }, byteLevel],
    },
    post_processor: { ...byteLevel, use_regex: false },
    decoder: { ...byteLevel, use_regex: false },
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: MERGES,
    },
  };
}

export const tinyConfigs = {
  /** qkv bias, tied embeddings, embedding padded past the tokenizer (filler ids), Qwen2's rope theta. */
  qwen2: ModelConfigSchema.parse({
    architecture: "qwen2", vocab_size: TOKENIZER_SIZE + 5, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, intermediate_size: 96, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
    tie_word_embeddings: true, max_position_embeddings: 256, eos_token_id: TOKENIZER_SIZE - 1, bos_token_id: TOKENIZER_SIZE - 1,
  }),
  /** no bias, untied lm_head, GQA (so K is permuted with n_kv_heads), eps 1e-5. */
  llama: ModelConfigSchema.parse({
    architecture: "llama", vocab_size: TOKENIZER_SIZE, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
    num_key_value_heads: 2, intermediate_size: 96, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false,
    tie_word_embeddings: false, max_position_embeddings: 256, eos_token_id: TOKENIZER_SIZE - 1, bos_token_id: TOKENIZER_SIZE - 1,
  }),
} satisfies Record<string, ModelConfig>;

/**
 * A model with O(1) random weights (the default init's small weights make near-flat logits, where greedy ties
 * would make token comparisons meaningless), saved into `dir` with the toy tokenizer of `style` or the given files.
 */
export function writeTinyFolder(dir: string, config: ModelConfig, seed: number, tokenizer: "qwen2" | "gpt2" | Record<string, string>): CausalLM {
  const model = createModel(config, referenceBackend, seed);
  let s = seed + 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5; // uniform [−0.5, 0.5)
  for (const p of model.params) {
    const scale = p.shape.length === 2 ? 2 / Math.sqrt(p.shape[1]) : 0.2;
    for (let i = 0; i < p.data.length; i++) p.data[i] = (/norm/.test(p.name) ? 1 : 0) + scale * rnd() * (/lm_head/.test(p.name) ? 8 : /embed/.test(p.name) ? 3 : 4);
  }
  const files = typeof tokenizer === "object" ? tokenizer : {
    "tokenizer.json": JSON.stringify(tinyTokenizerJson(tokenizer)),
    "tokenizer_config.json": JSON.stringify({ eos_token: EOS, bos_token: null, add_bos_token: false, model_max_length: 256 }),
  };
  savePretrained(model, dir, { files });
  return model;
}
