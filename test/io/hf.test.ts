import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelConfigSchema, type ModelConfig } from "../../src/model/config.js";
import { fromHfConfig, toHfConfig } from "../../src/model/io/hf-config.js";
import { numel, paramSpecs } from "../../src/model/params.js";
import { INDEX_FILE, loadHfFolder, saveHfFolder, SINGLE_FILE, tokenizerFiles } from "../../src/model/io/hf.js";
import { createModel } from "../../src/model/transformer.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { writeSafetensors, type TensorData } from "../../src/model/io/safetensors.js";
import { CheckpointTensorsError, ModelConfigError, ModelFolderError, SafetensorsTruncatedError, UnsupportedArchitectureError } from "../../src/model/io/errors.js";

const root = mkdtempSync(join(tmpdir(), "m37-hf-"));
test.after(() => rmSync(root, { recursive: true, force: true }));

const qwen: ModelConfig = ModelConfigSchema.parse({
  architecture: "qwen2", vocab_size: 11, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 4,
  num_key_value_heads: 2, intermediate_size: 12, rope_theta: 1e6, attention_bias: true, tie_word_embeddings: true,
  eos_token_id: 10, max_position_embeddings: 64,
});
const llama: ModelConfig = { ...qwen, architecture: "llama", attention_bias: false, tie_word_embeddings: false, rope_theta: 10000 };

function randomTensors(c: ModelConfig, seed = 1): TensorData[] {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  return paramSpecs(c).map(({ name, shape }) => ({ name, shape, data: new Float32Array(numel(shape)).map(rnd) }));
}

test("a real Qwen2.5-0.5B config.json maps to ModelConfig (qkv bias, tied) and back", () => {
  const hf = {
    architectures: ["Qwen2ForCausalLM"], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151643,
    hidden_act: "silu", hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768,
    max_window_layers: 24, model_type: "qwen2", num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2,
    rms_norm_eps: 1e-06, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: "bfloat16",
    transformers_version: "4.40.1", use_cache: true, use_sliding_window: false, vocab_size: 151936,
  };
  const c = fromHfConfig(hf);
  assert.deepEqual(c, {
    architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: 24, num_attention_heads: 14,
    num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
    tie_word_embeddings: true, max_position_embeddings: 32768, bos_token_id: 151643, eos_token_id: 151643,
  });
  assert.deepEqual(fromHfConfig(toHfConfig(c)), c);
  const names = paramSpecs(c).map(p => p.name);
  assert.equal(names.length, 1 + 24 * 12 + 1, "embed + 12 per layer (3 biases) + norm, no lm_head");
  const params = paramSpecs(c).reduce((s, p) => s + numel(p.shape), 0);
  assert.equal(params, 494_032_768, "Qwen2.5-0.5B's published parameter count");
});

test("Llama config: HF defaults (untied, kv heads = heads); refuses what the model does not implement", () => {
  const base = { architectures: ["LlamaForCausalLM"], vocab_size: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 4, intermediate_size: 40 };
  const c = fromHfConfig(base);
  assert.equal(c.tie_word_embeddings, false);
  assert.equal(c.num_key_value_heads, 4);
  assert.equal(c.attention_bias, false);
  assert.equal(fromHfConfig({ ...base, eos_token_id: [7, 9] }).eos_token_id, 7);
  assert.throws(() => fromHfConfig({ ...base, architectures: ["MistralForCausalLM"] }),
    (e: Error) => e instanceof UnsupportedArchitectureError && /MistralForCausalLM.*LlamaForCausalLM, Qwen2ForCausalLM/.test(e.message));
  assert.throws(() => fromHfConfig({ ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }), (e: Error) => e instanceof ModelConfigError && /rope_scaling/.test(e.message));
  assert.throws(() => fromHfConfig({ ...base, rope_scaling: { rope_type: "yarn", factor: 4 } }), (e: Error) => e instanceof ModelConfigError && /rope_scaling\.rope_type is "yarn"/.test(e.message));
  assert.throws(() => fromHfConfig({ ...base, attention_bias: true }), /o_proj/);
  assert.throws(() => fromHfConfig({ ...base, hidden_act: "gelu" }), /gelu/);
  assert.throws(() => fromHfConfig({ ...base, hidden_size: "big" }), (e: Error) => e instanceof ModelConfigError && /hidden_size/.test(e.message));
});

test("save → load round trip, single file, exact in F32; tokenizer files copied", () => {
  const src = join(root, "tok-src");
  mkdirSync(src);
  writeFileSync(join(src, "tokenizer.json"), "{}");
  for (const c of [qwen, llama]) {
    const dir = join(root, `rt-${c.architecture}`);
    const tensors = randomTensors(c);
    saveHfFolder(dir, c, tensors, { copyFrom: src });
    assert.ok(existsSync(join(dir, SINGLE_FILE)) && !existsSync(join(dir, INDEX_FILE)));
    const back = loadHfFolder(dir);
    assert.deepEqual(back.config, c);
    assert.deepEqual(back.tensors.map(t => t.name), tensors.map(t => t.name));
    back.tensors.forEach((t, i) => assert.deepEqual(t.data, tensors[i].data, t.name));
    assert.equal(back.tensors.some(t => t.name === "lm_head.weight"), !c.tie_word_embeddings);
    assert.equal(tokenizerFiles(dir).tokenizerJson, join(dir, "tokenizer.json"));
    // re-saving over the folder keeps its tokenizer; other files go (the folder is replaced as a whole)
    writeFileSync(join(dir, "notes.txt"), "x");
    saveHfFolder(dir, c, randomTensors(c, 9));
    assert.equal(readFileSync(join(dir, "tokenizer.json"), "utf8"), "{}");
    assert.ok(!existsSync(join(dir, "notes.txt")));
    assert.notDeepEqual(loadHfFolder(dir).tensors[0].data, tensors[0].data);
  }
});

