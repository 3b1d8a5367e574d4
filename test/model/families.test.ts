/**
 * Qwen3, Llama 3 rope scaling, SmolLM3 and Gemma 3 models against themselves by independent routes: every parameter
 * gradient against float64 central differences, and KV-cache decoding (batched prefill with left padding, one-token
 * steps past Gemma's sliding window) against full forwards of each sequence alone. (PyTorch is the other oracle:
 * golden.test.ts.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../../src/model/config.js";
import { ropeInvFreq } from "../../src/model/attention.js";
import { Transformer } from "../../src/model/transformer.js";
import { checkModelGradients, rng } from "./finite-diff.js";

const base = {
  vocab_size: 11, hidden_size: 8, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 2,
  intermediate_size: 12, rms_norm_eps: 1e-5, max_position_embeddings: 32,
};
const families: Record<string, Record<string, unknown>> = {
  qwen3: { architecture: "qwen3", head_dim: 6 },
  "llama3 rope": { architecture: "llama", rope_theta: 100, rope_scaling: { rope_type: "llama3", factor: 4, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  smollm3: { architecture: "smollm3", no_rope_layers: [1, 0, 1] },
  gemma3: {
    architecture: "gemma3", head_dim: 4, query_pre_attn_scalar: 7, sliding_window: 2,
    layer_types: ["sliding_attention", "full_attention", "sliding_attention"], rope_local_base_freq: 50, final_logit_softcapping: 1.5,
  },
  "gemma3 attention soft-cap": {
    architecture: "gemma3", head_dim: 4, query_pre_attn_scalar: 0.5, sliding_window: 3,
    layer_types: ["full_attention", "sliding_attention", "full_attention"], attn_logit_softcapping: 0.7,
  },
};
const config = (name: string): ModelConfig => ModelConfigSchema.parse({ ...base, ...families[name] });

function model64(cfg: ModelConfig, seed = 1) {
  const m = new Transformer(cfg, referenceBackend, seed, Float64Array);
  const rand = rng(seed + 100);
  for (let i = 0; i < m.flatParams.length; i++) m.flatParams[i] = (rand() * 2 - 1) * 0.6;
  return m;
}

for (const name of Object.keys(families)) {
  test(`${name}: every parameter gradient matches finite differences (padding on both sides, T past the window)`, () => {
    const cfg = config(name), m = model64(cfg), rand = rng(7);
    const B = 2, T = 6, temp = 0.8;
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(rand() * cfg.vocab_size));
    const mask = Uint8Array.of(0, 1, 1, 1, 1, 1, /* right padding: */ 1, 1, 1, 1, 1, 0);
    checkModelGradients(m, tokens, mask, B, T, temp, rand);
    for (const p of m.params) assert.ok(p.grad.some(g => g !== 0), `${p.name} got no gradient`);
  });

  test(`${name}: batched KV-cache decode equals full forwards of each sequence alone`, () => {
    const cfg = config(name), m = model64(cfg, 3), V = cfg.vocab_size;
    const seqs = [[1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 2, 3, 1, 4]];
    const promptLen = [2, 4], P = 4, steps = 3, B = 2;
    // reference: log-softmax of the full forward at every position, one sequence at a time (target = each vocab id)
    const full = seqs.map(seq => {
      const T = seq.length, out: number[][] = Array.from({ length: T }, () => []);
      for (let j = 0; j < V; j++) {
        const { logp } = m.forward(Int32Array.from(seq), new Uint8Array(T).fill(1), new Int32Array(T).fill(j), 1, T);
        for (let t = 0; t < T; t++) out[t][j] = logp[t];
      }
      return out;
    });
    const logSoftmax = (l: Float32Array, off: number) => {
      let mx = -Infinity, s = 0;
      for (let j = 0; j < V; j++) mx = Math.max(mx, l[off + j]);
      for (let j = 0; j < V; j++) s += Math.exp(l[off + j] - mx);
      return Array.from({ length: V }, (_, j) => l[off + j] - mx - Math.log(s));
    };
    const cache = m.newCache(B, P + steps);
    const tok = new Int32Array(B * P), valid = new Uint8Array(B * P);
    seqs.forEach((s, b) => { for (let t = 0; t < promptLen[b]; t++) { tok[b * P + P - promptLen[b] + t] = s[t]; valid[b * P + P - promptLen[b] + t] = 1; } });
    let logits = m.decode(cache, tok, valid, P);
    for (let step = 0; step <= steps; step++) {
      seqs.forEach((s, b) => {
        const got = logSoftmax(logits, b * V), want = full[b][promptLen[b] - 1 + step];
        for (let j = 0; j < V; j++) assert.ok(Math.abs(got[j] - want[j]) < 1e-5, `${name} row ${b} step ${step} token ${j}: ${got[j]} vs ${want[j]}`);
      });
      if (step === steps) break;
      logits = m.decode(cache, Int32Array.from(seqs.map((s, b) => s[promptLen[b] + step])), Uint8Array.of(1, 1), 1);
    }
  });
}

