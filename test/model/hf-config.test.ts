// config.json ↔ ModelConfig for the families beyond Llama/Qwen2: real published configs, transformers-5 forms, refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHfConfig, toHfConfig } from "../../src/model/io/hf-config.js";
import { ModelConfigSchema, layerRope, layerUsesRope, layerWindow, attnScale } from "../../src/model/config.js";
import { numel, paramSpecs } from "../../src/model/params.js";
import { ModelConfigError, UnsupportedArchitectureError } from "../../src/model/io/errors.js";

const count = (c: ReturnType<typeof fromHfConfig>) => paramSpecs(c).reduce((s, p) => s + numel(p.shape), 0);
const roundTrips = (c: ReturnType<typeof fromHfConfig>) => assert.deepEqual(fromHfConfig(toHfConfig(c)), c);

// Published config.json files (Hugging Face hub), verbatim apart from key order.
const qwen3_06b = {
  architectures: ["Qwen3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645,
  head_dim: 128, hidden_act: "silu", hidden_size: 1024, initializer_range: 0.02, intermediate_size: 3072, max_position_embeddings: 40960,
  max_window_layers: 28, model_type: "qwen3", num_attention_heads: 16, num_hidden_layers: 28, num_key_value_heads: 8, rms_norm_eps: 1e-6,
  rope_scaling: null, rope_theta: 1000000, sliding_window: null, tie_word_embeddings: true, torch_dtype: "bfloat16",
  transformers_version: "4.51.0", use_cache: true, use_sliding_window: false, vocab_size: 151936,
};
const llama32_1b = {
  architectures: ["LlamaForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: 128000, eos_token_id: 128001,
  head_dim: 64, hidden_act: "silu", hidden_size: 2048, initializer_range: 0.02, intermediate_size: 8192, max_position_embeddings: 131072,
  mlp_bias: false, model_type: "llama", num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, pretraining_tp: 1,
  rms_norm_eps: 1e-5, rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: "llama3" },
  rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: "bfloat16", transformers_version: "4.45.0.dev0", use_cache: true, vocab_size: 128256,
};
const gemma3_270m = {
  _sliding_window_pattern: 6, architectures: ["Gemma3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, attn_logit_softcapping: null,
  bos_token_id: 2, eos_token_id: 1, final_logit_softcapping: null, head_dim: 256, hidden_activation: "gelu_pytorch_tanh", hidden_size: 640,
  initializer_range: 0.02, intermediate_size: 2048,
  layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 ? "sliding_attention" : "full_attention")),
  max_position_embeddings: 32768, model_type: "gemma3_text", num_attention_heads: 4, num_hidden_layers: 18, num_key_value_heads: 1,
  pad_token_id: 0, query_pre_attn_scalar: 256, rms_norm_eps: 1e-6, rope_local_base_freq: 10000.0, rope_scaling: null, rope_theta: 1000000.0,
  sliding_window: 512, torch_dtype: "bfloat16", transformers_version: "4.55.0.dev0", use_bidirectional_attention: false, use_cache: true, vocab_size: 262144,
};
const smollm3_3b = {
  architectures: ["SmolLM3ForCausalLM"], attention_bias: false, attention_dropout: 0.0, bos_token_id: null, eos_token_id: 128012,
  hidden_act: "silu", hidden_size: 2048, initializer_range: 0.02, intermediate_size: 11008, max_position_embeddings: 65536, max_window_layers: 28,
  mlp_bias: false, model_type: "smollm3", no_rope_layer_interval: 4,
  no_rope_layers: Array.from({ length: 36 }, (_, i) => ((i + 1) % 4 ? 1 : 0)),
  num_attention_heads: 16, num_hidden_layers: 36, num_key_value_heads: 4, pad_token_id: 128004, pretraining_tp: 2, rms_norm_eps: 1e-6,
  rope_scaling: null, rope_theta: 5000000.0, sliding_window: null, torch_dtype: "bfloat16", transformers_version: "4.54.0.dev0",
  use_cache: false, use_sliding_window: false, vocab_size: 128256,
};

