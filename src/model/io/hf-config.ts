// Hugging Face config.json ↔ ModelConfig for Llama, Qwen2, Qwen3, Gemma 3 (text) and SmolLM3 causal LMs.
import { headDim, layerTypesFromPattern, defaultNoRopeLayers, ModelConfigSchema, type Architecture, type ModelConfig, type RopeScaling } from "../config.js";
import { ModelConfigError, UnsupportedArchitectureError } from "./errors.js";

/** HF class name → ModelConfig.architecture (= HF model_type, except gemma3 = `gemma3_text`). */
const HF_CLASSES = {
  LlamaForCausalLM: "llama",
  Qwen2ForCausalLM: "qwen2",
  Qwen3ForCausalLM: "qwen3",
  Gemma3ForCausalLM: "gemma3",
  SmolLM3ForCausalLM: "smollm3",
} as const satisfies Record<string, Architecture>;
export const SUPPORTED_HF_ARCHITECTURES = Object.keys(HF_CLASSES);
const CLASS_OF: Record<Architecture, string> = Object.fromEntries(Object.entries(HF_CLASSES).map(([k, v]) => [v, k])) as Record<Architecture, string>;
const MODEL_TYPE: Record<Architecture, string> = { llama: "llama", qwen2: "qwen2", qwen3: "qwen3", gemma3: "gemma3_text", smollm3: "smollm3" };

/** transformers' config-class defaults for the keys a config.json may leave out. */
const FAMILY_DEFAULTS: Record<Architecture, { rope_theta: number; max_position_embeddings: number; tie: boolean; head_dim?: number; kv_heads?: number }> = {
  llama: { rope_theta: 10000, max_position_embeddings: 2048, tie: false },
  qwen2: { rope_theta: 10000, max_position_embeddings: 32768, tie: false },
  qwen3: { rope_theta: 10000, max_position_embeddings: 32768, tie: false, head_dim: 128 },
  gemma3: { rope_theta: 1_000_000, max_position_embeddings: 131072, tie: true, head_dim: 256, kv_heads: 4 },
  smollm3: { rope_theta: 2_000_000, max_position_embeddings: 32768, tie: true, kv_heads: 4 },
};

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Implemented RoPE types; any other is refused by name. */
const ROPE_KEYS: Record<string, string[]> = {
  default: [],
  linear: ["factor"],
  llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
};

/**
 * Reads one rope dict (`rope_scaling`, or a transformers-5 `rope_parameters` entry) into {theta, scaling}.
 * `type` is the old spelling of `rope_type`. Keys it does not know are refused, so nothing is silently dropped.
 */
function readRopeDict(v: unknown, key: string, refuse: (detail: string) => never): { theta?: number; scaling: RopeScaling | null } {
  if (v == null) return { scaling: null };
  if (!isObj(v)) refuse(`${key} is ${JSON.stringify(v)}, not an object`);
  const type = v.rope_type ?? v.type ?? "default";
  if (typeof type !== "string" || !(type in ROPE_KEYS)) {
    refuse(`${key}.rope_type is ${JSON.stringify(type)} (implemented: ${Object.keys(ROPE_KEYS).join(", ")})`);
  }
  const known = new Set(["rope_type", "type", "rope_theta", ...ROPE_KEYS[type]]);
  for (const k of Object.keys(v)) if (!known.has(k)) refuse(`${key}.${k} is set (${JSON.stringify(v[k])}) for rope_type ${type}`);
  const theta = v.rope_theta === undefined ? undefined : v.rope_theta as number;
  if (type === "default") return { theta, scaling: null };
  const scaling = { rope_type: type, ...Object.fromEntries(ROPE_KEYS[type].map(k => [k, v[k]])) } as RopeScaling;
  return { theta, scaling };
}

/**
 * Reads a config.json object. Defaults are those of transformers' config classes for the family. Both the older
 * keys (`rope_theta`, `rope_scaling`, `sliding_window_pattern`) and those transformers 5 writes (`rope_parameters`,
 * per layer type for Gemma 3, and explicit `layer_types`) are read. Features the model does not implement (other
 * rope types, sliding windows outside Gemma 3, MLP bias, o_proj bias, other activations) are refused with the key's
 * name rather than silently ignored, because ignoring them would load weights that compute something else.
 */
