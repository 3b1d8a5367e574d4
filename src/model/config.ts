import { z } from "zod";

/**
 * RoPE frequency scaling, as transformers' `rope_scaling` (`modeling_rope_utils.py`). `llama3` is Llama 3.1/3.2's
 * band-wise scaling (`_compute_llama3_parameters`); `linear` divides every frequency by `factor`. Attention factor 1.
 */
export const RopeScalingSchema = z.discriminatedUnion("rope_type", [
  z.object({
    rope_type: z.literal("llama3"),
    factor: z.number().positive(),
    low_freq_factor: z.number().positive(),
    high_freq_factor: z.number().positive(),
    original_max_position_embeddings: z.number().int().positive(),
  }).strict().refine(r => r.high_freq_factor > r.low_freq_factor, { message: "high_freq_factor must be greater than low_freq_factor" }),
  z.object({ rope_type: z.literal("linear"), factor: z.number().positive() }).strict(),
]);
export type RopeScaling = z.infer<typeof RopeScalingSchema>;

export const ARCHITECTURES = ["llama", "qwen2", "qwen3", "gemma3", "smollm3"] as const;
export type Architecture = typeof ARCHITECTURES[number];
export type LayerType = "full_attention" | "sliding_attention";

/** Fields that only a Gemma 3 model has; refused on other architectures (transformers has no place for them). */
const GEMMA_ONLY = ["query_pre_attn_scalar", "sliding_window", "layer_types", "rope_local_base_freq", "final_logit_softcapping", "attn_logit_softcapping"] as const;

/**
 * Decoder-only transformer: Llama, Qwen2, Qwen3, Gemma 3 (text) and SmolLM3. Names follow Hugging Face's config.json.
 * The fields after `eos_token_id` are optional so that a Llama/Qwen2 config parses (and saves) exactly as before;
 * for qwen3, gemma3 and smollm3 the parse fills them in, so a parsed config of those families is explicit.
 */
const ModelConfigObject = z.object({
  architecture: z.enum(ARCHITECTURES).default("llama"),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  num_key_value_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  rope_theta: z.number().positive().default(10000),
  rms_norm_eps: z.number().positive().default(1e-6),
  /** Qwen2 has biases on q, k, v projections. */
  attention_bias: z.boolean().default(false),
  tie_word_embeddings: z.boolean().default(true),
  max_position_embeddings: z.number().int().positive().default(2048),
  bos_token_id: z.number().int().nullable().default(null),
  eos_token_id: z.number().int().nullable().default(null),
  /** Per-head width; default hidden_size / num_attention_heads (Qwen3 and Gemma 3 set it explicitly). */
  head_dim: z.number().int().positive().optional(),
  /** RMSNorm over head_dim of each query and key head, after projection and before RoPE (Qwen3, Gemma 3). */
  qk_norm: z.boolean().optional(),
  /** RoPE scaling; on Gemma 3 it applies to the full-attention layers only (as transformers does). */
  rope_scaling: RopeScalingSchema.nullable().optional(),
  /** MLP activation: SiLU (default) or GELU with the tanh approximation (Gemma 3; HF key `hidden_activation`). */
  hidden_act: z.enum(["silu", "gelu_pytorch_tanh"]).optional(),
  /** Gemma 3: attention scores are scaled by query_pre_attn_scalar^(-1/2) (default head_dim). */
  query_pre_attn_scalar: z.number().positive().optional(),
  /** Gemma 3: key j is visible from query i of a sliding layer iff i − j < sliding_window. */
  sliding_window: z.number().int().positive().nullable().optional(),
  /** Gemma 3: one entry per layer. */
  layer_types: z.array(z.enum(["full_attention", "sliding_attention"])).optional(),
  /** Gemma 3: RoPE base of the sliding layers (the full layers use rope_theta). */
  rope_local_base_freq: z.number().positive().optional(),
  /** Gemma 3: logits ← c·tanh(logits / c) before the softmax when set. */
  final_logit_softcapping: z.number().positive().nullable().optional(),
  /** Gemma 3: attention scores ← c·tanh(scores / c) when set. */
  attn_logit_softcapping: z.number().positive().nullable().optional(),
  /** SmolLM3: one entry per layer, 1 = the layer applies RoPE, 0 = no positional encoding (NoPE). */
  no_rope_layers: z.array(z.union([z.literal(0), z.literal(1)])).optional(),
}).strict();

type ParsedObject = z.infer<typeof ModelConfigObject>;

/** SmolLM3's default NoPE pattern: every `interval`-th layer (1-based) has no RoPE. */
export const defaultNoRopeLayers = (layers: number, interval = 4): (0 | 1)[] =>
  Array.from({ length: layers }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));

/** Gemma 3's default layer pattern: every `pattern`-th layer (1-based) is full attention, the others sliding. */
export const layerTypesFromPattern = (layers: number, pattern: number): LayerType[] =>
  Array.from({ length: layers }, (_, i) => ((i + 1) % pattern !== 0 ? "sliding_attention" : "full_attention"));