test("Qwen3-0.6B: explicit head_dim 128, q/k norms, published parameter count; round trip", () => {
  const c = fromHfConfig(qwen3_06b);
  assert.equal(c.architecture, "qwen3");
  assert.equal(c.head_dim, 128);
  assert.equal(c.qk_norm, true);
  assert.equal(c.attention_bias, false);
  assert.equal(c.rope_scaling, null);
  const names = paramSpecs(c).map(p => p.name);
  assert.ok(names.includes("model.layers.27.self_attn.q_norm.weight") && names.includes("model.layers.0.self_attn.k_norm.weight"));
  assert.deepEqual(paramSpecs(c).find(p => p.name === "model.layers.0.self_attn.q_proj.weight")!.shape, [2048, 1024]);
  assert.equal(count(c), 596_049_920, "Qwen3-0.6B's parameter count (0.44B non-embedding + 151936×1024)");
  roundTrips(c);
  assert.equal(toHfConfig(c).model_type, "qwen3");
});

test("Llama-3.2-1B: llama3 rope scaling kept; head_dim equal to hidden/heads is not stored; published parameter count", () => {
  const c = fromHfConfig(llama32_1b);
  assert.deepEqual(c.rope_scaling, { rope_type: "llama3", factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 });
  assert.equal(c.head_dim, undefined);
  assert.equal(c.rope_theta, 500000);
  assert.equal(count(c), 1_235_814_400);
  roundTrips(c);
  const linear = fromHfConfig({ ...llama32_1b, rope_scaling: { type: "linear", factor: 4 } });
  assert.deepEqual(linear.rope_scaling, { rope_type: "linear", factor: 4 });
  roundTrips(linear);
  assert.equal(fromHfConfig({ ...llama32_1b, rope_scaling: { rope_type: "default" } }).rope_scaling, undefined, "default rope = no scaling");
});

test("Gemma-3-270m: layer pattern, local RoPE base, four norms; published parameter count; round trip", () => {
  const c = fromHfConfig(gemma3_270m);
  assert.equal(c.architecture, "gemma3");
  assert.equal(c.hidden_act, "gelu_pytorch_tanh");
  assert.equal(c.sliding_window, 512);
  assert.equal(c.layer_types!.filter(t => t === "full_attention").length, 3);
  assert.equal(layerWindow(c, 0), 512);
  assert.equal(layerWindow(c, 5), 0);
  assert.deepEqual(layerRope(c, 0), { theta: 10000, scaling: null });
  assert.deepEqual(layerRope(c, 5), { theta: 1e6, scaling: null });
  assert.equal(attnScale(c), 1 / 16);
  const names = paramSpecs(c).map(p => p.name);
  for (const n of ["input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm", "self_attn.q_norm", "self_attn.k_norm"]) {
    assert.ok(names.includes(`model.layers.17.${n}.weight`), n);
  }
  assert.equal(count(c), 268_098_176, "gemma-3-270m's parameter count");
  roundTrips(c);
  const hf = toHfConfig(c);
  assert.equal(hf.model_type, "gemma3_text");
  assert.equal(hf.hidden_activation, "gelu_pytorch_tanh");
  assert.equal(hf.sliding_window_pattern, 6);
  // Older configs have only sliding_window_pattern; the layer types follow from it as transformers derives them.
  const { layer_types: _, _sliding_window_pattern: __, ...old } = gemma3_270m;
  assert.deepEqual(fromHfConfig({ ...old, sliding_window_pattern: 6 }).layer_types, c.layer_types);
  assert.deepEqual(fromHfConfig(old).layer_types, c.layer_types, "pattern 6 by default");
  // Gemma 3 4B's linear scaling applies to the global layers only.
  const scaled = fromHfConfig({ ...gemma3_270m, rope_scaling: { rope_type: "linear", factor: 8 } });
  assert.deepEqual(layerRope(scaled, 5), { theta: 1e6, scaling: { rope_type: "linear", factor: 8 } });
  assert.deepEqual(layerRope(scaled, 4), { theta: 10000, scaling: null });
});

