// Test helpers: a micro byte-level model folder and small SFT datasets of arithmetic traces.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { byteTokenizerFiles } from "../../src/train/pretrain.js";
import { arithmeticTraces, TracesConfigSchema } from "../../src/train/sft-traces.js";

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
export const traceRows = (n: number, seed = 3) =>
  arithmeticTraces(TracesConfigSchema.parse({ task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, n, train_seed: seed, eval_size: 0, instruct: false }));

export function writeJsonl(path: string, rows: object[]): string {
  writeFileSync(path, rows.map(r => JSON.stringify(r)).join("\n") + "\n");
  return path;
}

/** n rows of mixed lengths (every other prompt cut to its question), so several fit in one packed row. */
export const mixedRows = (n: number, seed = 3) =>
  traceRows(n, seed).map((r, i) => (i % 2 ? r : { ...r, prompt: String(r.prompt).replace(/^User: (.*?) Assistant: /, "$1 ") }));