function fillFamilyDefaults(c: ParsedObject): ParsedObject {
  const hd = c.head_dim ?? c.hidden_size / c.num_attention_heads;
  switch (c.architecture) {
    case "qwen3":
      return { ...c, head_dim: hd, qk_norm: c.qk_norm ?? true, rope_scaling: c.rope_scaling ?? null };
    case "smollm3":
      return { ...c, head_dim: hd, rope_scaling: c.rope_scaling ?? null, no_rope_layers: c.no_rope_layers ?? defaultNoRopeLayers(c.num_hidden_layers) };
    case "gemma3": {
      const sliding_window = c.sliding_window ?? null;
      return {
        ...c, head_dim: hd, qk_norm: c.qk_norm ?? true, rope_scaling: c.rope_scaling ?? null,
        hidden_act: c.hidden_act ?? "gelu_pytorch_tanh",
        query_pre_attn_scalar: c.query_pre_attn_scalar ?? hd,
        sliding_window,
        layer_types: c.layer_types ?? (sliding_window === null ? Array(c.num_hidden_layers).fill("full_attention") : layerTypesFromPattern(c.num_hidden_layers, 6)),
        rope_local_base_freq: c.rope_local_base_freq ?? 10000,
        final_logit_softcapping: c.final_logit_softcapping ?? null,
        attn_logit_softcapping: c.attn_logit_softcapping ?? null,
      };
    }
    default:
      return c;
  }
}

export const ModelConfigSchema = ModelConfigObject.superRefine((c, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (c.num_attention_heads % c.num_key_value_heads !== 0) issue("num_key_value_heads", "num_attention_heads must be a multiple of num_key_value_heads");
  if (c.head_dim === undefined && c.hidden_size % c.num_attention_heads !== 0) issue("hidden_size", "hidden_size must be a multiple of num_attention_heads (or set head_dim)");
  if ((c.head_dim ?? 0) % 2 !== 0) issue("head_dim", "head_dim must be even (RoPE rotates pairs)");
  if (c.architecture !== "gemma3") {
    for (const k of GEMMA_ONLY) if (c[k] !== undefined && c[k] !== null) issue(k, `${k} is a Gemma 3 setting; use architecture gemma3`);
  }
  if (c.architecture !== "smollm3" && c.no_rope_layers !== undefined) issue("no_rope_layers", "no_rope_layers is a SmolLM3 setting; use architecture smollm3");
  const qkNormFamily = c.architecture === "qwen3" || c.architecture === "gemma3";
  if (c.qk_norm !== undefined && c.qk_norm !== qkNormFamily) {
    issue("qk_norm", qkNormFamily ? `${c.architecture} always has q_norm/k_norm` : `${c.architecture} has no q_norm/k_norm; use architecture qwen3 for a model with them`);
  }
  const L = c.num_hidden_layers;
  if (c.layer_types && c.layer_types.length !== L) issue("layer_types", `has ${c.layer_types.length} entries for ${L} layers`);
  if (c.no_rope_layers && c.no_rope_layers.length !== L) issue("no_rope_layers", `has ${c.no_rope_layers.length} entries for ${L} layers`);
  if (c.layer_types?.includes("sliding_attention") && (c.sliding_window ?? null) === null) issue("sliding_window", "layer_types has sliding_attention layers but sliding_window is not set");
}).transform(fillFamilyDefaults);

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const headDim = (c: ModelConfig) => c.head_dim ?? c.hidden_size / c.num_attention_heads;

/** Whether q_norm/k_norm exist (Qwen3, Gemma 3). */
export const hasQkNorm = (c: ModelConfig) => c.qk_norm ?? (c.architecture === "qwen3" || c.architecture === "gemma3");

export const hiddenAct = (c: ModelConfig) => c.hidden_act ?? (c.architecture === "gemma3" ? "gelu_pytorch_tanh" : "silu");

/** Attention type of layer l: sliding only on Gemma 3 layers that layer_types marks so. */
export const layerType = (c: ModelConfig, l: number): LayerType => c.layer_types?.[l] ?? "full_attention";

/** Sliding window of layer l (keys with i − j < window are visible), or 0 for full causal attention. */
export const layerWindow = (c: ModelConfig, l: number) => (layerType(c, l) === "sliding_attention" ? c.sliding_window ?? 0 : 0);

/** Whether layer l applies RoPE (SmolLM3's NoPE layers do not). */
export const layerUsesRope = (c: ModelConfig, l: number) => (c.no_rope_layers ? c.no_rope_layers[l] === 1 : true);

/** RoPE base and scaling of layer l: Gemma 3's sliding layers use rope_local_base_freq without scaling. */
export function layerRope(c: ModelConfig, l: number): { theta: number; scaling: RopeScaling | null } {
  if (c.architecture === "gemma3" && layerType(c, l) === "sliding_attention") return { theta: c.rope_local_base_freq ?? 10000, scaling: null };
  return { theta: c.rope_theta, scaling: c.rope_scaling ?? null };
}

/** Gemma 3 family traits: √hidden embedding scale, (1 + w) RMSNorm, four norms per layer. */
export const isGemma = (c: ModelConfig) => c.architecture === "gemma3";

/** Attention score scale: query_pre_attn_scalar^(-1/2) on Gemma 3, head_dim^(-1/2) otherwise. */
export const attnScale = (c: ModelConfig) => 1 / Math.sqrt(c.query_pre_attn_scalar ?? headDim(c));
