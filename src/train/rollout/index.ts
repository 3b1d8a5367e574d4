/**
 * Rollout backends: where a trainer's completions come from. `local` runs the in-process sampler on the policy;
 * `openai` asks an OpenAI-compatible server and, after each optimizer step, saves the policy and has the server
 * reload it; the reload is awaited, so every step samples from the weights being trained (on-policy, as local).
 */
import { join, resolve } from "node:path";
import { mkdirSync, rmSync } from "node:fs";
import type { CausalLM } from "../../model/types.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { SaveOptions } from "../../model/io/hf.js";
import { savePretrained } from "../../model/io/pretrained.js";
import { bf16Copy } from "../../model/transformer.js";
import { generate, type Generation } from "../../sample/generate.js";
import type { RolloutConfig } from "./config.js";
import { RolloutConfigError, RolloutRequestError, RolloutResponseError } from "./errors.js";
import { ServerPool, WeightVersionError, type ServerState } from "./pool.js";
import { pushWeightsFile } from "../../serve/weights-http.js";
import { writePushFile } from "./weights.js";
import type { ImportanceOptions } from "./importance.js";
import { openaiGenerate, type RolloutSampling } from "./openai.js";

export { RolloutConfigSchema, type RolloutConfig } from "./config.js";
export { RolloutConfigError, RolloutRequestError, RolloutResponseError } from "./errors.js";
export { importanceWeights, applyWeights, slotLogprobs, ImportanceStats, type ImportanceOptions } from "./importance.js";
export type { RolloutSampling, VersionedGeneration } from "./openai.js";
export { RolloutUnavailableError, WeightVersionError } from "./pool.js";

export interface Rollout {
  /** Completions of every prompt, prompt-major as `generate` returns them, with the sampler's per-token log-probs. */
  generate(prompts: number[][], s: RolloutSampling): Promise<Generation[]>;
  /**
   * Makes the sampler use the policy's current weights (after each optimizer step, and once before the first), as
   * policy version `version` (default: the last one + 1). The weights are captured when called; the promise
   * resolves once the servers have confirmed them.
   */
  sync(policy: CausalLM, version?: number): Promise<void>;
  /** Resolves once every request started so far has left (servers: so they decode while the trainer computes). */
  flush?(): Promise<void>;
  /** Per-server figures (servers only). */
  metrics?(): Record<string, number>;
  close?(): void;
  /** Whether completions carry the policy version they were sampled from (servers with weight sync). */
  versioned?: boolean;
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
  return serverRollout(c, ctx);
}

