// The real-client check: llama.cpp (node-llama-cpp's prebuilt CPU binary) loads Move37's GGUF export of tiny
// random Qwen2 and Llama models; its tokenization equals the reference tokenizer's, its logits at every prompt
// position equal Move37's (KV-cache decode and training forward), and greedy continuations agree token for token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelConfigSchema } from "../../src/model/config.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { trainBpe } from "../../src/tokenizer/bpe-train.js";
import { loadTokenizer, tokenizerFileMap } from "../../src/tokenizer/load.js";
import { tinyConfigs, tinyTokenizerJson, writeTinyFolder } from "./tiny-folder.js";
import { compareWithLlamaCpp, llama, skipReason } from "./llama-cpp-compare.js";

/**
 * Tolerances on max |Δlogit| relative to the largest |logit| (6–18 here). F32 weights, F32 KV cache, no flash
 * attention: measured 1e-6 – 3e-6. F16 weights in llama.cpp against Move37's F32 model, so weight rounding
 * (2^-11 relative) separates them: measured ~4e-3.
 */
const REL_TOL = { f32: 1e-5, f16: 1e-2 };
/** Log-probs from the training forward against llama.cpp's logits (absolute, nats). */
const LOGP_TOL = 1e-4;
const PROMPT = "the cat sat on the mat, then the dog sat on it!";
const NEW_TOKENS = 12;

const root = mkdtempSync(join(tmpdir(), "m37-llamacpp-"));
test.after(() => rmSync(root, { recursive: true, force: true }));
test.after(() => llama?.dispose());
const opts = (dtype: "f32" | "f16") => ({ relTol: REL_TOL[dtype], logpTol: dtype === "f32" ? LOGP_TOL : 0, newTokens: NEW_TOKENS, expectRounding: dtype === "f16" });

for (const arch of ["qwen2", "llama"] as const) {
  test(`llama.cpp runs Move37's ${arch} GGUF (toy BPE, ${arch === "qwen2" ? "Qwen2" : "GPT-2"} pre-tokenizer) like Move37 does`, { skip: skipReason }, async t => {
    const style = arch === "qwen2" ? "qwen2" : "gpt2";
    const dir = join(root, arch);
    const model = writeTinyFolder(dir, tinyConfigs[arch], 12, style);
    const refIds = new Tokenizer(tinyTokenizerJson(style) as never, {}).encode(PROMPT).ids; // Hugging Face's tokenizers
    assert.ok(refIds.some((id: number) => id >= 256), "prompt uses merged tokens");
    for (const dtype of ["f32", "f16"] as const) await compareWithLlamaCpp(t, arch, model, dir, dtype, PROMPT, refIds, opts(dtype), root);
  });
}

test("llama.cpp runs models with Move37's own tokenizers: ByteTokenizer (no merges) and a trained BPE", { skip: skipReason }, async t => {
  const byte = new ByteTokenizer();
  const bpe = trainBpe(`${PROMPT} ${"the dog and the cat sat on the mat. ".repeat(20)}`, { vocabSize: 300 });
  const cases = [
    { label: "byte", json: byte.toTokenizerJson(), arch: "qwen2" as const, vocab: byte.vocabSize, eos: byte.eosId },
    { label: "bpe", json: bpe.json, arch: "llama" as const, vocab: 300, eos: 256 + bpe.merges.length },
  ];
  for (const c of cases) {
    const config = ModelConfigSchema.parse({ ...tinyConfigs[c.arch], vocab_size: c.vocab, eos_token_id: c.eos, bos_token_id: c.eos });
    const dir = join(root, c.label);
    const model = writeTinyFolder(dir, config, 21, tokenizerFileMap(c.json, { eos_token: "<|endoftext|>", bos_token: "<|endoftext|>" }));
    const refIds = loadTokenizer(dir).encode(PROMPT, { addSpecialTokens: false });
    if (c.label === "bpe") assert.ok(refIds.some(id => id >= 256), "prompt uses merged tokens");
    await compareWithLlamaCpp(t, c.label, model, dir, "f32", PROMPT, refIds, opts("f32"), root);
  }
});
