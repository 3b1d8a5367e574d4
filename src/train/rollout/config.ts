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
  /** The server's API root, e.g. http://127.0.0.1:8000/v1 (the one-server form of `servers`). */
  base_url: z.string().url().optional(),
  /**
   * Several servers' API roots: each request goes to the one with the least work in flight; a failing or silent one
   * leaves the rotation (its requests go elsewhere) and is retried after retry_backoff_ms, doubling (docs/scale-out.md).
   */
  servers: z.array(z.string().url()).min(1).optional(),
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
  /**
   * How the weights reach the servers after each optimizer step: disk (saved to weights_dir, then reload_endpoint is
   * POSTed with the folder: the server must read that path) or http (`move37 serve` only: the safetensors are streamed
   * to POST /v1/weights with their sha256 and version, no shared filesystem; with LoRA only the adapter).
   */
  weight_sync: z.enum(["disk", "http"]).default("disk"),
  /**
   * 0: every step samples from the weights being trained (synchronous). k > 0: the groups of the next k steps are
   * generated while the trainer trains; a sample may come from a policy up to k versions old (older ones are
   * dropped and counted, off_policy/dropped), and importance sampling corrects the gap (TRL's max_staleness).
   */
  max_staleness: z.number().int().nonnegative().default(0),
  /** A step whose completions have not all arrived after this long fails with a named error (0 = timeout_ms × (max_retries + 1) × servers). */
  step_timeout_ms: z.number().int().nonnegative().default(0),
  /** disk: after each optimizer step the policy is saved to weights_dir and this endpoint (under the server's origin) is POSTed; null = never (also for http). */
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
  if (c.backend === "openai" && !c.base_url && !c.servers)
    ctx.addIssue({ code: "custom", path: ["base_url"], message: "backend openai needs base_url, the server's API root (e.g. http://127.0.0.1:8000/v1 for `move37 serve MODEL --port 8000`), or servers: a list of them" });
  if (c.base_url && c.servers)
    ctx.addIssue({ code: "custom", path: ["servers"], message: "give base_url (one server) or servers (a list), not both: put base_url in the list" });
  if (c.max_staleness > 0 && c.backend !== "openai")
    ctx.addIssue({ code: "custom", path: ["max_staleness"], message: "max_staleness > 0 overlaps generation on rollout servers with training: it needs backend openai (in-process sampling is synchronous)" });
  if (c.max_staleness > 0 && c.reload_endpoint === null)
    ctx.addIssue({ code: "custom", path: ["max_staleness"], message: "max_staleness counts policy versions, but reload_endpoint null never sends the servers new weights: drop reload_endpoint: null" });
});

export type RolloutConfig = z.output<typeof RolloutConfigSchema>;
export type ImportanceSamplingMode = RolloutConfig["importance_sampling_mode"];