export function fromHfConfig(json: Json, where = "config.json"): ModelConfig {
  const archs = json.architectures;
  const cls = Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : undefined;
  if (!cls) throw new ModelConfigError(where, `no "architectures" entry; expected one of ${SUPPORTED_HF_ARCHITECTURES.join(", ")}`);
  if (!(cls in HF_CLASSES)) throw new UnsupportedArchitectureError(where, cls, SUPPORTED_HF_ARCHITECTURES);
  const architecture: Architecture = HF_CLASSES[cls as keyof typeof HF_CLASSES];
  const d = FAMILY_DEFAULTS[architecture];

  const refuse = (detail: string): never => { throw new ModelConfigError(where, `${detail}, which Move37's ${architecture} model does not implement`); };
  if (json.text_config !== undefined) refuse("text_config is set (a multimodal config); give the text model's own config.json");
  const actKey = architecture === "gemma3" && json.hidden_activation !== undefined ? "hidden_activation" : "hidden_act";
  const act = json[actKey] ?? (architecture === "gemma3" ? "gelu_pytorch_tanh" : "silu");
  if (act !== "silu" && act !== "gelu_pytorch_tanh") refuse(`${actKey} is ${JSON.stringify(act)} (implemented: silu, gelu_pytorch_tanh)`);
  if (json.mlp_bias === true) refuse("mlp_bias is true");
  if (json.use_sliding_window === true) refuse("use_sliding_window is true");
  if (json.use_bidirectional_attention === true) refuse("use_bidirectional_attention is true");
  if (json.partial_rotary_factor != null && json.partial_rotary_factor !== 1) refuse(`partial_rotary_factor is ${JSON.stringify(json.partial_rotary_factor)}`);
  // transformers' Llama/Qwen3/Gemma3/SmolLM3 put attention_bias on o_proj too; Move37's biases are q/k/v only (Qwen2's layout).
  if (architecture !== "qwen2" && json.attention_bias === true) refuse("attention_bias is true (biases on q, k, v and o_proj)");
  const heads = json.num_attention_heads;
  const L = json.num_hidden_layers;

  // Rope: transformers 5 writes rope_parameters (per layer type for Gemma 3); older configs rope_theta + rope_scaling.
  let ropeTheta: unknown = json.rope_theta, ropeScaling: RopeScaling | null = null, localTheta: unknown = json.rope_local_base_freq;
  if (json.rope_parameters != null) {
    const rp = json.rope_parameters;
    if (!isObj(rp)) return refuse(`rope_parameters is ${JSON.stringify(rp)}, not an object`);
    if (architecture === "gemma3" && (isObj(rp.full_attention) || isObj(rp.sliding_attention))) {
      for (const k of Object.keys(rp)) if (k !== "full_attention" && k !== "sliding_attention") refuse(`rope_parameters.${k} is set`);
      const full = readRopeDict(rp.full_attention, "rope_parameters.full_attention", refuse);
      const local = readRopeDict(rp.sliding_attention, "rope_parameters.sliding_attention", refuse);
      if (local.scaling) refuse(`rope_parameters.sliding_attention.rope_type is ${JSON.stringify(local.scaling.rope_type)} (sliding layers use plain RoPE)`);
      ropeTheta = full.theta ?? ropeTheta; ropeScaling = full.scaling; localTheta = local.theta ?? localTheta;
    } else {
      const r = readRopeDict(rp, "rope_parameters", refuse);
      ropeTheta = r.theta ?? ropeTheta; ropeScaling = r.scaling;
    }
    if (json.rope_scaling != null && ropeScaling === null) ropeScaling = readRopeDict(json.rope_scaling, "rope_scaling", refuse).scaling;
  } else {
    ropeScaling = readRopeDict(json.rope_scaling, "rope_scaling", refuse).scaling;
  }

  // Layer types: Gemma 3 has sliding layers; elsewhere layer_types (written by transformers 5) must be all full.
  let layerTypes: unknown = undefined;
  if (architecture === "gemma3") {
    const pattern = json.sliding_window_pattern ?? json._sliding_window_pattern ?? 6;
    layerTypes = json.layer_types ?? (typeof L === "number" && typeof pattern === "number" && pattern > 0 ? layerTypesFromPattern(L, pattern) : undefined);
    if (json.layer_types == null && typeof pattern !== "number") refuse(`sliding_window_pattern is ${JSON.stringify(pattern)}`);
  } else if (json.layer_types != null) {
    if (!Array.isArray(json.layer_types)) refuse(`layer_types is ${JSON.stringify(json.layer_types)}`);
    const other = (json.layer_types as unknown[]).find(t => t !== "full_attention");
    if (other !== undefined) refuse(`layer_types has ${JSON.stringify(other)} layers`);
  }

  let noRope: unknown = undefined;
  if (architecture === "smollm3") {
    const interval = json.no_rope_layer_interval ?? 4;
    if (typeof interval !== "number" || !Number.isInteger(interval) || interval <= 0) refuse(`no_rope_layer_interval is ${JSON.stringify(interval)}`);
    noRope = json.no_rope_layers ?? (typeof L === "number" ? defaultNoRopeLayers(L, interval as number) : undefined);
    // transformers allows a list at least as long as the model; layer i reads entry i.
    if (Array.isArray(noRope) && typeof L === "number" && noRope.length > L) noRope = noRope.slice(0, L);
  }

  // head_dim: explicit in Qwen3 and Gemma 3 (their transformers defaults are 128 and 256); for Llama/Qwen2 only
  // kept when it differs from hidden / heads, so their parsed configs stay as before.
  let hd: unknown = json.head_dim ?? d.head_dim;
  if ((architecture === "llama" || architecture === "qwen2") && typeof heads === "number" && hd === (json.hidden_size as number) / heads) hd = undefined;
  const firstId = (v: unknown) => (Array.isArray(v) ? v[0] : v) ?? null;
  const isGemma = architecture === "gemma3";

  const raw: Json = {
    architecture,
    vocab_size: json.vocab_size,
    hidden_size: json.hidden_size,
    num_hidden_layers: L,
    num_attention_heads: heads,
    num_key_value_heads: json.num_key_value_heads ?? d.kv_heads ?? heads,
    intermediate_size: json.intermediate_size,
    rope_theta: ropeTheta ?? d.rope_theta,
    rms_norm_eps: json.rms_norm_eps ?? 1e-6,
    attention_bias: architecture === "qwen2",
    tie_word_embeddings: json.tie_word_embeddings ?? d.tie,
    max_position_embeddings: json.max_position_embeddings ?? d.max_position_embeddings,
    bos_token_id: firstId(json.bos_token_id),
    eos_token_id: firstId(json.eos_token_id),
  };
  if (hd !== undefined) raw.head_dim = hd;
  if (ropeScaling !== null || architecture === "qwen3" || architecture === "gemma3" || architecture === "smollm3") raw.rope_scaling = ropeScaling;
  if (act !== "silu" || isGemma) raw.hidden_act = act;
  if (isGemma) {
    Object.assign(raw, {
      query_pre_attn_scalar: json.query_pre_attn_scalar ?? 256,
      sliding_window: json.sliding_window ?? null,
      layer_types: layerTypes,
      rope_local_base_freq: localTheta ?? 10000,
      final_logit_softcapping: json.final_logit_softcapping ?? null,
      attn_logit_softcapping: json.attn_logit_softcapping ?? null,
    });
  }
  if (noRope !== undefined) raw.no_rope_layers = noRope;

  const parsed = ModelConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ModelConfigError(where, parsed.error.issues.map(i => `${i.path.join(".") || "config"}: ${i.message}`).join("; "));
  }
  return parsed.data;
}

