import { z } from "zod";

/** Decoder-only transformer of the Llama / Qwen2 family. Names follow Hugging Face's config.json. */
export const ModelConfigSchema = z.object({
  architecture: z.enum(["llama", "qwen2"]).default("llama"),
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
}).strict().refine(c => c.num_attention_heads % c.num_key_value_heads === 0, { message: "num_attention_heads must be a multiple of num_key_value_heads" })
  .refine(c => c.hidden_size % c.num_attention_heads === 0, { message: "hidden_size must be a multiple of num_attention_heads" });

export type ModelConfig = z.infer<typeof ModelConfigSchema>;

export const headDim = (c: ModelConfig) => c.hidden_size / c.num_attention_heads;
