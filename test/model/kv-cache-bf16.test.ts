/**
 * The BF16 KV cache (createModel's `kvCache: "bfloat16"`, recipe/CLI kv_cache_dtype) against the F32 cache of the same
 * model: its keys and values take half the bytes; decode logits stay within a stated bound of the F32 cache's and greedy
 * decodes agree on a fixed prompt set at a stated rate; rows kept, forked and rebuilt in a BF16 cache decode exactly as
 * they did before the move; the reference backend computes the same thing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ModelConfigSchema } from "../../src/model/config.js";
import { getBackend, nativeAvailable, referenceBackend, type Backend } from "../../src/engine/index.js";
import { createModel, setKvCacheDtype } from "../../src/model/transformer.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { LoraModel } from "../../src/train/lora.js";
import { LoraConfigSchema } from "../../src/model/lora.js";
import { kvCacheDtypeFlag } from "../../src/cli/generate.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KVCacheImpl } from "../../src/model/kv-cache.js";
import type { CausalLM } from "../../src/model/types.js";
import { uniformRng } from "../../src/rng.js";

const cfg = ModelConfigSchema.parse({
  architecture: "qwen2", vocab_size: 97, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, intermediate_size: 96, attention_bias: true, tie_word_embeddings: true, max_position_embeddings: 128,
});
const skipNative = nativeAvailable() ? false : "native addon not built";

/** The model of test/model/bf16.test.ts: weights ±0.25, so next-token distributions are peaked (not near-ties). */
function model(be: Backend, kvCache: "float32" | "bfloat16"): CausalLM {
  const m = createModel(cfg, be, 5, { kvCache }), rand = uniformRng(9);
  for (const p of m.params) if (!/norm/.test(p.name)) for (let i = 0; i < p.data.length; i++) p.data[i] = (rand() * 2 - 1) * 0.25;
  return m;
}

function prompts(n: number, T: number): number[][] {
  const rand = uniformRng(21);
  return Array.from({ length: n }, () => Array.from({ length: T }, () => Math.floor(rand() * cfg.vocab_size)));
}

const argmax = (x: Float32Array, o: number, V: number) => { let b = 0; for (let v = 1; v < V; v++) if (x[o + v] > x[o + b]) b = v; return b; };

/** Greedy continuation of each prompt and the largest |logit| difference seen against `other` fed the same tokens. */
function greedy(m: CausalLM, ps: number[][], steps: number): { tokens: number[][]; logits: Float32Array[] } {
  const B = ps.length, T = ps[0].length, V = cfg.vocab_size, cache = m.newCache(B, T + steps);
  let logits = m.decode(cache, Int32Array.from(ps.flat()), new Uint8Array(B * T).fill(1), T);
  const tokens: number[][] = ps.map(() => []), all = [logits];
  for (let s = 0; s < steps; s++) {
    const next = Int32Array.from({ length: B }, (_, b) => argmax(logits, b * V, V));
    next.forEach((t, b) => tokens[b].push(t));
    logits = m.decode(cache, next, new Uint8Array(B).fill(1), 1);
    all.push(logits);
  }
  return { tokens, logits: all };
}

test("a BF16 KV cache holds half the bytes of the F32 cache", () => {
  const f = model(referenceBackend, "float32").newCache(3, 40) as KVCacheImpl, b = model(referenceBackend, "bfloat16").newCache(3, 40) as KVCacheImpl;
  const K = cfg.num_key_value_heads * (cfg.hidden_size / cfg.num_attention_heads);
  assert.equal(f.bytes, 2 * cfg.num_hidden_layers * 3 * 40 * K * 4);
  assert.equal(b.bytes * 2, f.bytes);
  assert.ok(b.k[0] instanceof Uint16Array && f.k[0] instanceof Float32Array);
});

// Stated bounds (measured on this model: see docs/generation.md): the first logits after a prefill within 1% of the
// largest |logit|, and greedy decodes agreeing at ≥ 95% of 16 × 24 positions (each row counted up to its first divergence).
test("BF16 KV cache vs F32 cache: prefill logits within 1% of max |logit|, greedy decodes agree at ≥ 95%", { skip: skipNative }, () => {
  const be = getBackend("native"), ps = prompts(16, 10), steps = 24, V = cfg.vocab_size;
  const a = greedy(model(be, "float32"), ps, steps), b = greedy(model(be, "bfloat16"), ps, steps);
  let maxAbs = 0, maxDiff = 0;
  for (let i = 0; i < a.logits[0].length; i++) { maxAbs = Math.max(maxAbs, Math.abs(a.logits[0][i])); maxDiff = Math.max(maxDiff, Math.abs(a.logits[0][i] - b.logits[0][i])); }
  assert.ok(maxDiff > 0, "BF16 cache logits identical to F32: the cache was not rounded");
  assert.ok(maxDiff <= 0.01 * maxAbs, `prefill logits differ by ${maxDiff} (max |logit| ${maxAbs})`);
  let agree = 0;
  for (let r = 0; r < ps.length; r++) for (let s = 0; s < steps && a.tokens[r][s] === b.tokens[r][s]; s++) agree++;
  const rate = agree / (ps.length * steps);
  assert.ok(rate >= 0.95, `greedy agreement ${rate}`);
  console.log(`# BF16 vs F32 KV cache: prefill logit diff ${(maxDiff / maxAbs).toExponential(2)} of max |logit|; greedy agreement ${(100 * rate).toFixed(1)}% (${ps.length}×${steps}); V ${V}`);
});

