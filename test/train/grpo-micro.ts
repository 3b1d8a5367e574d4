// The micro GRPO setup (a 1-layer byte model, a "lowercase" reward it can learn in a dozen steps), shared by the
// in-process GRPO tests and the OpenAI-rollout test against `move37 serve`.
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { registerReward } from "../../src/rewards/registry.js";

// The micro task: reward = share of completion characters that are lowercase letters. A random byte model
// writes them about 10% of the time (26 of 258 ids), so groups have variance and GRPO must raise that share.
registerReward({
  name: "lowercase", description: "test: share of characters that are a-z", timeLimitMs: 50,
  sync: c => { const t = c.replace(/^<think>/, ""); return t.length ? [...t].filter(ch => ch >= "a" && ch <= "z").length / t.length : 0; },
});

export function byteModelFolder(root: string): string {
  const dir = join(root, "micro");
  const tok = new ByteTokenizer();
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 128,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, getBackend("auto"), 5);
  savePretrained(model, dir, { files: byteTokenizerFiles(tok) });
  return dir;
}

export const microRecipe = (model: string, over: Record<string, unknown> = {}) => ({
  model, task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 8, eval_sampled: false,
  accuracy_reward: "math", format_reward: "format", save_steps: 2, log_completions: 2,
  grpo: { num_generations: 8, prompts_per_step: 4, max_completion_length: 8, reward_funcs: ["lowercase"], learning_rate: 0.02, max_steps: 12, seed: 7, loss_type: "dapo" },
  ...over,
});