/** The openai backend: one server or several (pool.ts), weights by disk or over HTTP, versions checked. */
function serverRollout(c: RolloutConfig, ctx: RolloutContext): Rollout {
  const urls = c.servers ?? [c.base_url!];
  const pool = new ServerPool(urls, {
    timeoutMs: c.timeout_ms, maxRetries: c.max_retries, backoffMs: c.retry_backoff_ms, maxConcurrency: c.max_concurrency,
    apiKey: c.api_key_env ? process.env[c.api_key_env] : undefined, serverRetryMs: Math.max(1, c.retry_backoff_ms), deadlineMs: c.step_timeout_ms,
  });
  const syncing = c.reload_endpoint !== null;
  let model = c.model;
  const modelName = async () => {
    if (model) return model;
    const list = await pool.get<{ data?: { id: string }[] }>(`${pool.servers[0].url}/models`);
    const id = list.data?.[0]?.id;
    if (!id) throw new RolloutResponseError(`${pool.servers[0].url}/models lists no model: set rollout.model to the name the server serves`);
    return (model = id);
  };
  const weightsDir = resolve(c.weights_dir ?? ctx.weightsDir);
  /** The newest weights written for the servers: a safetensors file (http) or the folder (disk), and their version. */
  let latest: { path: string; version: number } | null = null;
  let version = -1;
  let chain: Promise<unknown> = Promise.resolve();

  /** Gives one server the latest weights; checks the version it confirms. Throws on failure (the caller decides). */
  const pushTo = async (s: ServerState, w: { path: string; version: number }) => {
    s.sent = Math.max(s.sent, w.version);
    let answer: { version?: unknown };
    if (c.weight_sync === "http") {
      let r = await pushWeightsFile(`${s.origin}/v1/weights`, w.path, w.version, { timeoutMs: c.timeout_ms, apiKey: c.api_key_env ? process.env[c.api_key_env] : undefined });
      for (let attempt = 0; r.status === 400 && /checksum mismatch|upload/.test(r.body) && attempt < c.max_retries; attempt++) // damaged on the way: send again
        r = await pushWeightsFile(`${s.origin}/v1/weights`, w.path, w.version, { timeoutMs: c.timeout_ms, apiKey: c.api_key_env ? process.env[c.api_key_env] : undefined });
      if (r.status !== 200) throw new RolloutRequestError(`POST ${s.origin}/v1/weights (version ${w.version}) answered HTTP ${r.status}: ${r.body.slice(0, 500)}`);
      answer = JSON.parse(r.body) as { version?: unknown };
    } else {
      const body = { [c.reload_path_field]: w.path, ...(c.reload_path_field === "model_dir" ? { version: w.version } : {}) };
      const r = await pool.attempt("POST", `${s.origin}${c.reload_endpoint}`, body);
      if (!r.ok) throw new RolloutRequestError(`POST ${s.origin}${c.reload_endpoint} failed: ${r.error}`);
      answer = r.value as { version?: unknown };
    }
    if (typeof answer.version === "number" && answer.version !== w.version)
      throw new WeightVersionError(`${s.url} confirmed policy version ${answer.version} after being sent version ${w.version}: it would sample a policy other than the trainer's`);
    s.acked = w.version; s.needsSync = false;
  };
  pool.resync = s => {
    const p = chain.then(() => latest && pushTo(s, latest)) as Promise<void>;
    chain = p.catch(() => {}); // a failed resync is the caller's to handle; it must not fail the next push in the chain
    return p;
  };

  return {
    correction: c.importance_sampling_correction ? { cap: c.importance_sampling_cap, mode: c.importance_sampling_mode } : null,
    generate: async (prompts, s) => openaiGenerate(pool, { model: await modelName(), promptsPerRequest: c.prompts_per_request }, prompts, s),
    sync: async (policy, v) => {
      if (!syncing) return;
      version = v ?? version + 1;
      const w = { path: "", version };
      if (c.weight_sync === "http") {
        mkdirSync(weightsDir, { recursive: true });
        w.path = join(weightsDir, `push-${version}.safetensors`);
        writePushFile(policy, w.path); // the weights as they are now, whatever trains meanwhile
      } else {
        savePretrained(policy, weightsDir, ctx.save);
        w.path = weightsDir;
      }
      const previous = latest;
      latest = w;
      const done = chain.then(async () => {
        const targets = pool.servers.filter(s => s.downUntil === 0);
        for (const s of pool.servers) if (s.downUntil !== 0) s.needsSync = true; // given the weights when it comes back
        const results = await Promise.allSettled(targets.map(s => pushTo(s, w)));
        results.forEach((r, i) => {
          if (r.status === "rejected") {
            if (r.reason instanceof WeightVersionError) throw r.reason;
            pool.fail(targets[i], `weights version ${w.version} not delivered: ${(r.reason as Error).message}`);
            ctx.log(`rollout: ${targets[i].url} left the rotation (${(r.reason as Error).message})`);
          }
        });
        if (previous && previous.path !== w.path && c.weight_sync === "http") rmSync(previous.path, { force: true });
      });
      chain = done.catch(() => {});
      await done;
    },
    flush: () => pool.flush(),
    metrics: () => pool.metrics(),
    close: () => pool.close(),
    versioned: syncing,
  };
}
