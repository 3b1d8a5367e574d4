// Test helpers: a micro byte-level model folder and small SFT datasets of arithmetic traces.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { arithmeticTask } from "../../src/tasks/arithmetic.js";
import { chainDerivation, parseChain, makeRng, tinyR1Prompt } from "../../src/tasks/index.js";

export function byteModelFolder(root: string, seed = 5): string {
  const dir = join(root, "micro");
  const tok = new ByteTokenizer();
  const model = createModel({ architecture: "llama", vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
    intermediate_size: 64, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 128,
    bos_token_id: tok.bosId, eos_token_id: tok.eosId }, getBackend("auto"), seed);
  savePretrained(model, dir, { files: byteTokenizerFiles(tok) });
  return dir;
}

/** n prompt/completion rows: tiny R1 prompts of 2-3 term sums and their worked derivations. */
export function traceRows(n: number, seed = 3): { prompt: string; completion: string; answer: string }[] {
  const task = arithmeticTask({ type: "arithmetic", min_terms: 2, max_terms: 3, digits: 1, ops: ["+", "-"], non_negative: true });
  return Array.from({ length: n }, (_, i) => {
    const ex = task.sample(makeRng(seed * 1000 + i));
    const chain = chainDerivation(parseChain(ex.question.replace(/=\?$/, "")));
    return { prompt: tinyR1Prompt(ex.question), completion: `${chain}</think><answer>${ex.answer}</answer>`, answer: ex.answer };
  });
}

export function writeJsonl(path: string, rows: object[]): string {
  writeFileSync(path, rows.map(r => JSON.stringify(r)).join("\n") + "\n");
  return path;
}
