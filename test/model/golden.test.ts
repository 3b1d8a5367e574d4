/**
 * The whole tiny model against PyTorch (bench/peers/torch_model.py, written from HF's Llama/Qwen2/Qwen3/SmolLM3/
 * Gemma 3 code and its rope-scaling functions): per-token log-probs and entropies under temperature, decode logits
 * (prefill, and token by token through the KV cache), and every parameter gradient of
 * L = Σ dlogp·logp + Σ dentropy·entropy over a batch with left and right padding. The Gemma 3 fixture's rows (11
 * tokens) are longer than its sliding window (4), so the window is checked in training, prefill and decode.
 * Tolerance (float32 on both sides): log-probs/entropies/logits within 2e-5 absolute; each gradient tensor
 * within 2e-5 (reference backend, measured 2.3e-6) or 1e-4 (native, measured 5.1e-6) of its largest magnitude.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/engine/backend.js";
import { getBackend, nativeAvailable, referenceBackend } from "../../src/engine/index.js";
import { Transformer } from "../../src/model/transformer.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { loadFixture, type Fixture } from "./fixture.js";

function loadInto(g: Fixture, be: Backend) {
  const m = new Transformer(ModelConfigSchema.parse(g.meta.config), be, 0, Float32Array);
  for (const p of m.params) {
    assert.deepEqual(g.shape(p.name), p.shape, p.name);
    p.data.set(g.get(p.name));
  }
  return m;
}

function checkAgainstGolden(fixture: string, be: Backend, gradTol: number): void {
  const g = loadFixture(fixture), m = loadInto(g, be), B: number = g.meta.batch, T: number = g.meta.seq, V = m.config.vocab_size;
  const mask = Uint8Array.from(g.get("mask")), tokens = g.ints("tokens"), targets = g.ints("targets");
  const { logp, entropy } = m.forward(tokens, mask, targets, B, T, g.meta.temperature);
  const wantLogp = g.get("logp"), wantEnt = g.get("entropy");
  let loss = 0;
  const dlogp = g.get("dlogp"), dent = g.get("dentropy");
  for (let i = 0; i < B * T; i++) {
    if (!mask[i]) continue; // padded query rows are undefined in both (torch attends uniformly, Move37 to nothing)
    assert.ok(Math.abs(logp[i] - wantLogp[i]) < 2e-5, `logp[${i}] ${logp[i]} vs ${wantLogp[i]}`);
    assert.ok(Math.abs(entropy[i] - wantEnt[i]) < 2e-5, `entropy[${i}] ${entropy[i]} vs ${wantEnt[i]}`);
    loss += dlogp[i] * logp[i] + dent[i] * entropy[i];
  }
  assert.ok(Math.abs(loss - g.meta.loss) < 1e-4 * (1 + Math.abs(g.meta.loss)), `loss ${loss} vs ${g.meta.loss}`);

  m.flatGrads.fill(0);
  m.backward(dlogp, dent);
  for (const p of m.params) {
    const want = g.get("grad:" + p.name);
    const scale = want.reduce((s, x) => Math.max(s, Math.abs(x)), 0);
    assert.ok(scale > 0, `${p.name}: torch gradient is all zero, the fixture would prove nothing`);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(p.grad[i] - want[i]));
    assert.ok(worst <= gradTol * scale, `grad ${p.name}: max error ${worst} vs max |grad| ${scale}`);
  }

  // Prefill through the KV cache: logits at the last slot of each row whose last token is real.
  const cache = m.newCache(B, T);
  const logits = m.decode(cache, tokens, mask, T), want = g.get("logits");
  const checkLogits = (got: Float32Array, t: number, what: string) => {
    for (let b = 0; b < B; b++) {
      if (!mask[b * T + t]) continue;
      for (let j = 0; j < V; j++) {
        const w = want[(b * T + t) * V + j];
        assert.ok(Math.abs(got[b * V + j] - w) < 2e-5 * (1 + Math.abs(w)), `${what} logits[${b},${t},${j}] ${got[b * V + j]} vs ${w}`);
      }
    }
  };
  checkLogits(logits, T - 1, "prefill");
  // Decode: a 2-token prefill, then one token per step; every step's logits match the full forward's at that slot.
  const step = m.newCache(B, T), P = 2;
  const cols = (t0: number, n: number, a: Int32Array | Uint8Array) => {
    const out = new (a.constructor as any)(B * n);
    for (let b = 0; b < B; b++) for (let t = 0; t < n; t++) out[b * n + t] = a[b * T + t0 + t];
    return out;
  };
  checkLogits(m.decode(step, cols(0, P, tokens), cols(0, P, mask), P), P - 1, "prefill-2");
  for (let t = P; t < T; t++) checkLogits(m.decode(step, cols(t, 1, tokens), cols(t, 1, mask), 1), t, `decode step ${t}`);
}

for (const fixture of ["golden-qwen2", "golden-llama", "golden-qwen3", "golden-llama3", "golden-llama-linear", "golden-smollm3", "golden-gemma3"]) {
  test(`${fixture} (PyTorch) on the reference backend: log-probs, entropy, every gradient, decode logits`, () => checkAgainstGolden(fixture, referenceBackend, 2e-5));
  test(`${fixture} (PyTorch) on the native backend`, { skip: nativeAvailable() ? false : "native addon not built" }, () => checkAgainstGolden(fixture, getBackend("native"), 1e-4));
}