test("SmolLM3-3B: no_rope_layers kept, default derived from no_rope_layer_interval as transformers does", () => {
  const c = fromHfConfig(smollm3_3b);
  assert.equal(c.architecture, "smollm3");
  assert.deepEqual(c.no_rope_layers!.slice(0, 8), [1, 1, 1, 0, 1, 1, 1, 0]);
  assert.equal(layerUsesRope(c, 3), false);
  assert.equal(layerUsesRope(c, 4), true);
  assert.equal(c.tie_word_embeddings, true);
  roundTrips(c);
  const { no_rope_layers: _, ...noList } = smollm3_3b;
  assert.deepEqual(fromHfConfig({ ...noList, no_rope_layer_interval: 3 }).no_rope_layers!.slice(0, 6), [1, 1, 0, 1, 1, 0]);
  assert.deepEqual(fromHfConfig(noList).no_rope_layers, c.no_rope_layers);
  assert.equal(count(c), 3_075_098_624);
});

test("transformers-5 configs (rope_parameters, explicit layer_types) load like the older keys", () => {
  const { rope_theta: _t, rope_scaling: _s, ...llamaBase } = llama32_1b;
  const v5llama = { ...llamaBase, transformers_version: "5.17.0", rope_parameters: { rope_theta: 500000, ...llama32_1b.rope_scaling } };
  assert.deepEqual(fromHfConfig(v5llama), fromHfConfig(llama32_1b));
  const { rope_theta: _q, rope_scaling: _qs, ...qwenBase } = qwen3_06b;
  const v5qwen = { ...qwenBase, rope_parameters: { rope_type: "default", rope_theta: 1000000 }, layer_types: Array(28).fill("full_attention") };
  assert.deepEqual(fromHfConfig(v5qwen), fromHfConfig(qwen3_06b));
  const { rope_theta: _g, rope_scaling: _gs, rope_local_base_freq: _l, ...gemmaBase } = gemma3_270m;
  const v5gemma = {
    ...gemmaBase,
    rope_parameters: { full_attention: { rope_type: "default", rope_theta: 1000000 }, sliding_attention: { rope_type: "default", rope_theta: 10000 } },
  };
  assert.deepEqual(fromHfConfig(v5gemma), fromHfConfig(gemma3_270m));
  const v5gemmaScaled = { ...v5gemma, rope_parameters: { ...v5gemma.rope_parameters, full_attention: { rope_type: "linear", factor: 8, rope_theta: 1e6 } } };
  assert.deepEqual(fromHfConfig(v5gemmaScaled).rope_scaling, { rope_type: "linear", factor: 8 });
  const { rope_theta: _m, rope_scaling: _ms, ...smolBase } = smollm3_3b;
  assert.deepEqual(fromHfConfig({ ...smolBase, rope_parameters: { rope_type: "default", rope_theta: 5e6 }, layer_types: Array(36).fill("full_attention") }), fromHfConfig(smollm3_3b));
});

