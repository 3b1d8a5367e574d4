/**
 * LoRA (src/model/lora.ts, src/train/lora.ts) against independent routes: adapter gradients against float64 central
 * differences (with and without dropout, every family trait that changes the projections' wiring), the frozen base
 * receiving no gradient, B = 0 giving the base's log-probs exactly, adapters-off = base exactly, and the merged
 * model (W + s·B·A written out) giving the unmerged model's log-probs and logits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend } from "../../src/engine/index.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { Transformer } from "../../src/model/transformer.js";
import { LoraConfigSchema, createAdapters, loraScale } from "../../src/model/lora.js";
import { LoraModel } from "../../src/train/lora.js";
import { checkGrad, dot, rng } from "../model/finite-diff.js";

const tiny = (over: Record<string, unknown> = {}) => ModelConfigSchema.parse({
  vocab_size: 11, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
  intermediate_size: 12, rms_norm_eps: 1e-5, max_position_embeddings: 32, ...over,
});

function batch(V: number, seed: number) {
  const rand = rng(seed), B = 2, T = 5;
  const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rand() * V));
  const mask = Uint8Array.of(0, 0, 1, 1, 1, 1, 1, 1, 1, 0);
  const targets = Int32Array.from(tokens, (_, i) => mask[i] && i % T < T - 1 && mask[i + 1] ? tokens[i + 1] : -1);
  return { B, T, tokens, mask, targets };
}

const families: [string, Record<string, unknown>][] = [
  ["qwen2 (bias)", { attention_bias: true, tie_word_embeddings: false }],
  ["qwen3 (q/k norms)", { architecture: "qwen3", head_dim: 6 }],
  ["gemma3 (post-norms, GeGLU, soft-caps)", { architecture: "gemma3", head_dim: 4, query_pre_attn_scalar: 7, sliding_window: 2, layer_types: ["sliding_attention", "full_attention"], final_logit_softcapping: 1.5 }],
];

for (const [name, over] of families) for (const dropout of [0, 0.3]) {
  test(`LoRA gradients match finite differences, base frozen: ${name}, lora_dropout ${dropout}`, () => {
    const cfg = tiny(over);
    const m = new Transformer(cfg, referenceBackend, 1, Float64Array), rand = rng(5);
    for (let i = 0; i < m.flatParams.length; i++) m.flatParams[i] = (rand() * 2 - 1) * 0.6;
    const ad = createAdapters(cfg, LoraConfigSchema.parse({ r: 2, lora_alpha: 3, lora_dropout: dropout, target_modules: "all-linear", use_rslora: true }), Float64Array);
    for (let i = 0; i < ad.flat.length; i++) ad.flat[i] = (rand() * 2 - 1) * 0.5; // B ≠ 0 so every path matters
    m.attachLora(ad);
    const { B, T, tokens, mask, targets } = batch(cfg.vocab_size, 9);
    const a = Float64Array.from({ length: B * T }, () => rand() * 2 - 1);
    // the same dropout masks in every forward: the mask stream restarts
    const loss = () => { ad.ctl.dropoutCalls = 0; return dot(a, m.forward(tokens, mask, targets, B, T, 0.9).logp); };
    loss();
    m.flatGrads.fill(0); ad.grads.fill(0);
    m.backward(a);
    const analytic = ad.grads.slice();
    const idx = Array.from({ length: 120 }, (_, i) => Math.floor(i * ad.flat.length / 120));
    checkGrad("adapters", ad.flat, loss, analytic, { h: 1e-5, atol: 1e-8, rtol: 1e-5, indices: idx });
    assert.ok(analytic.reduce((s, g) => s + Math.abs(g), 0) > 0.1);
    // the base: no gradient for any projection, the embedding or the head
    for (const p of m.params) if (!/norm/.test(p.name)) assert.ok(p.grad.every(g => g === 0), `${p.name} got a gradient`);
  });
}

test("dropout changes the adapter's input in training forwards only", () => {
  const cfg = tiny(), m = new Transformer(cfg, referenceBackend, 1, Float64Array);
  const ad = createAdapters(cfg, LoraConfigSchema.parse({ r: 2, lora_dropout: 0.5, target_modules: ["q_proj", "down_proj"] }), Float64Array);
  ad.flat.fill(0.3);
  m.attachLora(ad);
  const { B, T, tokens, mask, targets } = batch(cfg.vocab_size, 3);
  const a = m.forward(tokens, mask, targets, B, T).logp.slice(), b = m.forward(tokens, mask, targets, B, T).logp.slice();
  assert.notDeepEqual(Array.from(a), Array.from(b)); // a new mask each training forward
  const d1 = m.decode(m.newCache(1, 8), Int32Array.of(1, 2, 3), Uint8Array.of(1, 1, 1), 3);
  const d2 = m.decode(m.newCache(1, 8), Int32Array.of(1, 2, 3), Uint8Array.of(1, 1, 1), 3);
  assert.deepEqual(Array.from(d1), Array.from(d2)); // decode: no dropout
});

test("scaling: lora_alpha/r, or lora_alpha/√r with use_rslora", () => {
  assert.equal(loraScale({ r: 16, lora_alpha: 32, use_rslora: false }), 2);
  assert.equal(loraScale({ r: 16, lora_alpha: 32, use_rslora: true }), 8);
});

function float32Pair(over: Record<string, unknown> = {}) {
  const cfg = tiny({ attention_bias: true, ...over }), be = getBackend("auto");
  const plain = new Transformer(cfg, be, 3, Float32Array);
  const base = new Transformer(cfg, be, null, Float32Array);
  base.flatParams.set(plain.flatParams);
  return { cfg, plain, base, be };
}

test("a fresh adapter (B = 0) gives the base's log-probs and logits exactly; A is Kaiming-uniform, B zero", () => {
  const { cfg, plain, base } = float32Pair();
  const lm = new LoraModel(base, LoraConfigSchema.parse({ r: 4, lora_alpha: 16, target_modules: "all-linear" }), null);
  for (const a of lm.adapters.adapters) {
    assert.ok(a.B.every(x => x === 0));
    const bound = 1 / Math.sqrt(a.I);
    assert.ok(a.A.every(x => Math.abs(x) <= bound) && a.A.some(x => x !== 0));
  }
  const { B, T, tokens, mask, targets } = batch(cfg.vocab_size, 4);
  assert.deepEqual(Array.from(lm.forward(tokens, mask, targets, B, T).logp), Array.from(plain.forward(tokens, mask, targets, B, T).logp));
  const ids = Int32Array.of(1, 5, 2, 7), v = Uint8Array.of(1, 1, 1, 1);
  assert.deepEqual(Array.from(lm.decode(lm.newCache(1, 8), ids, v, 4)), Array.from(plain.decode(plain.newCache(1, 8), ids, v, 4)));
});

test("adapters off = the base exactly; merged weights = unmerged log-probs and logits", () => {
  const { cfg, plain, base, be } = float32Pair({ tie_word_embeddings: false });
  const lm = new LoraModel(base, LoraConfigSchema.parse({ r: 3, lora_alpha: 6, target_modules: ["q_proj", "k_proj", "v_proj", "o_proj", "up_proj", "down_proj"] }), null);
  const rand = rng(11);
  for (let i = 0; i < lm.flatParams.length; i++) lm.flatParams[i] = (rand() * 2 - 1) * 0.5;
  const { B, T, tokens, mask, targets } = batch(cfg.vocab_size, 6);
  const withLora = lm.forward(tokens, mask, targets, B, T).logp.slice();
  const ref = lm.reference().forward(tokens, mask, targets, B, T).logp;
  assert.deepEqual(Array.from(ref), Array.from(plain.forward(tokens, mask, targets, B, T).logp));
  assert.ok(withLora.some((x, i) => Math.abs(x - ref[i]) > 1e-3), "the adapter changes the model");
  // merged: a plain model holding W + s·B·A
  const merged = new Transformer(cfg, be, null, Float32Array);
  const tensors = lm.mergedTensors();
  merged.params.forEach((p, i) => { assert.equal(p.name, tensors[i].name); p.data.set(tensors[i].data); });
  const mlogp = merged.forward(tokens, mask, targets, B, T).logp;
  for (let i = 0; i < mlogp.length; i++) assert.ok(Math.abs(mlogp[i] - withLora[i]) < 1e-5, `logp[${i}] merged ${mlogp[i]} vs unmerged ${withLora[i]}`);
  const ids = Int32Array.of(3, 1, 4, 1, 5), v = Uint8Array.of(1, 1, 1, 1, 1);
  const a = lm.decode(lm.newCache(1, 8), ids, v, 5), b = merged.decode(merged.newCache(1, 8), ids, v, 5);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `logit ${i}`);
  // the base's own weights were not touched by merging
  assert.deepEqual(Array.from(base.flatParams), Array.from(plain.flatParams));
});

test("evaluating(): training forwards without dropout (PEFT's eval mode), the mask stream left where it was", () => {
  const { cfg, base } = float32Pair();
  const lm = new LoraModel(base, LoraConfigSchema.parse({ r: 2, lora_dropout: 0.5, target_modules: "all-linear" }), null);
  lm.flatParams.fill(0.2);
  const { B, T, tokens, mask, targets } = batch(cfg.vocab_size, 8);
  const calls = lm.adapters.ctl.dropoutCalls;
  const a = lm.evaluating(() => lm.forward(tokens, mask, targets, B, T).logp), b = lm.evaluating(() => lm.forward(tokens, mask, targets, B, T).logp);
  assert.deepEqual(Array.from(a), Array.from(b));
  assert.equal(lm.adapters.ctl.dropoutCalls, calls);
  assert.notDeepEqual(Array.from(lm.forward(tokens, mask, targets, B, T).logp), Array.from(a));
});