test("gemma3 on the native backend equals the reference (float32): log-probs and every gradient", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  const cfg = config("gemma3"), nat = new Transformer(cfg, getBackend("native"), 5, Float32Array), ref = new Transformer(cfg, referenceBackend, 5, Float32Array);
  const rand = rng(9);
  for (const m of [nat, ref]) for (let i = 0; i < m.flatParams.length; i++) m.flatParams[i] = 0; // same weights below
  for (let i = 0; i < nat.flatParams.length; i++) nat.flatParams[i] = ref.flatParams[i] = (rand() * 2 - 1) * 0.6;
  const B = 2, T = 9, tokens = Int32Array.from({ length: B * T }, () => Math.floor(rand() * cfg.vocab_size));
  const mask = new Uint8Array(B * T).fill(1), targets = Int32Array.from(tokens, (_, i) => (i % T < T - 1 ? tokens[i + 1] : -1));
  const a = Float32Array.from({ length: B * T }, () => rand() * 2 - 1);
  const rn = nat.forward(tokens, mask, targets, B, T), rr = ref.forward(tokens, mask, targets, B, T);
  for (let i = 0; i < B * T; i++) assert.ok(Math.abs(rn.logp[i] - rr.logp[i]) < 1e-4, `logp[${i}]`);
  nat.flatGrads.fill(0); ref.flatGrads.fill(0);
  nat.backward(a); ref.backward(a);
  const scale = ref.flatGrads.reduce((s, g) => Math.max(s, Math.abs(g)), 0);
  for (let i = 0; i < ref.flatGrads.length; i++) assert.ok(Math.abs(nat.flatGrads[i] - ref.flatGrads[i]) < 1e-4 * scale, `grad[${i}]`);
});

test("Gemma 3 initialises its norm weights at 0 (applied as 1 + w); other families at 1", () => {
  const g = new Transformer(config("gemma3"), referenceBackend, 0, Float32Array), q = new Transformer(config("qwen3"), referenceBackend, 0, Float32Array);
  for (const p of g.params) if (/norm\.weight$/.test(p.name)) assert.ok(p.data.every(x => x === 0), p.name);
  for (const p of q.params) if (/norm\.weight$/.test(p.name)) assert.ok(p.data.every(x => x === 1), p.name);
});

test("rope scaling: linear divides every frequency; llama3 keeps high, divides low and blends the middle band", () => {
  const plain = ropeInvFreq(8, 10000, null);
  assert.deepEqual([...ropeInvFreq(8, 10000, { rope_type: "linear", factor: 4 })], [...plain].map(f => f / 4));
  // wavelengths 2π/inv: 6.3, 63, 628, 6283 against L/high = 16 and L/low = 64
  const l3 = ropeInvFreq(8, 10000, { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 });
  assert.equal(l3[0], plain[0]);
  assert.equal(l3[2], plain[2] / 8);
  assert.equal(l3[3], plain[3] / 8);
  const s = (64 / (2 * Math.PI / plain[1]) - 1) / (4 - 1);
  assert.ok(s > 0 && s < 1);
  assert.ok(Math.abs(l3[1] - ((1 - s) * plain[1] / 8 + s * plain[1])) < 1e-15);
});