/** ModelConfig → config.json object that transformers loads with the matching class. */
export function toHfConfig(c: ModelConfig, torchDtype: "float32" | "bfloat16" = "float32"): Json {
  if (c.architecture === "qwen2" && !c.attention_bias) {
    throw new ModelConfigError("config", "a qwen2 model must have attention_bias (Qwen2 always has q/k/v biases); use architecture llama for a bias-free model");
  }
  if (c.architecture !== "qwen2" && c.attention_bias) {
    throw new ModelConfigError("config", `transformers' ${CLASS_OF[c.architecture]} cannot hold q/k/v-only biases (its attention_bias also adds an o_proj bias); use architecture qwen2 for a model with q/k/v biases`);
  }
  const gemma = c.architecture === "gemma3";
  const common: Json = {
    architectures: [CLASS_OF[c.architecture]],
    model_type: MODEL_TYPE[c.architecture],
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    [gemma ? "hidden_activation" : "hidden_act"]: c.hidden_act ?? (gemma ? "gelu_pytorch_tanh" : "silu"),
    max_position_embeddings: c.max_position_embeddings,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: c.rope_scaling ?? null,
    tie_word_embeddings: c.tie_word_embeddings,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: torchDtype,
  };
  switch (c.architecture) {
    case "qwen2": {
      const out: Json = { ...common, use_sliding_window: false, sliding_window: c.max_position_embeddings, max_window_layers: c.num_hidden_layers };
      if (c.head_dim !== undefined) out.head_dim = c.head_dim;
      return out;
    }
    case "llama":
      return { ...common, attention_bias: false, mlp_bias: false, head_dim: headDim(c), pretraining_tp: 1 };
    case "qwen3":
      return { ...common, attention_bias: false, head_dim: headDim(c), use_sliding_window: false, sliding_window: null, max_window_layers: c.num_hidden_layers };
    case "smollm3":
      return { ...common, attention_bias: false, mlp_bias: false, head_dim: headDim(c), use_sliding_window: false, sliding_window: null, no_rope_layers: c.no_rope_layers };
    case "gemma3": {
      const types = c.layer_types!;
      // Older transformers (4.50–4.52) read only sliding_window_pattern; write it too when layer_types follows one.
      const p = types.indexOf("full_attention") + 1;
      const pattern = p > 0 && types.every((t, i) => t === ((i + 1) % p !== 0 ? "sliding_attention" : "full_attention")) ? { sliding_window_pattern: p } : {};
      return {
        ...common, attention_bias: false, head_dim: headDim(c), query_pre_attn_scalar: c.query_pre_attn_scalar,
        sliding_window: c.sliding_window, layer_types: types, ...pattern, rope_local_base_freq: c.rope_local_base_freq,
        final_logit_softcapping: c.final_logit_softcapping, attn_logit_softcapping: c.attn_logit_softcapping,
        use_bidirectional_attention: false,
      };
    }
  }
}
