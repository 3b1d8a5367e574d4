/**
 * Flat parameter memory (llm.c): every parameter is a named view into one buffer, every gradient a view
 * into a second buffer with the same layout, so zero-grad is a fill and a checkpoint one write.
 * Names and shapes are Hugging Face's (Linear weights [out, in]), in HF's order.
 */
import type { ModelConfig } from "./config.js";
import { hasQkNorm, headDim, isGemma } from "./config.js";
import { bf16ToF32 } from "./io/half.js";

export type FloatArray = Float32Array | Float64Array;
export type FloatArrayCtor = Float32ArrayConstructor | Float64ArrayConstructor;
/** A Linear weight: F32/F64 (trainable), or BF16 bits (the high half of each F32) in a Uint16Array (frozen, forward only). */
export type Weight = FloatArray | Uint16Array;

/** The weights a model may hold in BF16 (`weights: "bfloat16"`): every Linear weight, the LM head and the embedding table. */
export const bf16Eligible = (name: string) => /(_proj\.weight|^lm_head\.weight|embed_tokens\.weight)$/.test(name);

/**
 * A gradient was asked for a BF16 weight. BF16 weights are frozen: gradients flow through them (to LoRA adapters, to
 * the input) but never into them.
 */
export class FrozenWeightsError extends Error {
  constructor(what: string) {
    super(`${what}: this model holds its Linear weights, LM head and embedding frozen in BF16 (loaded with dtype bfloat16), which get no gradient: ` +
      "train LoRA adapters on this base instead (a `lora:` block in the recipe, with `torch_dtype: bfloat16`), or load it in float32 for full fine-tuning (`torch_dtype: float32`, the default; --dtype float32)");
    this.name = "FrozenWeightsError";
  }
}

export interface ParamSpec { name: string; shape: number[] }

/** The size table: every parameter of the model, in layout order. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const H = c.hidden_size, I = c.intermediate_size, hd = headDim(c);
  const q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const specs: ParamSpec[] = [{ name: "model.embed_tokens.weight", shape: [c.vocab_size, H] }];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    specs.push({ name: p + "input_layernorm.weight", shape: [H] });
    specs.push({ name: p + "self_attn.q_proj.weight", shape: [q, H] });
    if (c.attention_bias) specs.push({ name: p + "self_attn.q_proj.bias", shape: [q] });
    specs.push({ name: p + "self_attn.k_proj.weight", shape: [kv, H] });
    if (c.attention_bias) specs.push({ name: p + "self_attn.k_proj.bias", shape: [kv] });
    specs.push({ name: p + "self_attn.v_proj.weight", shape: [kv, H] });
    if (c.attention_bias) specs.push({ name: p + "self_attn.v_proj.bias", shape: [kv] });
    specs.push({ name: p + "self_attn.o_proj.weight", shape: [H, q] });
    if (hasQkNorm(c)) {
      specs.push({ name: p + "self_attn.q_norm.weight", shape: [hd] });
      specs.push({ name: p + "self_attn.k_norm.weight", shape: [hd] });
    }
    specs.push({ name: p + "post_attention_layernorm.weight", shape: [H] });
    if (isGemma(c)) specs.push({ name: p + "pre_feedforward_layernorm.weight", shape: [H] });
    specs.push({ name: p + "mlp.gate_proj.weight", shape: [I, H] });
    specs.push({ name: p + "mlp.up_proj.weight", shape: [I, H] });
    specs.push({ name: p + "mlp.down_proj.weight", shape: [H, I] });
    if (isGemma(c)) specs.push({ name: p + "post_feedforward_layernorm.weight", shape: [H] });
  }
  specs.push({ name: "model.norm.weight", shape: [H] });
  if (!c.tie_word_embeddings) specs.push({ name: "lm_head.weight", shape: [c.vocab_size, H] });
  return specs;
}

/**
 * A transformer's own tensors in F32, HF names in the size table's order (paramSpecs; extra parameters such as a
 * reward model's score.weight left out): its frozen BF16 weights widened exactly (new arrays), the rest as they are.
 */
export function widenedTensors(model: {
  config: ModelConfig; params: readonly { name: string; shape: number[]; data: Float32Array }[];
  bf16Params: readonly { name: string; shape: number[]; data: Uint16Array }[];
}): { name: string; shape: number[]; data: Float32Array }[] {
  const byName = new Map<string, { name: string; shape: number[]; data: Float32Array }>(model.params.map(p => [p.name, p]));
  for (const p of model.bf16Params) { const data = new Float32Array(p.data.length); bf16ToF32(p.data, data); byName.set(p.name, { name: p.name, shape: p.shape, data }); }
  return paramSpecs(model.config).map(s => byName.get(s.name)!);
}

export const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export interface ParamView<F extends FloatArray = FloatArray> { name: string; shape: number[]; offset: number; data: F; grad: F }

export interface ParamStore<F extends FloatArray = FloatArray> {
  flat: F;
  grads: F;
  views: ParamView<F>[];
  byName: Map<string, ParamView<F>>;
}

export class UnknownParameterError extends Error {
  constructor(name: string) {
    super(`no parameter named "${name}" in this model: check the config (attention_bias, tie_word_embeddings, num_hidden_layers) or the name's spelling`);
    this.name = "UnknownParameterError";
  }
}

/**
 * One buffer for the model's parameters and, after them, `extra` ones a network adds on top of it (the reward model's
 * `score.weight`): one AdamW, one clip, one zero-grad for all of them.
 */
export function allocParams<F extends FloatArray>(c: ModelConfig, Ctor: { new(n: number): F }, extra: readonly ParamSpec[] = [],
  keep: (name: string) => boolean = () => true): ParamStore<F> {
  const specs = [...paramSpecs(c), ...extra].filter(s => keep(s.name));
  const total = specs.reduce((s, p) => s + numel(p.shape), 0);
  const flat = new Ctor(total), grads = new Ctor(total);
  const views: ParamView<F>[] = [];
  let offset = 0;
  for (const s of specs) {
    const n = numel(s.shape);
    views.push({ ...s, offset, data: flat.subarray(offset, offset + n) as F, grad: grads.subarray(offset, offset + n) as F });
    offset += n;
  }
  return { flat, grads, views, byName: new Map(views.map(v => [v.name, v])) };
}

export function getParam<F extends FloatArray>(store: ParamStore<F>, name: string): ParamView<F> {
  const v = store.byName.get(name);
  if (!v) throw new UnknownParameterError(name);
  return v;
}

/** Weight decay applies to matrices that are not embeddings: norms, biases and embeddings are excluded (by name). */
export const decays = (name: string) => !/(norm|bias|embed_tokens)/.test(name);
