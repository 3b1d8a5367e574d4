/**
 * Continuous-ish batching for a single generator: requests that arrive within `waitMs` of each other, or while
 * the generator is busy, are decoded together as one `generate` call over all their prompts.
 *
 * Requests batch together when their sampling options (max_tokens, temperature, top-p/k, stop, ...) are equal;
 * each request's prompts are expanded to prompt × n rows. A batch holds at most one seeded request, placed
 * first: generate seeds row i from (seed, i), so that request's rows get exactly the streams an in-process
 * generate(prompts, { seed, numReturnSequences: n }) gives them, whatever else shares the batch.
 */
import type { Generation, TokenEvent } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";
import type { Generator } from "./generator.js";

export type BatchOptions = Omit<SamplingOptions, "numReturnSequences" | "seed" | "batchSize">;

export interface GenRequest {
  prompts: number[][];
  n: number;
  options: BatchOptions;
  seed?: number;
  /** Streaming: each token of choice `prompt·n + sample`. */
  onToken?: (choice: number, e: TokenEvent) => void;
}

interface Queued { req: GenRequest; key: string; rows: number; resolve(g: Generation[]): void; reject(e: Error): void }

export interface BatchStats {
  batches: number;
  requests: number;
  rows: number;
  /** Requests in the largest batch so far, and in each of the last 64 batches. */
  maxBatchRequests: number;
  recentBatchRequests: number[];
}

export class Batcher {
  readonly stats: BatchStats = { batches: 0, requests: 0, rows: 0, maxBatchRequests: 0, recentBatchRequests: [] };
  private queue: Queued[] = [];
  private busy = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly generator: Generator, private readonly opts: { waitMs: number; maxBatchRows: number }) {}

  /** Resolves with the request's choices in prompt-major order (choice = prompt·n + sample). */
  submit(req: GenRequest): Promise<Generation[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, key: JSON.stringify(req.options), rows: req.prompts.length * req.n, resolve, reject });
      if (!this.busy && !this.timer) this.timer = setTimeout(() => { this.timer = null; void this.pump(); }, this.opts.waitMs);
    });
  }

  /** Runs queued work until the queue is empty; requests queued meanwhile join the next batch. */
  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0) await this.runBatch(this.takeBatch());
    } finally {
      this.busy = false;
    }
  }

  private takeBatch(): Queued[] {
    const key = this.queue[0].key;
    const batch: Queued[] = [];
    let rows = 0;
    let seeded: Queued | null = null;
    for (const q of this.queue) {
      if (q.key !== key || (q.req.seed != null && seeded) || (batch.length > 0 && rows + q.rows > this.opts.maxBatchRows)) continue;
      if (q.req.seed != null) seeded = q;
      batch.push(q);
      rows += q.rows;
    }
    this.queue = this.queue.filter(q => !batch.includes(q));
    return seeded ? [seeded, ...batch.filter(q => q !== seeded)] : batch;
  }

  private async runBatch(batch: Queued[]): Promise<void> {
    // Row r of the job is choice `choice[r]` of request `owner[r]`.
    const prompts: number[][] = [], owner: number[] = [], choice: number[] = [];
    batch.forEach((q, i) => q.req.prompts.forEach((p, pi) => {
      for (let s = 0; s < q.req.n; s++) { prompts.push(p); owner.push(i); choice.push(pi * q.req.n + s); }
    }));
    const streaming = batch.some(q => q.req.onToken);
    const onToken = streaming ? (e: TokenEvent) => batch[owner[e.prompt]].req.onToken?.(choice[e.prompt], e) : undefined;
    const s = this.stats;
    s.batches++; s.requests += batch.length; s.rows += prompts.length;
    s.maxBatchRequests = Math.max(s.maxBatchRequests, batch.length);
    s.recentBatchRequests = [...s.recentBatchRequests.slice(-63), batch.length];
    try {
      const gens = await this.generator.generate(prompts, {
        ...batch[0].req.options, seed: batch[0].req.seed ?? undefined, numReturnSequences: 1, batchSize: this.opts.maxBatchRows,
      }, onToken);
      const out: Generation[][] = batch.map(q => new Array(q.rows));
      gens.forEach((g, r) => {
        const n = batch[owner[r]].req.n;
        out[owner[r]][choice[r]] = { ...g, prompt: Math.floor(choice[r] / n), sample: choice[r] % n };
      });
      batch.forEach((q, i) => q.resolve(out[i]));
    } catch (e) {
      for (const q of batch) q.reject(e as Error);
    }
  }
}
