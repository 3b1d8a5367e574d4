// `move37 serve`'s process wiring: read the folder, start the generator thread, listen.
import { basename, resolve } from "node:path";
import type { BackendKind } from "../engine/index.js";
import { closeServer, listen, type Listening } from "../http/listen.js";
import { createApp, readServed } from "./app.js";
import { Batcher, type BatchStats } from "./batcher.js";
import { Generator } from "./generator.js";
import type { WeightsDtype } from "../model/io/pretrained.js";
import type { KvCacheDtype } from "../model/kv-cache.js";

export interface ServeOptions {
  modelDir: string;
  port?: number;
  host?: string;
  /** Name clients pass as `model` (default: the folder's name). */
  modelName?: string;
  backend?: BackendKind;
  /** Weights: float32 (default) or frozen bfloat16. */
  dtype?: WeightsDtype;
  /** KV cache: float32 (default) or bfloat16 (half the cache). */
  kvCacheDtype?: KvCacheDtype;
  /** How long the first request of a batch waits for others (ms). */
  batchWaitMs?: number;
  /** Most rows (prompts × n) decoded together. */
  maxBatchRows?: number;
}

export interface ServeHandle { url: string; stats: BatchStats; close(): Promise<void> }

export async function startServe(o: ServeOptions): Promise<ServeHandle> {
  const backend = o.backend ?? "auto";
  const served = readServed(o.modelDir, o.modelName ?? basename(resolve(o.modelDir))); // named errors for a broken folder, before any thread starts
  const generator = new Generator();
  try {
    await generator.load(o.modelDir, backend, o.dtype, o.kvCacheDtype);
  } catch (e) {
    await generator.close();
    throw e;
  }
  const batcher = new Batcher(generator, { waitMs: o.batchWaitMs ?? 20, maxBatchRows: o.maxBatchRows ?? 256 });
  const app = createApp({ served, generator, batcher, backend });
  let listening: Listening;
  try {
    listening = await listen(app.fetch, o.port ?? 8000, o.host ?? "127.0.0.1");
  } catch (e) {
    await generator.close();
    throw e;
  }
  return {
    url: listening.url,
    stats: batcher.stats,
    close: () => closeServer(listening.server).then(() => generator.close()),
  };
}
