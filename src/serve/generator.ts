// The HTTP thread's handle on the generator worker: one promise per job, token events routed to the job's listener.
import type { KvCacheDtype } from "../model/kv-cache.js";
import { Worker } from "node:worker_threads";
import type { WeightsDtype } from "../model/io/pretrained.js";
import type { BackendKind } from "../engine/index.js";
import type { Generation, TokenEvent } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";
import type { FromWorker, ToWorker } from "./messages.js";

/** A job's generations and the policy version of the weights that decoded them. */
export type VersionedGenerations = Generation[] & { policyVersion: number };

interface Pending { resolve(r: { generations: Generation[] | null; version: number }): void; reject(e: Error): void; onToken?: (e: TokenEvent) => void }

export class GeneratorWorkerError extends Error {
  constructor(message: string) { super(message); this.name = "GeneratorWorkerError"; }
}

export class Generator {
  private readonly worker = new Worker(new URL("./worker-entry.mjs", import.meta.url));
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Set once the thread is gone: later jobs fail at once instead of waiting forever. */
  private dead: Error | null = null;

  constructor() {
    this.worker.on("message", (m: FromWorker) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === "token") { p.onToken?.(m.event); return; }
      this.pending.delete(m.id);
      if (m.type === "error") p.reject(new GeneratorWorkerError(m.message));
      else p.resolve(m.type === "done" ? { generations: m.generations, version: m.version } : { generations: null, version: m.version });
    });
    this.worker.on("error", e => this.failAll(new GeneratorWorkerError(`generator thread failed: ${e.message}`)));
    this.worker.on("exit", code => this.failAll(new GeneratorWorkerError(`generator thread exited (code ${code})`)));
  }

  /**
   * Loads (or swaps in) the weights and tokenizer of a model folder; queued behind any running job. The weights' and KV
   * cache's dtypes, once given, hold for later loads that give none (a reload keeps what `move37 serve` was started with).
   */
  async load(dir: string, backend: BackendKind, dtype?: WeightsDtype, kvCacheDtype?: KvCacheDtype, version?: number): Promise<number> {
    this.dtypes = { dtype: dtype ?? this.dtypes.dtype, kvCacheDtype: kvCacheDtype ?? this.dtypes.kvCacheDtype };
    return (await this.call({ type: "load", id: 0, dir, backend, ...this.dtypes, version })).version;
  }

  /** Swaps in pushed weights (`dir`/model.safetensors, see weights-apply.ts) between jobs; resolves with the new version. */
  async push(dir: string, version: number): Promise<number> {
    return (await this.call({ type: "weights", id: 0, dir, version })).version;
  }

  /** Writes the served trainable tensors to `file` (between jobs); resolves with their version. */
  async dump(file: string): Promise<number> {
    return (await this.call({ type: "dump", id: 0, file })).version;
  }
  private dtypes: { dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype } = {};

  async generate(prompts: number[][], options: SamplingOptions, onToken?: (e: TokenEvent) => void): Promise<VersionedGenerations> {
    const r = await this.call({ type: "generate", id: 0, prompts, options, stream: onToken !== undefined }, onToken);
    return Object.assign(r.generations!, { policyVersion: r.version });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners("exit");
    await this.worker.terminate();
  }

  private call(m: ToWorker, onToken?: (e: TokenEvent) => void): Promise<{ generations: Generation[] | null; version: number }> {
    const id = this.nextId++;
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onToken });
      this.worker.postMessage({ ...m, id });
    });
  }

  private failAll(e: Error) {
    this.dead = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
