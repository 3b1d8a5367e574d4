// Hugging Face config.json ↔ ModelConfig for LlamaForCausalLM and Qwen2ForCausalLM.
import { headDim, ModelConfigSchema, type ModelConfig } from "../config.js";
import { ModelConfigError, UnsupportedArchitectureError } from "./errors.js";

/** HF class name → ModelConfig.architecture (= HF model_type). */
const HF_CLASSES = { LlamaForCausalLM: "llama", Qwen2ForCausalLM: "qwen2" } as const;
export const SUPPORTED_HF_ARCHITECTURES = Object.keys(HF_CLASSES);

type Json = Record<string, unknown>;

/**
 * Reads a config.json object. Defaults are those of transformers' LlamaConfig / Qwen2Config (tie_word_embeddings
 * false for both; Qwen2 always has q/k/v biases). Features the model does not implement (rope_scaling, sliding
 * window, MLP bias, a head_dim other than hidden/heads, an activation other than SiLU) are refused rather than
 * silently ignored, because ignoring them would load weights that compute something else.
 */
export function fromHfConfig(json: Json, where = "config.json"): ModelConfig {
  const archs = json.architectures;
  const cls = Array.isArray(archs) && typeof archs[0] === "string" ? archs[0] : undefined;
  if (!cls) throw new ModelConfigError(where, `no "architectures" entry; expected one of ${SUPPORTED_HF_ARCHITECTURES.join(", ")}`);
  if (!(cls in HF_CLASSES)) throw new UnsupportedArchitectureError(where, cls, SUPPORTED_HF_ARCHITECTURES);
  const architecture = HF_CLASSES[cls as keyof typeof HF_CLASSES];

  const unsupported = (detail: string) => { throw new ModelConfigError(where, `${detail}, which Move37's ${architecture} model does not implement`); };
  if (json.rope_scaling != null) unsupported(`rope_scaling is ${JSON.stringify(json.rope_scaling)}`);
  if (json.hidden_act !== undefined && json.hidden_act !== "silu") unsupported(`hidden_act is ${JSON.stringify(json.hidden_act)}`);
  if (json.mlp_bias === true) unsupported("mlp_bias is true");
  if (json.use_sliding_window === true) unsupported("use_sliding_window is true");
  // transformers' Llama puts attention_bias on o_proj too; Move37's biases are q/k/v only (Qwen2's layout).
  if (architecture === "llama" && json.attention_bias === true) unsupported("attention_bias is true (biases on q, k, v and o_proj)");
  const heads = json.num_attention_heads;
  if (json.head_dim != null && typeof heads === "number" && json.head_dim !== (json.hidden_size as number) / heads) {
    unsupported(`head_dim ${json.head_dim} differs from hidden_size / num_attention_heads`);
  }
  const firstId = (v: unknown) => (Array.isArray(v) ? v[0] : v) ?? null;

  const parsed = ModelConfigSchema.safeParse({
    architecture,
    vocab_size: json.vocab_size,
    hidden_size: json.hidden_size,
    num_hidden_layers: json.num_hidden_layers,
    num_attention_heads: heads,
    num_key_value_heads: json.num_key_value_heads ?? heads,
    intermediate_size: json.intermediate_size,
    rope_theta: json.rope_theta ?? 10000,
    rms_norm_eps: json.rms_norm_eps ?? 1e-6,
    attention_bias: architecture === "qwen2",
    tie_word_embeddings: json.tie_word_embeddings ?? false,
    max_position_embeddings: json.max_position_embeddings ?? (architecture === "qwen2" ? 32768 : 2048),
    bos_token_id: firstId(json.bos_token_id),
    eos_token_id: firstId(json.eos_token_id),
  });
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
  if (c.architecture === "llama" && c.attention_bias) {
    throw new ModelConfigError("config", "transformers' LlamaForCausalLM cannot hold q/k/v-only biases (its attention_bias also adds an o_proj bias); use architecture qwen2 for a model with q/k/v biases");
  }
  const cls = c.architecture === "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  const common: Json = {
    architectures: [cls],
    model_type: c.architecture,
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    hidden_act: "silu",
    max_position_embeddings: c.max_position_embeddings,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    rope_scaling: null,
    tie_word_embeddings: c.tie_word_embeddings,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    attention_dropout: 0,
    initializer_range: 0.02,
    use_cache: true,
    torch_dtype: torchDtype,
  };
  return c.architecture === "qwen2"
    ? { ...common, use_sliding_window: false, sliding_window: c.max_position_embeddings, max_window_layers: c.num_hidden_layers }
    : { ...common, attention_bias: false, mlp_bias: false, head_dim: headDim(c), pretraining_tp: 1 };
}