test("what is not implemented is refused with the key's name", () => {
  const refuses = (json: Record<string, unknown>, re: RegExp) =>
    assert.throws(() => fromHfConfig(json), (e: Error) => e instanceof ModelConfigError && re.test(e.message), re.source);
  refuses({ ...llama32_1b, rope_scaling: { rope_type: "yarn", factor: 4, original_max_position_embeddings: 4096 } }, /rope_scaling\.rope_type is "yarn"/);
  refuses({ ...llama32_1b, rope_scaling: { rope_type: "dynamic", factor: 2 } }, /rope_scaling\.rope_type is "dynamic"/);
  refuses({ ...llama32_1b, rope_scaling: { rope_type: "llama3", factor: 8 } }, /rope_scaling\.low_freq_factor/);
  refuses({ ...llama32_1b, rope_scaling: { ...llama32_1b.rope_scaling, attention_factor: 2 } }, /rope_scaling\.attention_factor/);
  refuses({ ...llama32_1b, rope_parameters: { rope_type: "longrope", rope_theta: 1e4 } }, /rope_parameters\.rope_type is "longrope"/);
  refuses({ ...qwen3_06b, use_sliding_window: true }, /use_sliding_window/);
  refuses({ ...qwen3_06b, attention_bias: true }, /attention_bias.*o_proj/);
  refuses({ ...qwen3_06b, layer_types: [...Array(27).fill("full_attention"), "sliding_attention"] }, /layer_types has "sliding_attention"/);
  refuses({ ...qwen3_06b, hidden_act: "relu" }, /hidden_act is "relu"/);
  refuses({ ...gemma3_270m, hidden_activation: "gelu" }, /hidden_activation is "gelu"/);
  refuses({ ...gemma3_270m, use_bidirectional_attention: true }, /use_bidirectional_attention/);
  refuses({ ...gemma3_270m, rope_parameters: { full_attention: { rope_type: "default" }, sliding_attention: { rope_type: "linear", factor: 2 } } }, /sliding_attention\.rope_type/);
  refuses({ ...gemma3_270m, layer_types: ["sliding_attention"] }, /layer_types: has 1 entries for 18 layers/);
  refuses({ ...gemma3_270m, sliding_window: null }, /sliding_window/);
  refuses({ ...gemma3_270m, text_config: {} }, /text_config/);
  refuses({ ...smollm3_3b, use_sliding_window: true, sliding_window: 4096 }, /use_sliding_window/);
  refuses({ ...smollm3_3b, mlp_bias: true }, /mlp_bias/);
  assert.throws(() => fromHfConfig({ ...gemma3_270m, architectures: ["Gemma3ForConditionalGeneration"] }),
    (e: Error) => e instanceof UnsupportedArchitectureError && /Gemma3ForCausalLM, SmolLM3ForCausalLM/.test(e.message));
});

test("ModelConfigSchema: family defaults filled for new families; Llama/Qwen2 parse as before; settings kept to their family", () => {
  const base = { vocab_size: 16, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 12 };
  assert.deepEqual(Object.keys(ModelConfigSchema.parse(base)).sort(), [
    "architecture", "attention_bias", "bos_token_id", "eos_token_id", "hidden_size", "intermediate_size", "max_position_embeddings",
    "num_attention_heads", "num_hidden_layers", "num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings", "vocab_size",
  ]);
  const g = ModelConfigSchema.parse({ ...base, architecture: "gemma3", sliding_window: 4 });
  assert.deepEqual(g.layer_types, ["sliding_attention", "sliding_attention"]);
  assert.equal(g.query_pre_attn_scalar, 4);
  assert.deepEqual(ModelConfigSchema.parse(g), g, "parsing a parsed config is the identity");
  assert.deepEqual(ModelConfigSchema.parse({ ...base, architecture: "smollm3", num_hidden_layers: 4 }).no_rope_layers, [1, 1, 1, 0]);
  assert.equal(ModelConfigSchema.parse({ ...base, architecture: "qwen3", head_dim: 6 }).head_dim, 6);
  assert.throws(() => ModelConfigSchema.parse({ ...base, sliding_window: 4 }), /sliding_window is a Gemma 3 setting/);
  assert.throws(() => ModelConfigSchema.parse({ ...base, no_rope_layers: [1, 0] }), /SmolLM3 setting/);
  assert.throws(() => ModelConfigSchema.parse({ ...base, qk_norm: true }), /no q_norm/);
  assert.throws(() => ModelConfigSchema.parse({ ...base, hidden_size: 9 }), /multiple of num_attention_heads/);
  assert.doesNotThrow(() => ModelConfigSchema.parse({ ...base, hidden_size: 9, head_dim: 4 }));
  assert.throws(() => ModelConfigSchema.parse({ ...base, rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 4, high_freq_factor: 1, original_max_position_embeddings: 64 } }), /high_freq_factor/);
});
