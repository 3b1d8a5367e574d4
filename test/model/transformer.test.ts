/**
 * The whole model against itself by independent routes: every parameter gradient against float64 central
 * differences of the loss, and KV-cache decoding (batched, left padding, padded decode slots, keep()) against
 * full forwards of each sequence alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { Transformer, createModel, BackwardBeforeForwardError } from "../../src/model/transformer.js";
import { TokenOutOfRangeError } from "../../src/model/embedding.js";
import { CacheFullError, BadKeepRowsError, KVCacheImpl } from "../../src/model/kv-cache.js";
import { PositionOutOfRangeError } from "../../src/model/attention.js";
import { checkModelGradients, rng } from "./finite-diff.js";

const tiny = (over: Record<string, unknown> = {}) => ModelConfigSchema.parse({
  vocab_size: 11, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  intermediate_size: 12, rms_norm_eps: 1e-5, max_position_embeddings: 32, ...over,
});

function model64(cfg: ReturnType<typeof tiny>, seed = 1) {
  const m = new Transformer(cfg, referenceBackend, seed, Float64Array);
  const rand = rng(seed + 100);
  for (let i = 0; i < m.flatParams.length; i++) m.flatParams[i] = (rand() * 2 - 1) * 0.6; // large enough that every path matters
  return m;
}

for (const over of [{ attention_bias: true, tie_word_embeddings: false }, { attention_bias: false, tie_word_embeddings: true }]) {
  test(`model gradients match finite differences (${JSON.stringify(over)})`, () => {
    const cfg = tiny(over), m = model64(cfg), rand = rng(7);
    const B = 2, T = 5, temp = 0.8;
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rand() * cfg.vocab_size));
    const mask = Uint8Array.of(0, 0, 1, 1, 1, /* right padding: */ 1, 1, 1, 1, 0);
    const analytic = checkModelGradients(m, tokens, mask, B, T, temp, rand);
    // a sanity floor: the check is meaningful only if gradients are not all tiny
    assert.ok(analytic.reduce((s, g) => s + Math.abs(g), 0) > 1);
  });
}

function logSoftmax(logits: ArrayLike<number>, off: number, V: number): number[] {
  let max = -Infinity;
  for (let j = 0; j < V; j++) max = Math.max(max, logits[off + j]);
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(logits[off + j] - max);
  return Array.from({ length: V }, (_, j) => logits[off + j] - max - Math.log(s));
}

/** Log-softmax at every position of one unpadded sequence, from V full forwards (target = each vocab id). */
function fullLogProbs(m: Transformer<Float64Array>, seq: number[]): number[][] {
  const V = m.config.vocab_size, T = seq.length, out = Array.from({ length: T }, () => new Array<number>(V));
  for (let j = 0; j < V; j++) {
    const { logp } = m.forward(Int32Array.from(seq), new Uint8Array(T).fill(1), new Int32Array(T).fill(j), 1, T);
    for (let t = 0; t < T; t++) out[t][j] = logp[t];
  }
  return out;
}

test("KV-cache decode (batched prefill with left padding, one-token steps, a padded slot, keep) equals full forward", () => {
  const cfg = tiny({ attention_bias: true }), m = model64(cfg, 3), V = cfg.vocab_size;
  const prompts = [[1, 2, 3, 4], [5, 6], [7, 8, 9]], gen = [[3, 1, 4], [9, 2, 6], [5, 3, 5]];
  const Tp = 4, cache = m.newCache(3, 10);
  const tokens = new Int32Array(3 * Tp), valid = new Uint8Array(3 * Tp);
  prompts.forEach((p, b) => p.forEach((tok, i) => { tokens[b * Tp + Tp - p.length + i] = tok; valid[b * Tp + Tp - p.length + i] = 1; }));
  const seqs = prompts.map(p => [...p]);
  const check = (logits: Float32Array, rows: number[]) => rows.forEach((orig, i) => {
    if (orig < 0) return;
    const want = fullLogProbs(m, seqs[orig]).at(-1)!, got = logSoftmax(logits, i * V, V);
    for (let j = 0; j < V; j++) assert.ok(Math.abs(got[j] - want[j]) < 1e-5, `row ${orig} token ${j}: ${got[j]} vs ${want[j]}`);
  });
  // logits come back as float32, hence 1e-5
  check(m.decode(cache, tokens, valid, Tp), [0, 1, 2]);
  assert.equal(cache.length, Tp);
  // step 1: row 2 gets a padding slot (it is "waiting"); its logits are not compared
  seqs[0].push(gen[0][0]); seqs[1].push(gen[1][0]);
  check(m.decode(cache, Int32Array.of(gen[0][0], gen[1][0], 0), Uint8Array.of(1, 1, 0), 1), [0, 1, -1]);
  // row 1 finishes and leaves; rows 2 and 0 continue, in that order
  cache.keep([2, 0]);
  assert.equal(cache.batch, 2);
  seqs[2].push(gen[2][1]); seqs[0].push(gen[0][1]);
  check(m.decode(cache, Int32Array.of(gen[2][1], gen[0][1]), Uint8Array.of(1, 1), 1), [2, 0]);
  // a two-token step after keep
  seqs[2].push(gen[2][2], 1); seqs[0].push(gen[0][2], 2);
  check(m.decode(cache, Int32Array.of(gen[2][2], 1, gen[0][2], 2), Uint8Array.of(1, 1, 1, 1), 2), [2, 0]);
  assert.throws(() => m.decode(cache, new Int32Array(6), new Uint8Array(6), 3), CacheFullError);
  assert.throws(() => cache.keep([0, 0]), BadKeepRowsError);
});

