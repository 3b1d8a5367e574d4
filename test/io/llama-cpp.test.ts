// The real-client check: llama.cpp (node-llama-cpp's prebuilt CPU binary) loads Move37's GGUF export of tiny
// random Qwen2 and Llama models; its tokenization equals Hugging Face tokenizers', its logits at every prompt
// position equal Move37's (KV-cache decode and training forward), and greedy continuations agree token for token.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { exportGguf } from "../../src/model/io/gguf-export.js";
import type { CausalLM } from "../../src/model/types.js";
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

/** Move37's logits after each prompt token, decoding one token at a time through the KV cache. */
function move37Logits(model: CausalLM, ids: number[], cacheLen: number): Float32Array[] {
  const cache = model.newCache(1, cacheLen);
  return ids.map(t => model.decode(cache, Int32Array.from([t]), Uint8Array.from([1]), 1).slice());
}

const argmax = (x: ArrayLike<number>) => { let b = 0; for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i; return b; };

for (const arch of ["qwen2", "llama"] as const) {
  test(`llama.cpp runs Move37's ${arch} GGUF like Move37 does`, { skip: skipReason }, async t => {
    const config = tinyConfigs[arch];
    const style = arch === "qwen2" ? "qwen2" : "gpt2";
    const dir = join(root, arch);
    const model = writeTinyFolder(dir, config, 12, style);
    const V = config.vocab_size;

    for (const dtype of ["f32", "f16"] as const) {
      const out = join(root, `${arch}-${dtype}.gguf`);
      const res = exportGguf(dir, out, dtype);
      assert.deepEqual(res.warnings, []);
      const lm = await llama!.loadModel({ modelPath: out });
      const ctx = await lm.createContext({
        contextSize: 256, batchSize: 64, threads: 1, sequences: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
      });
      try {
        // tokenizer metadata: llama.cpp splits and merges text exactly as Hugging Face tokenizers does
        const ids = lm.tokenize(PROMPT, false).map(Number);
        const hfIds = new Tokenizer(tinyTokenizerJson(style) as never, {}).encode(PROMPT).ids;
        assert.deepEqual(ids, hfIds, "tokenization");
        assert.ok(ids.length >= 12 && ids.some(t => t >= 256), "prompt uses merged tokens");
        assert.equal(Number(lm.tokens.eos), config.eos_token_id);

        // logits at every prompt position
        const seq = ctx.getSequence();
        const theirs = await seq.controlledEvaluate(ids.map(t => [t as Token, { generateNext: { logits: true, token: true } }] as const));
        const ours = move37Logits(model, ids, 256);
        let maxDiff = 0, maxAbs = 0;
        ours.forEach((row, i) => {
          for (const x of row) maxAbs = Math.max(maxAbs, Math.abs(x));
          const map = theirs[i]!.next!.logits!;
          assert.equal(map.size, V, "llama.cpp returns the full vocab");
          for (let v = 0; v < V; v++) maxDiff = Math.max(maxDiff, Math.abs(map.get(v as never)! - row[v]));
        });
        const tol = REL_TOL[dtype] * maxAbs;
        t.diagnostic(`${arch} ${dtype}: max |Δlogit| ${maxDiff.toExponential(2)} (max |logit| ${maxAbs.toFixed(1)}) over ${ids.length} positions × ${V} tokens`);
        assert.ok(maxDiff <= tol, `${arch} ${dtype}: max |Δlogit| ${maxDiff} over ${ids.length} positions exceeds ${tol}`);
        if (dtype === "f16") assert.ok(maxDiff > 1e-6, "F16 export really stored half-precision weights");

        // the training forward agrees too: log-prob of each next prompt token from llama.cpp's logits
        if (dtype === "f32") {
          const T = ids.length;
          const targets = Int32Array.from(ids.slice(1).concat([-1]));
          const { logp } = model.forward(Int32Array.from(ids), new Uint8Array(T).fill(1), targets, 1, T);
          for (let i = 0; i < T - 1; i++) {
            const row = Array.from({ length: V }, (_, v) => theirs[i]!.next!.logits!.get(v as never)!);
            const m = Math.max(...row);
            const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
            assert.ok(Math.abs(logp[i] - (row[targets[i]] - lse)) <= LOGP_TOL, `logp at ${i}: ${logp[i]} vs ${row[targets[i]] - lse}`);
          }
        }

        // greedy continuation, token for token (llama.cpp's own greedy choice, not argmax of the returned map)
        const cache = model.newCache(1, 256);
        let lastOurs = model.decode(cache, Int32Array.from(ids), new Uint8Array(ids.length).fill(1), ids.length);
        let next = Number(theirs[ids.length - 1]!.next!.token);
        const gotTheirs: number[] = [], gotOurs: number[] = [];
        for (let k = 0; k < NEW_TOKENS; k++) {
          gotTheirs.push(next);
          gotOurs.push(argmax(lastOurs));
          const r = await seq.controlledEvaluate([[gotTheirs[k] as Token, { generateNext: { token: true } }]]);
          next = Number(r[0]!.next!.token);
          lastOurs = model.decode(cache, Int32Array.from([gotOurs[k]]), Uint8Array.from([1]), 1);
        }
        assert.deepEqual(gotOurs, gotTheirs, `${arch} ${dtype} greedy continuation`);
        assert.ok(new Set(gotOurs).size > 1, "continuation is not one repeated token");
      } finally {
        await ctx.dispose();
        await lm.dispose();
      }
    }
  });
}