test("sharded save writes an index that transformers' layout expects and loads back; BF16 halves the size", () => {
  const dir = join(root, "sharded");
  const tensors = randomTensors(llama, 5);
  saveHfFolder(dir, llama, tensors, { maxShardBytes: 600, dtype: "BF16" });
  const index = JSON.parse(readFileSync(join(dir, INDEX_FILE), "utf8"));
  const shards = [...new Set(Object.values(index.weight_map))] as string[];
  assert.ok(shards.length > 2, `${shards.length} shards`);
  assert.match(shards[0], /^model-00001-of-000\d\d\.safetensors$/);
  assert.equal(index.metadata.total_size, tensors.reduce((s, t) => s + 2 * t.data.length, 0));
  assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).torch_dtype, "bfloat16");
  const back = loadHfFolder(dir);
  back.tensors.forEach((t, i) => t.data.forEach((v, j) => assert.ok(Math.abs(v - tensors[i].data[j]) <= Math.abs(tensors[i].data[j]) / 256)));
});

test("missing, unexpected and mis-shaped tensors are all listed; a damaged shard is a named error", () => {
  const dir = join(root, "bad");
  saveHfFolder(dir, qwen, randomTensors(qwen));
  const tensors = randomTensors(qwen).filter(t => t.name !== "model.layers.1.self_attn.k_proj.bias");
  const i = tensors.findIndex(t => t.name === "model.norm.weight");
  tensors[i] = { name: "model.norm.weight", shape: [9], data: new Float32Array(9) };
  tensors.push({ name: "model.extra.weight", shape: [1], data: new Float32Array(1) });
  writeSafetensors(join(dir, SINGLE_FILE), tensors);
  assert.throws(() => loadHfFolder(dir), (e: Error) => e instanceof CheckpointTensorsError
    && e.missing.join() === "model.layers.1.self_attn.k_proj.bias"
    && e.unexpected.join() === "model.extra.weight"
    && /model\.norm\.weight \[9\] \(expected \[8\]\)/.test(e.message));
  // a tied model whose file also carries lm_head.weight still loads (transformers ignores it too)
  writeSafetensors(join(dir, SINGLE_FILE), [...randomTensors(qwen), { name: "lm_head.weight", shape: [11, 8], data: new Float32Array(88) }]);
  assert.equal(loadHfFolder(dir).tensors.length, paramSpecs(qwen).length);
  // truncated shard
  const sharded = join(root, "bad-shards");
  saveHfFolder(sharded, qwen, randomTensors(qwen), { maxShardBytes: 2000 });
  const shard = readdirSync(sharded).find(f => f.startsWith("model-00002"))!;
  const bytes = readFileSync(join(sharded, shard));
  writeFileSync(join(sharded, shard), bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadHfFolder(sharded), SafetensorsTruncatedError);
  rmSync(join(sharded, shard));
  assert.throws(() => loadHfFolder(sharded), (e: Error) => e instanceof ModelFolderError && /missing/.test(e.message));
  assert.throws(() => loadHfFolder(join(root, "nowhere")), (e: Error) => e instanceof ModelFolderError && /config\.json/.test(e.message));
});

test("a save that fails half way leaves the previous checkpoint intact and no temp folder", () => {
  const dir = join(root, "atomic");
  const good = randomTensors(llama, 3);
  saveHfFolder(dir, llama, good);
  const tensors = randomTensors(llama, 4);
  let reads = 0;
  const last = tensors[tensors.length - 1];
  const data = last.data;
  // the last tensor's bytes become unreadable once writing has started: a crash in the middle of the save
  Object.defineProperty(last, "data", { get: () => { if (++reads > 2) throw new Error("disk full"); return data; } });
  assert.throws(() => saveHfFolder(dir, llama, tensors), /disk full/);
  assert.deepEqual(loadHfFolder(dir).tensors[0].data, good[0].data);
  assert.deepEqual(readdirSync(root).filter(f => f.startsWith("atomic")), ["atomic"]);
  assert.throws(() => saveHfFolder(dir, { ...llama, attention_bias: true }, good), /o_proj/);
});

test("CausalLM round trip: savePretrained → loadPretrained reproduces weights and log-probs exactly", () => {
  for (const c of [qwen, llama]) {
    const model = createModel(c, referenceBackend, 7);
    const dir = join(root, `model-${c.architecture}`);
    savePretrained(model, dir, { files: { "tokenizer.json": "{}" } });
    const { model: back, config, tokenizer } = loadPretrained(dir, referenceBackend);
    assert.deepEqual(config, model.config);
    assert.deepEqual(back.flatParams, model.flatParams);
    assert.ok(tokenizer.tokenizerJson);
    const tokens = Int32Array.from([1, 5, 9, 3, 2, 10]), targets = Int32Array.from([5, 9, 3, 2, 10, -1]);
    const mask = new Uint8Array(6).fill(1);
    assert.deepEqual(back.forward(tokens, mask, targets, 1, 6).logp, model.forward(tokens, mask, targets, 1, 6).logp);
    // a differently seeded model really differs, so the equality above is not vacuous
    assert.notDeepEqual(createModel(c, referenceBackend, 8).flatParams, model.flatParams);
  }
});
