// The real-client check: llama.cpp (node-llama-cpp's prebuilt CPU binary) loads Move37's GGUF export of tiny
// random Qwen2 and Llama models; its tokenization equals the reference tokenizer's, its logits at every prompt
// position equal Move37's (KV-cache decode and training forward), and greedy continuations agree token for token.
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { ModelConfigSchema } from "../../src/model/config.js";
import { exportGguf, type GgufDtype } from "../../src/model/io/gguf-export.js";
import type { CausalLM } from "../../src/model/types.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { trainBpe } from "../../src/tokenizer/bpe-train.js";
import { loadTokenizer, tokenizerFileMap } from "../../src/tokenizer/load.js";
import { tinyConfigs, tinyTokenizerJson, writeTinyFolder } from "./tiny-folder.js";

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

type NLC = typeof import("node-llama-cpp");
type Token = import("node-llama-cpp").Token;
let nlc: NLC | undefined;
let skipReason: string | undefined;
try {
  nlc = await import("node-llama-cpp");
} catch (e) {
  skipReason = `node-llama-cpp is not installed (${(e as Error).message.split("\n")[0]})`;
}
const llama = nlc && await nlc.getLlama({ gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error })
  .catch((e: Error) => { skipReason = `node-llama-cpp's prebuilt binary cannot load here: ${e.message.split("\n")[0]}`; return undefined; });
test.after(() => llama?.dispose());

const argmax = (x: ArrayLike<number>) => { let b = 0; for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i; return b; };

/** Exports `dir` as `dtype`, runs it in llama.cpp and compares with `model`; `refIds` is the reference tokenization of PROMPT. */
async function compareWithLlamaCpp(t: TestContext, label: string, model: CausalLM, dir: string, dtype: GgufDtype, refIds: number[]): Promise<void> {
  const V = model.config.vocab_size;
  const out = join(root, `${label}-${dtype}.gguf`);
  assert.deepEqual(exportGguf(dir, out, dtype).warnings, []);
  const lm = await llama!.loadModel({ modelPath: out });
  const ctx = await lm.createContext({
    contextSize: 256, batchSize: 64, threads: 1, sequences: 1, flashAttention: false,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  try {
    // tokenizer metadata: llama.cpp splits and merges text exactly as the reference tokenizer does
    const ids = lm.tokenize(PROMPT, false).map(Number);
    assert.deepEqual(ids, refIds, `${label}: tokenization`);
    assert.equal(Number(lm.tokens.eos), model.config.eos_token_id);

    // logits at every prompt position: Move37 decodes one token at a time through its KV cache
    const seq = ctx.getSequence();
    const theirs = await seq.controlledEvaluate(ids.map(id => [id as Token, { generateNext: { logits: true, token: true } }] as const));
    const cache = model.newCache(1, 256);
    let maxDiff = 0, maxAbs = 0;
    ids.forEach((id, i) => {
      const ours = model.decode(cache, Int32Array.from([id]), Uint8Array.from([1]), 1);
      const map = theirs[i]!.next!.logits!;
      assert.equal(map.size, V, "llama.cpp returns the full vocab");
      for (let v = 0; v < V; v++) {
        maxAbs = Math.max(maxAbs, Math.abs(ours[v]));
        maxDiff = Math.max(maxDiff, Math.abs(map.get(v as Token)! - ours[v]));
      }
    });
    const tol = REL_TOL[dtype] * maxAbs;
    t.diagnostic(`${label} ${dtype}: max |Δlogit| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(1)}) over ${ids.length} positions × ${V} tokens`);
    assert.ok(maxDiff <= tol, `${label} ${dtype}: max |Δlogit| ${maxDiff} over ${ids.length} positions exceeds ${tol}`);
    if (dtype === "f16") assert.ok(maxDiff > 1e-6, "F16 export really stored half-precision weights");

    // the training forward agrees too: log-prob of each next prompt token from llama.cpp's logits
    if (dtype === "f32") {
      const T = ids.length;
      const targets = Int32Array.from(ids.slice(1).concat([-1]));
      const { logp } = model.forward(Int32Array.from(ids), new Uint8Array(T).fill(1), targets, 1, T);
      for (let i = 0; i < T - 1; i++) {
        const row = Array.from({ length: V }, (_, v) => theirs[i]!.next!.logits!.get(v as Token)!);
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
        assert.ok(Math.abs(logp[i] - (row[targets[i]] - lse)) <= LOGP_TOL, `logp at ${i}: ${logp[i]} vs ${row[targets[i]] - lse}`);
      }
    }

    // greedy continuation, token for token (llama.cpp's own greedy choice, not argmax of the returned map)
    const greedyCache = model.newCache(1, 256);
    let lastOurs = model.decode(greedyCache, Int32Array.from(ids), new Uint8Array(ids.length).fill(1), ids.length);
    let next = Number(theirs[ids.length - 1]!.next!.token);
    const gotTheirs: number[] = [], gotOurs: number[] = [];
    for (let k = 0; k < NEW_TOKENS; k++) {
      gotTheirs.push(next);
      gotOurs.push(argmax(lastOurs));
      const r = await seq.controlledEvaluate([[next as Token, { generateNext: { token: true } }]]);
      next = Number(r[0]!.next!.token);
      lastOurs = model.decode(greedyCache, Int32Array.from([gotOurs[k]]), Uint8Array.from([1]), 1);
    }
    assert.deepEqual(gotOurs, gotTheirs, `${label} ${dtype} greedy continuation`);
    assert.ok(new Set(gotOurs).size > 1, "continuation is not one repeated token");
  } finally {
    await ctx.dispose();
    await lm.dispose();
  }
}

for (const arch of ["qwen2", "llama"] as const) {
  test(`llama.cpp runs Move37's ${arch} GGUF (toy BPE, ${arch === "qwen2" ? "Qwen2" : "GPT-2"} pre-tokenizer) like Move37 does`, { skip: skipReason }, async t => {
    const style = arch === "qwen2" ? "qwen2" : "gpt2";
    const dir = join(root, arch);
    const model = writeTinyFolder(dir, tinyConfigs[arch], 12, style);
    const refIds = new Tokenizer(tinyTokenizerJson(style) as never, {}).encode(PROMPT).ids; // Hugging Face's tokenizers
    assert.ok(refIds.some((id: number) => id >= 256), "prompt uses merged tokens");
    for (const dtype of ["f32", "f16"] as const) await compareWithLlamaCpp(t, arch, model, dir, dtype, refIds);
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
    await compareWithLlamaCpp(t, c.label, model, dir, "f32", refIds);
  }
});
