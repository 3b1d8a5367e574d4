/**
 * Rollout backends: where a trainer's completions come from. `local` runs the in-process sampler on the policy;
 * `openai` asks an OpenAI-compatible server and, after each optimizer step, saves the policy and has the server
 * reload it; the reload is awaited, so every step samples from the weights being trained (on-policy, as local).
 */
import { resolve } from "node:path";
import type { CausalLM } from "../../model/types.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { SaveOptions } from "../../model/io/hf.js";
import { savePretrained } from "../../model/io/pretrained.js";
import { bf16Copy } from "../../model/transformer.js";
import { generate, type Generation } from "../../sample/generate.js";
import type { RolloutConfig } from "./config.js";
import { RolloutConfigError, RolloutResponseError } from "./errors.js";
import { JsonClient } from "./http.js";
import type { ImportanceOptions } from "./importance.js";
import { openaiGenerate, type RolloutSampling } from "./openai.js";

export { RolloutConfigSchema, type RolloutConfig } from "./config.js";
export { RolloutConfigError, RolloutRequestError, RolloutResponseError } from "./errors.js";
export { importanceWeights, applyWeights, slotLogprobs, ImportanceStats, type ImportanceOptions } from "./importance.js";
export type { RolloutSampling } from "./openai.js";

export interface Rollout {
  /** Completions of every prompt, prompt-major as `generate` returns them, with the sampler's per-token log-probs. */
  generate(prompts: number[][], s: RolloutSampling): Promise<Generation[]>;
  /** Makes the sampler use the policy's current weights (after each optimizer step, and once before the first). */
  sync(policy: CausalLM): Promise<void>;
  /** The importance-sampling correction to apply; null when the trainer samples itself (ratios are exactly 1). */
  correction: ImportanceOptions | null;
}

export interface RolloutContext {
  /** The in-process sampler's model: only the local backend needs it (a remote distillation teacher is never loaded). */
  policy?: CausalLM;
  tokenizer: Tokenizer;
  /** Default folder the policy is saved to for the server to reload. */
  weightsDir: string;
  /** How the saved folder gets its tokenizer files (savePretrained's options). */
  save: SaveOptions;
  log: (message: string) => void;
  /** The loss's importance-ratio level (GRPO's importance_sampling_level); token weights need "token". */
  ratioLevel?: "token" | "sequence";
}

export function createRollout(c: RolloutConfig, ctx: RolloutContext): Rollout {
  if (c.backend === "local" && c.dtype === "float32") {
    const policy = ctx.policy;
    if (!policy) throw new RolloutConfigError("rollout backend local samples in process, but no model was loaded: set backend openai with the server's base_url, or load the model");
    return { correction: null, sync: async () => {}, generate: async (prompts, s) => generate(policy, ctx.tokenizer, prompts, s) };
  }
  if (c.importance_sampling_correction && c.importance_sampling_mode.startsWith("token") && ctx.ratioLevel === "sequence")
    throw new RolloutConfigError(`rollout.importance_sampling_mode ${c.importance_sampling_mode} weights tokens one by one, which GSPO's sequence-level ratio (grpo.importance_sampling_level: sequence) cannot take exactly: use sequence_truncate or sequence_mask`);
  if (c.backend === "local") { // dtype bfloat16: sample from a BF16 copy of the policy, refreshed at every sync
    const policy = ctx.policy;
    if (!policy) throw new RolloutConfigError("rollout backend local samples in process, but no model was loaded: set backend openai with the server's base_url, or load the model");
    let copy: CausalLM | null = null;
    return {
      // the sampler (BF16) and the trainer (F32) disagree slightly, as a vLLM sampler does: the same correction applies
      correction: c.importance_sampling_correction ? { cap: c.importance_sampling_cap, mode: c.importance_sampling_mode } : null,
      sync: async p => { copy = null; copy = bf16Copy(p); },
      generate: async (prompts, s) => generate(copy ??= bf16Copy(policy), ctx.tokenizer, prompts, s),
    };
  }
  const baseUrl = c.base_url!.replace(/\/+$/, "");
  const client = new JsonClient({
    timeoutMs: c.timeout_ms, maxRetries: c.max_retries, backoffMs: c.retry_backoff_ms, maxConcurrency: c.max_concurrency,
    apiKey: c.api_key_env ? process.env[c.api_key_env] : undefined,
  });
  let model = c.model;
  const modelName = async () => {
    if (model) return model;
    const list = await client.get<{ data?: { id: string }[] }>(`${baseUrl}/models`);
    const id = list.data?.[0]?.id;
    if (!id) throw new RolloutResponseError(`${baseUrl}/models lists no model: set rollout.model to the name the server serves`);
    return (model = id);
  };
  const weightsDir = resolve(c.weights_dir ?? ctx.weightsDir);
  return {
    correction: c.importance_sampling_correction ? { cap: c.importance_sampling_cap, mode: c.importance_sampling_mode } : null,
    generate: async (prompts, s) => openaiGenerate(client, { baseUrl, model: await modelName(), promptsPerRequest: c.prompts_per_request }, prompts, s),
    sync: async policy => {
      if (c.reload_endpoint === null) return;
      savePretrained(policy, weightsDir, ctx.save);
      await client.post(`${new URL(baseUrl).origin}${c.reload_endpoint}`, { [c.reload_path_field]: weightsDir });
    },
  };
}
