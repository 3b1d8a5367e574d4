// Test helper: llama.cpp (node-llama-cpp's prebuilt CPU binary) against Move37 on an exported GGUF. Flash attention
// off and an F32 KV cache, so llama.cpp computes in F32 (gguf-notes.md, pitfall 1); 1 thread (pitfall 2).
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { exportGguf, type GgufDtype } from "../../src/model/io/gguf-export.js";
import type { CausalLM } from "../../src/model/types.js";

type NLC = typeof import("node-llama-cpp");
type Token = import("node-llama-cpp").Token;
let nlc: NLC | undefined;
/** Why the llama.cpp tests skip, when they do: only when node-llama-cpp or its binary cannot load. */
export let skipReason: string | undefined;
try {
  nlc = await import("node-llama-cpp");
} catch (e) {
  skipReason = `node-llama-cpp is not installed (${(e as Error).message.split("\n")[0]})`;
}
export const llama = nlc && await nlc.getLlama({ gpu: false, build: "never", logLevel: nlc.LlamaLogLevel.error })
  .catch((e: Error) => { skipReason = `node-llama-cpp's prebuilt binary cannot load here: ${e.message.split("\n")[0]}`; return undefined; });

/** A GGUF loaded in llama.cpp with one sequence computing in F32: flash attention off, an F32 KV cache, 1 thread. */
export async function loadF32Context(path: string) {
  const lm = await llama!.loadModel({ modelPath: path });
  const ctx = await lm.createContext({
    contextSize: 256, batchSize: 64, threads: 1, sequences: 1, flashAttention: false,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  return { lm, ctx };
}

export const argmax = (x: ArrayLike<number>) => { let b = 0; for (let i = 1; i < x.length; i++) if (x[i] > x[b]) b = i; return b; };

export interface CompareOptions {
  /** Max |Δlogit| over every position and token, relative to the largest |logit|. */
  relTol: number;
  /** Log-probs of the training forward against log-softmax of llama.cpp's logits, absolute (nats); 0 skips. */
  logpTol: number;
  newTokens: number;
  /** Checks that the GGUF really holds half-precision weights (a difference above 1e-6). */
  expectRounding?: boolean;
}

/** Move37's logits at every position of `ids`, one token at a time through the KV cache (the decode path). */
export function decodeLogits(model: CausalLM, ids: readonly number[]): Float32Array[] {
  const cache = model.newCache(1, 256);
  return ids.map(id => model.decode(cache, Int32Array.from([id]), Uint8Array.from([1]), 1).slice());
}

/** Max |a − b| over two lists of logit rows, and the largest |a|. */
export function maxLogitDiff(a: readonly Float32Array[], b: readonly ArrayLike<number>[]): { diff: number; maxAbs: number } {
  let diff = 0, maxAbs = 0;
  a.forEach((row, i) => row.forEach((x, v) => { maxAbs = Math.max(maxAbs, Math.abs(x)); diff = Math.max(diff, Math.abs(x - b[i][v])); }));
  return { diff, maxAbs };
}

/**
 * Exports `dir` as `dtype`, runs it in llama.cpp and compares with `model`: tokenization of `prompt` equals
 * `refIds`, logits at every prompt position (full vocabulary) within relTol, the training forward's log-probs,
 * and `newTokens` greedy tokens identical. Returns the measured max |Δlogit| and max |logit|.
 */
export async function compareWithLlamaCpp(
  t: TestContext, label: string, model: CausalLM, dir: string, dtype: GgufDtype, prompt: string, refIds: number[], opts: CompareOptions, outDir: string,
): Promise<{ diff: number; maxAbs: number }> {
  const V = model.config.vocab_size;
  const out = join(outDir, `${label}-${dtype}.gguf`);
  assert.deepEqual(exportGguf(dir, out, dtype).warnings, []);
  const { lm, ctx } = await loadF32Context(out);
  try {
    // tokenizer metadata: llama.cpp splits and merges text exactly as the reference tokenizer does
    const ids = lm.tokenize(prompt, false).map(Number);
    assert.deepEqual(ids, refIds, `${label}: tokenization`);
    assert.equal(Number(lm.tokens.eos), model.config.eos_token_id);

    // logits at every prompt position: Move37 decodes one token at a time through its KV cache
    const seq = ctx.getSequence();
    const theirs = await seq.controlledEvaluate(ids.map(id => [id as Token, { generateNext: { logits: true, token: true } }] as const));
    const theirRows = ids.map((_, i) => {
      const map = theirs[i]!.next!.logits!;
      assert.equal(map.size, V, "llama.cpp returns the full vocab");
      return Float32Array.from({ length: V }, (_, v) => map.get(v as Token)!);
    });
    const { diff, maxAbs } = maxLogitDiff(decodeLogits(model, ids), theirRows);
    const tol = opts.relTol * maxAbs;
    t.diagnostic(`${label} ${dtype}: max |Δlogit| ${diff.toExponential(2)} (max |logit| ${maxAbs.toFixed(1)}, relative ${(diff / maxAbs).toExponential(2)}) over ${ids.length} positions × ${V} tokens`);
    assert.ok(diff <= tol, `${label} ${dtype}: max |Δlogit| ${diff} over ${ids.length} positions exceeds ${tol}`);
    if (opts.expectRounding) assert.ok(diff > 1e-6, "F16 export really stored half-precision weights");

    // the training forward agrees too: log-prob of each next prompt token from llama.cpp's logits
    if (opts.logpTol > 0) {
      const T = ids.length;
      const targets = Int32Array.from(ids.slice(1).concat([-1]));
      const { logp } = model.forward(Int32Array.from(ids), new Uint8Array(T).fill(1), targets, 1, T);
      for (let i = 0; i < T - 1; i++) {
        const row = theirRows[i];
        const m = Math.max(...row);
        const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
        assert.ok(Math.abs(logp[i] - (row[targets[i]] - lse)) <= opts.logpTol, `${label} logp at ${i}: ${logp[i]} vs ${row[targets[i]] - lse}`);
      }
    }

    // greedy continuation, token for token (llama.cpp's own greedy choice, not argmax of the returned map)
    const greedyCache = model.newCache(1, 256);
    let lastOurs = model.decode(greedyCache, Int32Array.from(ids), new Uint8Array(ids.length).fill(1), ids.length);
    let next = Number(theirs[ids.length - 1]!.next!.token);
    const gotTheirs: number[] = [], gotOurs: number[] = [];
    for (let k = 0; k < opts.newTokens; k++) {
      gotTheirs.push(next);
      gotOurs.push(argmax(lastOurs));
      const r = await seq.controlledEvaluate([[next as Token, { generateNext: { token: true } }]]);
      next = Number(r[0]!.next!.token);
      lastOurs = model.decode(greedyCache, Int32Array.from([gotOurs[k]]), Uint8Array.from([1]), 1);
    }
    assert.deepEqual(gotOurs, gotTheirs, `${label} ${dtype} greedy continuation`);
    assert.ok(new Set(gotOurs).size > 1, "continuation is not one repeated token");
    return { diff, maxAbs };
  } finally {
    await ctx.dispose();
    await lm.dispose();
  }
}
