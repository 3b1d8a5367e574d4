// Test helper: tiny random Hugging Face folders of Qwen3, Llama 3.x (rope scaling), Gemma 3 and SmolLM3 whose
// config.json carries each family's real keys (the published configs of Qwen3-0.6B, Llama-3.2-1B, gemma-3-270m and
// SmolLM3-3B, scaled down), with the toy byte-level BPE tokenizer of tiny-folder.ts and the family's chat template.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelConfig } from "../../src/model/config.js";
import { fromHfConfig } from "../../src/model/io/hf-config.js";
import { saveHfFolder } from "../../src/model/io/hf.js";
import { paramSpecs } from "../../src/model/params.js";
import { EOS, TOKENIZER_SIZE, tinyTokenizerJson } from "./tiny-folder.js";

type Json = Record<string, unknown>;
const eos = TOKENIZER_SIZE - 1;

/** config.json of each family, keys as the published model's file, sizes tiny. */
export const familyConfigs = {
  /** Qwen/Qwen3-0.6B: explicit head_dim (32 ≠ 64/4), q_norm/k_norm, tied, no bias. */
  qwen3: {
    architectures: ["Qwen3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: eos, eos_token_id: eos,
    head_dim: 32, hidden_act: "silu", hidden_size: 64, initializer_range: 0.02, intermediate_size: 96, max_position_embeddings: 256,
    max_window_layers: 2, model_type: "qwen3", num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: "float32",
    transformers_version: "4.51.0", use_cache: true, use_sliding_window: false, vocab_size: TOKENIZER_SIZE,
  },
  /**
   * meta-llama/Llama-3.2-1B: rope_type llama3, head_dim key, tied. original_max_position_embeddings is scaled down
   * with the model (8192 → 64) so that, at the test's few dozen positions, pairs of all three bands (kept, smoothed,
   * divided by factor) turn by noticeably different angles than without scaling.
   */
  llama3: {
    architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: eos, eos_token_id: eos,
    head_dim: 16, hidden_act: "silu", hidden_size: 64, initializer_range: 0.02, intermediate_size: 96, max_position_embeddings: 256,
    mlp_bias: false, model_type: "llama", num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, pretraining_tp: 1,
    rms_norm_eps: 1e-5, rope_scaling: { factor: 8.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 64, rope_type: "llama3" },
    rope_theta: 10000.0, tie_word_embeddings: true, torch_dtype: "float32", transformers_version: "4.45.0.dev0", use_cache: true, vocab_size: TOKENIZER_SIZE,
  },
  /** Llama with linear rope scaling (the older `type` spelling, as LLaMA-2-style long-context fine-tunes write it), untied. */
  llamaLinear: {
    architectures: ["LlamaForCausalLM"], attention_bias: false, bos_token_id: eos, eos_token_id: eos, hidden_act: "silu", hidden_size: 64,
    intermediate_size: 96, max_position_embeddings: 256, model_type: "llama", num_attention_heads: 4, num_hidden_layers: 2,
    num_key_value_heads: 4, rms_norm_eps: 1e-5, rope_scaling: { type: "linear", factor: 4.0 }, rope_theta: 10000.0,
    tie_word_embeddings: false, torch_dtype: "float32", vocab_size: TOKENIZER_SIZE,
  },
  /**
   * google/gemma-3-270m: gemma3_text, hidden_activation, layer_types with sliding layers of their own RoPE base,
   * query_pre_attn_scalar (here 24 ≠ head_dim 32, folded into q_norm for llama.cpp), final_logit_softcapping set
   * (null in the published 270m, set in gemma-2; the key is read), a sliding window of 6 shorter than the test prompt.
   * Untied (tie_word_embeddings false; the published model is tied): a tiny random tied Gemma greedily echoes its last
   * input token, its √hidden-scaled embedding dominating; llama.cpp's tied head is the shared path qwen3, llama3 and
   * smollm3 cover.
   */
  gemma3: {
    architectures: ["Gemma3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null, bos_token_id: eos,
    eos_token_id: eos, final_logit_softcapping: 30.0, head_dim: 32, hidden_activation: "gelu_pytorch_tanh", hidden_size: 64,
    initializer_range: 0.02, intermediate_size: 96, layer_types: ["sliding_attention", "full_attention", "sliding_attention"],
    max_position_embeddings: 256, model_type: "gemma3_text", num_attention_heads: 4, num_hidden_layers: 3, num_key_value_heads: 1,
    pad_token_id: eos, query_pre_attn_scalar: 24, rms_norm_eps: 1e-6, rope_local_base_freq: 10000.0, rope_scaling: null,
    rope_theta: 1000000.0, sliding_window: 6, torch_dtype: "float32", transformers_version: "4.55.0.dev0",
    use_bidirectional_attention: false, use_cache: true, vocab_size: TOKENIZER_SIZE, tie_word_embeddings: false,
  },
  /** HuggingFaceTB/SmolLM3-3B: no_rope_layers (every 4th layer NoPE), no_rope_layer_interval, tied, GQA. */
  smollm3: {
    architectures: ["SmolLM3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: null, eos_token_id: eos,
    hidden_act: "silu", hidden_size: 64, initializer_range: 0.02, intermediate_size: 96, max_position_embeddings: 256,
    max_window_layers: 4, mlp_bias: false, model_type: "smollm3", no_rope_layer_interval: 4, no_rope_layers: [1, 1, 1, 0],
    num_attention_heads: 4, num_hidden_layers: 4, num_key_value_heads: 2, pad_token_id: eos, pretraining_tp: 2, rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 5000000.0, sliding_window: null, tie_word_embeddings: true, torch_dtype: "float32",
    transformers_version: "4.54.0.dev0", use_cache: false, use_sliding_window: false, vocab_size: TOKENIZER_SIZE,
  },
} satisfies Record<string, Json>;
export type Family = keyof typeof familyConfigs;

const TEMPLATE_OF: Record<Family, string> = { qwen3: "qwen3", llama3: "llama3.2", llamaLinear: "llama3.2", gemma3: "gemma3", smollm3: "smollm3" };

/** O(1) random weights by HF name (norm weights around 1, or around 0 for Gemma's (1 + w) norms). */
export function randomTensors(config: ModelConfig, seed: number): { name: string; shape: number[]; data: Float32Array }[] {
  let s = seed + 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5;
  const gemma = config.architecture === "gemma3";
  return paramSpecs(config).map(p => {
    const scale = p.shape.length === 2 ? 2 / Math.sqrt(p.shape[1]) : 0.2;
    const base = /norm/.test(p.name) && !gemma ? 1 : 0;
    const mult = /lm_head/.test(p.name) ? 8 : /embed/.test(p.name) ? 3 : 4;
    return { name: p.name, shape: p.shape, data: Float32Array.from({ length: p.shape.reduce((a, b) => a * b, 1) }, () => base + scale * rnd() * mult) };
  });
}

/**
 * Writes the family's folder into `dir`: random weights, the toy tokenizer with the family's chat template, and
 * config.json with the family's own keys (overrides replace keys); tensors whose name matches `zero` are zeros.
 * Returns the parsed config.
 */
export function writeFamilyFolder(dir: string, family: Family, seed: number, overrides: Json = {}, zero?: RegExp): ModelConfig {
  const json = { ...familyConfigs[family], ...overrides };
  const config = fromHfConfig(json);
  const tensors = randomTensors(config, seed);
  for (const t of tensors) if (zero?.test(t.name)) t.data.fill(0);
  const template = readFileSync(new URL(`../fixtures/templates/${TEMPLATE_OF[family]}.jinja`, import.meta.url), "utf8");
  saveHfFolder(dir, config, tensors, {
    files: {
      "tokenizer.json": JSON.stringify(tinyTokenizerJson("gpt2")),
      "tokenizer_config.json": JSON.stringify({ eos_token: EOS, bos_token: null, add_bos_token: false, chat_template: template }),
    },
  });
  writeFileSync(join(dir, "config.json"), JSON.stringify(json, null, 2)); // the family's keys, not Move37's rewrite
  return config;
}
