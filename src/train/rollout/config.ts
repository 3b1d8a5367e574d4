import { z } from "zod";

/**
 * Where GRPO's completions come from: `local` (the in-process sampler) or `openai` (any OpenAI-compatible
 * server: `move37 serve`, vLLM, SGLang, llama.cpp's server). With `openai` the prompt is sent as token ids
 * (the completions endpoint accepts lists of ids), so server and trainer see the same tokens whatever the
 * server's chat template; the server's per-token log-probs are the sampling log-probs.
 */
export const RolloutConfigSchema = z.object({
  backend: z.enum(["local", "openai"]).default("local"),
  /** local: sample from the policy itself (float32) or from a BF16 copy of it refreshed after each step (bfloat16; half the bytes per decode step, importance-corrected like a server). */
  dtype: z.enum(["float32", "bfloat16"]).default("float32"),
  /** The server's API root, e.g. http://127.0.0.1:8000/v1. */
  base_url: z.string().url().optional(),
  /** The `model` the server knows the policy by; default: the first of GET /v1/models. */
  model: z.string().min(1).optional(),
  /** Name of an environment variable holding a bearer token, for servers started with --api-key. */
  api_key_env: z.string().min(1).optional(),
  timeout_ms: z.number().int().positive().default(120_000),
  /** Retries of a request that failed by timeout, connection error, 429 or 5xx (not other 4xx), with doubling backoff. */
  max_retries: z.number().int().nonnegative().default(3),
  retry_backoff_ms: z.number().int().nonnegative().default(500),
  /** Requests in flight at once (back-pressure on the server). */
  max_concurrency: z.number().int().positive().default(4),
  /** Prompts per request; 0 = all of a step's prompts in one request (then a seeded step samples exactly as in-process). */
  prompts_per_request: z.number().int().nonnegative().default(0),
  /** After each optimizer step the policy is saved to weights_dir and this endpoint (under the server's origin) is POSTed; null = never. */
  reload_endpoint: z.string().startsWith("/").nullable().default("/v1/reload"),
  /** The body field naming the folder: model_dir (move37 serve), model_path (SGLang's /update_weights_from_disk). */
  reload_path_field: z.string().min(1).default("model_dir"),
  /** Where the weights are saved for the server (it must read this path); default: <run>/rollout-weights. */
  weights_dir: z.string().min(1).optional(),
  /** TRL's vllm_importance_sampling_correction: weight each token's loss by π_trainer / π_sampler, truncated at the cap. */
  importance_sampling_correction: z.boolean().default(true),
  importance_sampling_cap: z.number().positive().default(2),
  /** *_truncate: min(ratio, cap); *_mask: ratio, or 0 where it exceeds the cap; per token, or one ratio per completion. */
  importance_sampling_mode: z.enum(["token_truncate", "token_mask", "sequence_truncate", "sequence_mask"]).default("token_truncate"),
}).strict().superRefine((c, ctx) => {
  if (c.backend === "openai" && !c.base_url)
    ctx.addIssue({ code: "custom", path: ["base_url"], message: "backend openai needs base_url, the server's API root (e.g. http://127.0.0.1:8000/v1 for `move37 serve MODEL --port 8000`)" });
});

export type RolloutConfig = z.output<typeof RolloutConfigSchema>;
export type ImportanceSamplingMode = RolloutConfig["importance_sampling_mode"];
