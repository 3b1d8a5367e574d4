/**
 * Continuous batching for a single generator. The generator thread runs one decode loop (src/sample/engine.ts) over
 * every request in flight: a request that arrives while others decode is sent at once and joins the running batch at
 * the next step (its prompts prefilled, then decoded alongside), so a short request never waits for a long one to
 * finish. When nothing is decoding, the first request waits `waitMs` for companions, so requests that arrive together
 * share one prefill and start together.
 *
 * Each request is its own job with its own sampling options (max_tokens, temperature, top-p/k, stop, …) and seed:
 * a seeded request gets exactly what an in-process generate(prompts, { seed, numReturnSequences: n }) returns,
 * whatever else decodes alongside. `maxBatchRows` bounds the rows decoded together; further rows wait in the
 * generator's queue and join as rows finish.
 */
import type { Generation, TokenEvent } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";
import type { Generator, VersionedGenerations } from "./generator.js";

export type BatchOptions = Omit<SamplingOptions, "numReturnSequences" | "seed" | "batchSize">;

export interface GenRequest {
  prompts: number[][];
  n: number;
  options: BatchOptions;
  seed?: number;
  /** Streaming: each token of choice `prompt·n + sample`. */
  onToken?: (choice: number, e: TokenEvent) => void;
}

interface Queued { req: GenRequest; resolve(g: VersionedGenerations): void; reject(e: Error): void }

export interface BatchStats {
  /** Runs of the decode loop: from idle to busy to idle again. */
  batches: number;
  requests: number;
  rows: number;
  /** Requests that joined a decode already running (instead of waiting for it to end). */
  joined: number;
  /** Most requests in flight together so far, and in each of the last 64 runs. */
  maxBatchRequests: number;
  recentBatchRequests: number[];
}

export class Batcher {
  readonly stats: BatchStats = { batches: 0, requests: 0, rows: 0, joined: 0, maxBatchRequests: 0, recentBatchRequests: [] };
  private queue: Queued[] = [];
  private inFlight = 0;
  /** Most requests in flight together during the current run. */
  private runMax = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly generator: Generator, private readonly opts: { waitMs: number; maxBatchRows: number }) {}

  /** Resolves with the request's choices in prompt-major order (choice = prompt·n + sample), and the policy version that made them. */
  submit(req: GenRequest): Promise<VersionedGenerations> {
    return new Promise((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      if (this.inFlight > 0) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => { this.timer = null; this.flush(); }, this.opts.waitMs);
    });
  }

  /** Sends every queued request to the generator; those sent while others decode join the running batch. */
  private flush(): void {
    const s = this.stats, batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    if (this.inFlight === 0) { s.batches++; this.runMax = 0; } else s.joined += batch.length;
    for (const q of batch) {
      const { req } = q;
      s.requests++; s.rows += req.prompts.length * req.n;
      this.inFlight++;
      this.runMax = Math.max(this.runMax, this.inFlight);
      s.maxBatchRequests = Math.max(s.maxBatchRequests, this.runMax);
      const onToken = req.onToken ? (e: TokenEvent) => req.onToken!(e.prompt * req.n + e.sample, e) : undefined;
      this.generator.generate(req.prompts, {
        ...req.options, seed: req.seed ?? undefined, numReturnSequences: req.n, batchSize: this.opts.maxBatchRows,
      }, onToken).then(q.resolve, q.reject).finally(() => {
        if (--this.inFlight > 0) return;
        s.recentBatchRequests = [...s.recentBatchRequests.slice(-63), this.runMax];
      });
    }
  }
}