test("the reference backend's BF16 cache decodes like the native one; setKvCacheDtype switches new caches", { skip: skipNative }, () => {
  const ps = prompts(3, 6);
  const r = greedy(model(referenceBackend, "bfloat16"), ps, 8), n = greedy(model(getBackend("native"), "bfloat16"), ps, 8);
  assert.deepEqual(r.tokens, n.tokens);
  // the backends' F32 keys differ in their last bits, which BF16 rounding can turn into one BF16 step: 1e-3 of max |logit|
  for (let i = 0; i < r.logits.length; i++) {
    const scale = r.logits[i].reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    for (let j = 0; j < r.logits[i].length; j++)
      assert.ok(Math.abs(r.logits[i][j] - n.logits[i][j]) <= 1e-3 * scale, `step ${i} logit ${j}: ${n.logits[i][j]} vs ${r.logits[i][j]}`);
  }
  const m = model(referenceBackend, "float32");
  assert.ok(setKvCacheDtype(m, "bfloat16"));
  assert.equal((m.newCache(1, 4) as KVCacheImpl).dtype, "bfloat16");
});

test("keep and fork move BF16 cache rows exactly: forked rows decode as their source rows", () => {
  const m = model(referenceBackend, "bfloat16"), ps = prompts(3, 5), V = cfg.vocab_size, B = 3, T = 5;
  const cache = m.newCache(B, 12);
  const first = m.decode(cache, Int32Array.from(ps.flat()), new Uint8Array(B * T).fill(1), T);
  const next = Int32Array.from({ length: B }, (_, b) => argmax(first, b * V, V));
  const want = m.decode(cache, next, new Uint8Array(B).fill(1), 1); // rows 0, 1, 2 after one step
  const again = m.newCache(B, 12);
  m.decode(again, Int32Array.from(ps.flat()), new Uint8Array(B * T).fill(1), T);
  again.fork([2, 0, 2, 1]); // a rebuild (sources move both ways)
  const got = m.decode(again, Int32Array.from([next[2], next[0], next[2], next[1]]), new Uint8Array(4).fill(1), 1);
  [2, 0, 2, 1].forEach((src, i) => assert.deepEqual(got.subarray(i * V, (i + 1) * V), want.subarray(src * V, (src + 1) * V), `row ${i}`));
  again.keep([1, 3]); // rows only move up: in place
  const got2 = m.decode(again, Int32Array.from([5, 6]), new Uint8Array(2).fill(1), 1);
  const ref2 = m.newCache(2, 12);
  m.decode(ref2, Int32Array.from([...ps[0], ...ps[1]]), new Uint8Array(2 * T).fill(1), T);
  m.decode(ref2, Int32Array.from([next[0], next[1]]), new Uint8Array(2).fill(1), 1);
  assert.deepEqual(got2, m.decode(ref2, Int32Array.from([5, 6]), new Uint8Array(2).fill(1), 1));
});

test("loadPretrained's kvCacheDtype reaches a model folder's and an adapter folder's caches; --kv-cache-dtype is checked", () => {
  const root = mkdtempSync(join(tmpdir(), "m37-kvbf16-"));
  try {
    const dir = join(root, "m"), adapter = join(root, "a");
    savePretrained(model(referenceBackend, "float32"), dir);
    const dtypeOf = (m: CausalLM) => (m.newCache(1, 2) as KVCacheImpl).dtype;
    assert.equal(dtypeOf(loadPretrained(dir, referenceBackend).model), "float32");
    assert.equal(dtypeOf(loadPretrained(dir, referenceBackend, { kvCacheDtype: "bfloat16" }).model), "bfloat16");
    new LoraModel(loadPretrained(dir, referenceBackend).model as never, LoraConfigSchema.parse({}), dir).saveAdapter(adapter);
    assert.equal(dtypeOf(loadPretrained(adapter, referenceBackend, { kvCacheDtype: "bfloat16" }).model), "bfloat16");
    assert.equal(kvCacheDtypeFlag("bfloat16"), "bfloat16");
    assert.throws(() => kvCacheDtypeFlag("bf16"), /--kv-cache-dtype must be one of float32, bfloat16/);
  } finally { rmSync(root, { recursive: true, force: true }); }
});