test("keep() with ascending rows (finished rows leave, the rest move down in place) then decode equals full forward", () => {
  const cfg = tiny({ attention_bias: true }), m = model64(cfg, 5), V = cfg.vocab_size;
  const prompts = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [2, 4, 6]], Tp = 3, cache = m.newCache(4, 8);
  const seqs = prompts.map(p => [...p]);
  m.decode(cache, Int32Array.from(prompts.flat()), new Uint8Array(4 * Tp).fill(1), Tp);
  const buffers = (cache as KVCacheImpl).k[0];
  cache.keep([1, 3]); // rows 0 and 2 finish: row 1 → 0, row 3 → 1
  assert.equal(cache.batch, 2);
  seqs[1].push(7); seqs[3].push(1);
  const logits = m.decode(cache, Int32Array.of(7, 1), Uint8Array.of(1, 1), 1);
  [1, 3].forEach((orig, i) => {
    const want = fullLogProbs(m, seqs[orig]).at(-1)!, got = logSoftmax(logits, i * V, V);
    for (let j = 0; j < V; j++) assert.ok(Math.abs(got[j] - want[j]) < 1e-5, `row ${orig} token ${j}: ${got[j]} vs ${want[j]}`);
  });
  assert.equal((cache as KVCacheImpl).k[0], buffers, "ascending keep reuses the cache's buffers");
});

test("padding in the batch does not change a sequence's log-probs (left and right padding)", () => {
  const cfg = tiny({ attention_bias: true }), m = model64(cfg, 4);
  const seq = [3, 1, 4, 1, 5], tgt = [1, 4, 1, 5, 9];
  const alone = m.forward(Int32Array.from(seq), new Uint8Array(5).fill(1), Int32Array.from(tgt), 1, 5, 1.3);
  const T = 7;
  const tokens = Int32Array.from([0, 0, ...seq, ...seq, 2, 2]), mask = Uint8Array.from([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  const targets = Int32Array.from([-1, -1, ...tgt, ...tgt, -1, -1]);
  const both = m.forward(tokens, mask, targets, 2, T, 1.3);
  for (let t = 0; t < 5; t++) {
    assert.ok(Math.abs(both.logp[2 + t] - alone.logp[t]) < 1e-12);
    assert.ok(Math.abs(both.logp[T + t] - alone.logp[t]) < 1e-12);
    assert.ok(Math.abs(both.entropy[2 + t] - alone.entropy[t]) < 1e-12);
  }
  assert.equal(both.logp[0], 0);
});

test("float32 model on the reference backend: shapes, named errors, and grads accumulate across backward calls", () => {
  const cfg = tiny(), m = createModel(cfg, referenceBackend, 5);
  assert.deepEqual(m.params.map(p => p.name).slice(0, 3), ["model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight"]);
  assert.equal(m.params.reduce((s, p) => s + p.data.length, 0), m.flatParams.length);
  assert.ok(!m.params.some(p => p.name === "lm_head.weight"));
  assert.throws(() => m.backward(new Float32Array(4)), BackwardBeforeForwardError);
  const tokens = Int32Array.of(1, 2, 3, 4), mask = new Uint8Array(4).fill(1), targets = Int32Array.of(2, 3, 4, -1);
  const { logp, entropy } = m.forward(tokens, mask, targets, 1, 4);
  assert.ok(logp[0] < 0 && logp[3] === 0 && entropy[3] === 0 && entropy[2] > 0); // no target, nothing scored
  assert.ok(Math.abs(entropy[0] - Math.log(11)) < 0.01); // std-0.02 init: nearly uniform predictions
  m.flatGrads.fill(0);
  m.backward(Float32Array.of(1, 1, 1, 0));
  const once = m.flatGrads.slice();
  m.backward(Float32Array.of(1, 1, 1, 0));
  for (let i = 0; i < once.length; i += 97) assert.ok(Math.abs(m.flatGrads[i] - 2 * once[i]) <= 1e-6 * (1 + Math.abs(once[i])));
  assert.throws(() => m.forward(Int32Array.of(11), Uint8Array.of(1), Int32Array.of(0), 1, 1), TokenOutOfRangeError);
  assert.throws(() => m.forward(new Int32Array(33), new Uint8Array(33).fill(1), new Int32Array(33), 1, 33), PositionOutOfRangeError);
});
