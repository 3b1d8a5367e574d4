// GGUF export of Qwen3, Llama 3.x rope scaling, Gemma 3 and SmolLM3: the metadata keys and tensor transforms of
// llama.cpp's converter, checked value by value against independent statements of each rule; and the refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readGgufInfo, readGgufTensor } from "../../src/model/io/gguf.js";
import { exportGguf, gemmaQueryScaleFold, ggufTensorName } from "../../src/model/io/gguf-export.js";
import { fromHfConfig } from "../../src/model/io/hf-config.js";
import { GgufExportError } from "../../src/model/io/errors.js";
import { loadHfFolder } from "../../src/model/io/hf.js";
import { familyConfigs, writeFamilyFolder, type Family } from "./family-folders.js";

const root = mkdtempSync(join(tmpdir(), "m37-gguf-fam-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

/** transformers' _compute_llama3_parameters, as the ratio old/new inverse frequency of each pair. */
function hfLlama3Ratios(theta: number, dim: number, r: { factor: number; low_freq_factor: number; high_freq_factor: number; original_max_position_embeddings: number }) {
  return Array.from({ length: dim / 2 }, (_, i) => {
    const inv = 1 / theta ** ((2 * i) / dim);
    const wavelen = (2 * Math.PI) / inv;
    const lowWave = r.original_max_position_embeddings / r.low_freq_factor, highWave = r.original_max_position_embeddings / r.high_freq_factor;
    let scaled = wavelen > lowWave ? inv / r.factor : inv;
    if (!(wavelen < highWave) && !(wavelen > lowWave)) {
      const smooth = (r.original_max_position_embeddings / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      scaled = (1 - smooth) * (inv / r.factor) + smooth * inv;
    }
    return inv / scaled;
  });
}

const GGUF_ARCH: Record<Family, string> = { qwen3: "qwen3", llama3: "llama", llamaLinear: "llama", gemma3: "gemma3", smollm3: "smollm3" };

for (const family of Object.keys(familyConfigs) as Family[]) {
  test(`${family} export: architecture keys and every tensor as llama.cpp's converter writes it`, () => {
    const dir = join(root, family);
    const config = writeFamilyFolder(dir, family, 3);
    const out = join(root, `${family}.gguf`);
    const res = exportGguf(dir, out, "f32");
    assert.deepEqual(res.warnings, []);
    const info = readGgufInfo(out);
    const a = GGUF_ARCH[family];
    const kv = (k: string) => info.kv.get(k);
    const json = familyConfigs[family] as Record<string, any>;
    assert.deepEqual(kv("general.architecture"), { type: "string", value: a });
    const hd = json.head_dim ?? json.hidden_size / json.num_attention_heads;
    assert.deepEqual(kv(`${a}.rope.dimension_count`), { type: "u32", value: hd });
    // an explicit head_dim other than hidden / heads (Qwen3, Gemma 3) must reach the loader as key/value lengths
    if (json.head_dim !== undefined && json.head_dim !== json.hidden_size / json.num_attention_heads) {
      assert.deepEqual(kv(`${a}.attention.key_length`), { type: "u32", value: json.head_dim });
      assert.deepEqual(kv(`${a}.attention.value_length`), { type: "u32", value: json.head_dim });
    }
    assert.deepEqual(kv(`${a}.rope.freq_base`), { type: "f32", value: Math.fround(json.rope_theta) });
    assert.equal(kv(`${a}.attention.head_count_kv`)?.value, json.num_key_value_heads);
    assert.ok(kv("tokenizer.chat_template")?.value, "the family's chat template travels in the file");

    // rope scaling: linear as keys, llama3 as the rope_freqs tensor, nothing otherwise
    const rs = json.rope_scaling;
    assert.deepEqual(kv(`${a}.rope.scaling.type`), rs?.type === "linear" ? { type: "string", value: "linear" } : undefined);
    assert.deepEqual(kv(`${a}.rope.scaling.factor`), rs?.type === "linear" ? { type: "f32", value: rs.factor } : undefined);
    const ropeFreqs = info.tensors.find(t => t.name === "rope_freqs.weight");
    assert.equal(!!ropeFreqs, rs?.rope_type === "llama3");
    if (ropeFreqs) {
      assert.deepEqual(ropeFreqs.ne, [hd / 2]);
      const got = readGgufTensor(out, info, "rope_freqs.weight"), want = hfLlama3Ratios(json.rope_theta, hd, rs);
      want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-6 * w, `rope_freqs[${i}] ${got[i]} vs ${w}`));
      assert.ok(got[0] === 1 && got[hd / 2 - 1] === rs.factor && got.some(f => f > 1 && f < rs.factor), "all three bands present");
    }

    // Gemma 3: per-layer sliding pattern, window, local rope base, soft-capping
    if (family === "gemma3") {
      assert.deepEqual(kv("gemma3.attention.sliding_window"), { type: "u32", value: json.sliding_window });
      assert.deepEqual(kv("gemma3.attention.sliding_window_pattern"), { type: "array", itemType: "bool", value: json.layer_types.map((t: string) => t === "sliding_attention") });
      assert.deepEqual(kv("gemma3.rope.freq_base_swa"), { type: "f32", value: json.rope_local_base_freq });
      assert.deepEqual(kv("gemma3.final_logit_softcapping"), { type: "f32", value: json.final_logit_softcapping });
    } else {
      assert.equal([...info.kv.keys()].some(k => /sliding|softcapping|freq_base_swa/.test(k)), false);
    }

    // tensors: every HF tensor once (plus rope_freqs), ne reversed, values transformed per rule
    const { tensors } = loadHfFolder(dir);
    assert.equal(info.tensors.length, tensors.length + (ropeFreqs ? 1 : 0));
    const permuted = a === "llama" || a === "smollm3"; // llama.cpp's NORM rope (adjacent pairs) for these two
    const fold = family === "gemma3" ? Math.sqrt(hd / json.query_pre_attn_scalar) : 1; // llama.cpp scales q by 1/√head_dim
    for (const p of tensors) {
      const name = ggufTensorName(p.name, config.architecture);
      const t = info.tensors.find(x => x.name === name);
      assert.ok(t, `${p.name} → ${name}`);
      assert.deepEqual(t.ne, [...p.shape].reverse(), name);
      const got = readGgufTensor(out, info, name);
      const cols = p.shape.length === 2 ? p.shape[1] : 1;
      const heads = /q_proj/.test(p.name) ? json.num_attention_heads : /k_proj/.test(p.name) ? json.num_key_value_heads : 0;
      for (let r = 0; r < p.data.length / cols; r++) {
        const h = Math.floor(r / hd), i = r % hd;
        const src = permuted && heads ? h * hd + (i % 2 === 0 ? i / 2 : hd / 2 + (i - 1) / 2) : r;
        for (let c = 0; c < cols; c++) {
          let want = p.data[src * cols + c];
          if (family === "gemma3" && /norm\.weight$/.test(p.name)) want = (1 + want) * (/q_norm/.test(p.name) ? fold : 1);
          assert.ok(Math.abs(got[r * cols + c] - want) <= 1e-6 * Math.max(1, Math.abs(want)), `${name}[${r},${c}] ${got[r * cols + c]} vs ${want}`);
        }
      }
    }
    if (family === "gemma3") {
      for (const n of ["blk.0.attn_norm", "blk.0.post_attention_norm", "blk.0.ffn_norm", "blk.0.post_ffw_norm", "blk.0.attn_q_norm", "blk.0.attn_k_norm"]) {
        assert.ok(info.tensors.some(t => t.name === `${n}.weight`), n);
      }
    }
  });
}

test("export refuses, by key, what llama.cpp's architecture cannot express", () => {
  const cases: [Family, Record<string, unknown>, RegExp][] = [
    ["smollm3", { no_rope_layers: [1, 0, 1, 1] }, /no_rope_layers is \[1,0,1,1\].*every 4th layer/],
    ["smollm3", { no_rope_layer_interval: 2, no_rope_layers: undefined }, /no_rope_layers is \[1,0,1,0\]/],
    ["qwen3", { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, /rope_scaling\.rope_type is llama3/],
    ["smollm3", { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } }, /rope_scaling\.rope_type is llama3/],
    ["gemma3", { attn_logit_softcapping: 50 }, /attn_logit_softcapping is 50/],
    ["gemma3", { hidden_activation: "silu" }, /hidden_act is silu/],
  ];
  for (const [family, overrides, message] of cases) {
    const dir = join(root, `refuse-${family}`);
    writeFamilyFolder(dir, family, 1, overrides);
    assert.throws(() => exportGguf(dir, join(root, "refused.gguf")), (e: Error) => e instanceof GgufExportError && message.test(e.message), `${family} ${JSON.stringify(overrides)}`);
  }
});

test("Gemma 3 query scale fold: llama.cpp's fixed scale by shape (1/√head_dim; 1/√(hidden/heads) at its 62-layer 27B) against query_pre_attn_scalar", () => {
  const gemma = (o: Record<string, unknown>) => fromHfConfig({ ...familyConfigs.gemma3, ...o });
  assert.equal(gemmaQueryScaleFold(gemma({ query_pre_attn_scalar: 32 })), 1, "qpas = head_dim (gemma-3-270m, 1b): nothing to fold");
  assert.ok(Math.abs(gemmaQueryScaleFold(gemma({})) - Math.sqrt(32 / 24)) < 1e-12);
  // gemma-3-27b: 62 layers, hidden 5376, 32 heads, head_dim 128, query_pre_attn_scalar 168 = 5376 / 32
  const big = { num_hidden_layers: 62, hidden_size: 5376, num_attention_heads: 32, num_key_value_heads: 16, head_dim: 128, layer_types: undefined, sliding_window_pattern: 6 };
  assert.equal(gemmaQueryScaleFold(gemma({ ...big, query_pre_attn_scalar: 168 })), 1);
  assert.ok(Math.abs(gemmaQueryScaleFold(gemma({ ...big, query_pre_attn_scalar: 128 })) - Math.sqrt(168 / 128)) < 1e-12);
});
