// Test helpers: tiny random byte-level model folders and a deterministic reward the micro runs are judged by.
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { registerReward } from "../../src/rewards/registry.js";

/** 1 when the text after "<think>" holds a digit, else 0: a random byte model earns it about a quarter of the time. */
export const DIGIT_REWARD = "test_has_digit";
export const hasDigit = (completion: string) => (/\d/.test(completion.replace(/^<think>/, "")) ? 1 : 0);
registerReward({ name: DIGIT_REWARD, description: "test: 1 when the completion holds a digit", timeLimitMs: 50, sync: hasDigit });

/**
 * A random byte-level Llama folder of the given width and depth. `stops`: the final norm keeps only hidden unit 0,
 * which every byte's embedding sets to 1 and EOS's to 1.8, so EOS takes about a quarter of the probability and the
 * other bytes share the rest equally: completions end after a few tokens, as a trained teacher's do (a plain random
 * model runs to the token limit).
 */
export function byteModelFolder(root: string, name: string, hidden = 32, layers = 1, seed = 5, stops = false): string {
  const dir = join(root, name);
  const tok = new ByteTokenizer();
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: hidden, num_hidden_layers: layers, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 2 * hidden, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 192,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, getBackend("auto"), seed);
  if (stops) {
    const param = (n: string) => model.params.find(p => p.name === n)!.data;
    const norm = param("model.norm.weight");
    norm.fill(0);
    norm[0] = 1;
    const embed = param("model.embed_tokens.weight");
    // Unit 0 carries 1 for every input byte, so it dominates the normed state (≈ √hidden) and every logit but EOS's is equal.
    for (let v = 0; v < 258; v++) embed[v * hidden] = v === tok.eosId ? 1.8 : 1;
  }
  savePretrained(model, dir, { files: byteTokenizerFiles(tok) });
  return dir;
}
