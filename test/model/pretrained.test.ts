/** loadPretrained skips the random initialisation: every parameter comes from the folder, bit for bit. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelConfigSchema } from "../../src/model/config.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { createModel } from "../../src/model/transformer.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";

const root = mkdtempSync(join(tmpdir(), "m37-pretrained-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

const cfg = ModelConfigSchema.parse({
  architecture: "llama", vocab_size: 13, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2,
  num_key_value_heads: 1, intermediate_size: 12, tie_word_embeddings: false, max_position_embeddings: 32,
});

test("createModel with seed null leaves every parameter 0 (no initialisation)", () => {
  const m = createModel(cfg, referenceBackend, null);
  assert.ok(m.params.every(p => p.data.every(x => x === 0)));
  assert.ok(createModel(cfg, referenceBackend, 0).params.some(p => p.data.some(x => x !== 0)));
});

test("loadPretrained gives the saved model's parameters and log-probs exactly", () => {
  const saved = createModel(cfg, referenceBackend, 7), dir = join(root, "m");
  // norms and biases away from their init values too, so a parameter left at init would show
  saved.params.forEach((p, i) => p.data.forEach((x, j) => { p.data[j] = x + 0.01 * ((i + j) % 5); }));
  savePretrained(saved, dir);
  const { model } = loadPretrained(dir, referenceBackend);
  assert.deepEqual(model.params.map(p => p.name), saved.params.map(p => p.name));
  model.params.forEach((p, i) => assert.deepEqual(p.data, saved.params[i].data, p.name));
  const tokens = Int32Array.of(1, 5, 9, 2), mask = new Uint8Array(4).fill(1), targets = Int32Array.of(5, 9, 2, -1);
  assert.deepEqual(model.forward(tokens, mask, targets, 1, 4).logp, saved.forward(tokens, mask, targets, 1, 4).logp);
});

test("every family saves and loads as a Hugging Face folder: config.json keys, parameters and log-probs exactly", () => {
  const small = { vocab_size: 13, hidden_size: 8, num_hidden_layers: 3, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 12, max_position_embeddings: 32 };
  const families = [
    { architecture: "qwen3", head_dim: 6, tie_word_embeddings: false },
    { architecture: "llama", rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
    { architecture: "smollm3", no_rope_layers: [1, 1, 0] },
    { architecture: "gemma3", head_dim: 4, sliding_window: 2, layer_types: ["sliding_attention", "sliding_attention", "full_attention"], final_logit_softcapping: 3 },
  ];
  for (const f of families) {
    const c = ModelConfigSchema.parse({ ...small, ...f }), saved = createModel(c, referenceBackend, 3), dir = join(root, `fam-${c.architecture}-${c.rope_scaling ? "rs" : ""}`);
    saved.params.forEach((p, i) => p.data.forEach((x, j) => { p.data[j] = x + 0.01 * ((i + j) % 5); }));
    savePretrained(saved, dir);
    const { model, config } = loadPretrained(dir, referenceBackend);
    assert.deepEqual(config, c, c.architecture);
    model.params.forEach((p, i) => assert.deepEqual(p.data, saved.params[i].data, p.name));
    const tokens = Int32Array.of(1, 5, 9, 2, 7), mask = new Uint8Array(5).fill(1), targets = Int32Array.of(5, 9, 2, 7, -1);
    assert.deepEqual(model.forward(tokens, mask, targets, 1, 5).logp, saved.forward(tokens, mask, targets, 1, 5).logp, c.architecture);
  }
});
