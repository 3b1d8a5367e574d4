// Test helper: a tiny random Qwen2 model whose vocabulary is a BPE trained here, with O(1) weights so greedy
// decoding has clear winners (the default init's small weights give near-flat logits and meaningless ties).
import { ModelConfigSchema, type ModelConfig } from "../../src/model/config.js";
import type { Backend } from "../../src/engine/backend.js";
import { createModel } from "../../src/model/transformer.js";
import type { CausalLM } from "../../src/model/types.js";
import { trainBpe } from "../../src/tokenizer/bpe-train.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";
import type { TokenizerConfigJson } from "../../src/tokenizer/types.js";
import { Rng } from "../../src/sample/rng.js";

const CORPUS = ("The cat sat on the mat. The dog sat on the log. Two plus two is four. " +
  "<think> add the numbers </think> <answer> 4 </answer> ").repeat(20);

export const TOKENIZER = trainBpe(CORPUS, { vocabSize: 300, specials: ["<|endoftext|>", "<|pad|>", "<|im_start|>", "<|im_end|>"] });
/** Qwen2's chat template, reduced to its message loop. */
export const CHAT_TEMPLATE = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";
export const TOKENIZER_CONFIG: TokenizerConfigJson = { eos_token: "<|im_end|>", pad_token: "<|pad|>", bos_token: null, chat_template: CHAT_TEMPLATE };
export const tokenizer = new HfTokenizer(TOKENIZER.json, TOKENIZER_CONFIG);

export const tinyQwen2: ModelConfig = ModelConfigSchema.parse({
  architecture: "qwen2", vocab_size: 304, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, intermediate_size: 48, rope_theta: 1e6, attention_bias: true, tie_word_embeddings: true,
  max_position_embeddings: 128, eos_token_id: tokenizer.eosId,
});

export function tinyModel(backend: Backend, seed = 1): CausalLM {
  const model = createModel(tinyQwen2, backend, seed);
  const rng = new Rng(seed);
  for (const p of model.params) {
    const scale = p.shape.length === 2 ? 3 / Math.sqrt(p.shape[1]) : 0.3;
    for (let i = 0; i < p.data.length; i++) p.data[i] = (/norm/.test(p.name) ? 1 : 0) + scale * (rng.nextFloat() - 0.5) * (/embed/.test(p.name) ? 4 : 2);
  }
  return model;
}
