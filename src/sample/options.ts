import { z } from "zod";

/**
 * Sampling options (Hugging Face GenerationConfig / vLLM SamplingParams meanings, camelCased).
 * Filters apply in Hugging Face's order: repetition penalty, temperature, top-k, top-p (on the top-k set,
 * renormalized), min-p. Temperature 0 is greedy decoding.
 */
export const SamplingOptionsSchema = z.object({
  /** Tokens to generate at most per sequence (HF max_new_tokens, TRL max_completion_length). */
  maxNewTokens: z.number().int().positive(),
  temperature: z.number().min(0).default(1),
  /** Keep the k most likely tokens; 0 = off. */
  topK: z.number().int().min(0).default(0),
  /** Keep the smallest set of most likely tokens whose probability reaches topP; 1 = off. */
  topP: z.number().gt(0).max(1).default(1),
  /** Drop tokens less likely than minP × the most likely one; 0 = off. */
  minP: z.number().min(0).max(1).default(0),
  /** CTRL's penalty on every token already in the prompt or completion (logit / p if > 0, else × p); 1 = off. */
  repetitionPenalty: z.number().positive().default(1),
  /** Makes a run reproducible; each sequence draws from its own stream. Default: a random seed. */
  seed: z.number().int().optional(),
  /**
   * One seed per prompt instead of `seed` (a server batching requests with their own seeds): prompt i's samples get
   * the same streams as a call on prompt i alone with `seed: seeds[i]`.
   */
  seeds: z.array(z.number().int()).optional(),
  /** Stop when the completion text contains one of these; the text is cut before it (ids and log-probs keep the tokens). */
  stop: z.array(z.string().min(1)).default([]),
  /** End-of-sequence ids; default: the tokenizer's EOS and the model config's eos_token_id. */
  eosTokenIds: z.array(z.number().int().nonnegative()).optional(),
  /** Completions per prompt (HF num_return_sequences, TRL num_generations, vLLM n). */
  numReturnSequences: z.number().int().positive().default(1),
  /**
   * Most sequences decoded together. It bounds the KV cache (rows × layers × positions): 2,048 rows of a
   * 0.5B-shaped model would need ~19 GB. Every row has its own random stream, so results do not depend on it.
   */
  batchSize: z.number().int().positive().default(256),
  /**
   * Also return the N most likely tokens at every position with their log-probs (vLLM's `logprobs`, OpenAI's
   * `top_logprobs`): `Generation.topLogprobs`, `TokenEvent.top`. Same distribution as `Generation.logprobs`. 0 = off.
   */
  topLogprobs: z.number().int().min(0).default(0),
  /** Leave special tokens out of the returned text (vLLM's default). */
  skipSpecialTokens: z.boolean().default(true),
}).strict();

export type SamplingOptions = z.input<typeof SamplingOptionsSchema>;
export type ResolvedSamplingOptions = z.output<typeof SamplingOptionsSchema>;
