// `move37 serve`'s process wiring: read the folder, start the generator thread, listen.
import type { AddressInfo } from "node:net";
import { basename, resolve } from "node:path";
import { serve } from "@hono/node-server";
import type { BackendKind } from "../engine/index.js";
import { PortInUseError } from "../dashboard/server.js";
import { createApp, readServed } from "./app.js";
import { Batcher, type BatchStats } from "./batcher.js";
import { Generator } from "./generator.js";

export interface ServeOptions {
  modelDir: string;
  port?: number;
  host?: string;
  /** Name clients pass as `model` (default: the folder's name). */
  modelName?: string;
  backend?: BackendKind;
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
    await generator.load(o.modelDir, backend);
  } catch (e) {
    await generator.close();
    throw e;
  }
  const batcher = new Batcher(generator, { waitMs: o.batchWaitMs ?? 20, maxBatchRows: o.maxBatchRows ?? 256 });
  const app = createApp({ served, generator, batcher, backend });
  const host = o.host ?? "127.0.0.1";
  const requested = o.port ?? 8000;
  const server = serve({ fetch: app.fetch, port: requested, hostname: host });
  try {
    await new Promise<void>((ok, fail) => {
      server.once("listening", () => ok());
      server.once("error", (err: NodeJS.ErrnoException) => fail(err.code === "EADDRINUSE" ? new PortInUseError(requested) : err));
    });
  } catch (e) {
    await generator.close();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    stats: batcher.stats,
    close: () => new Promise<void>(done => {
      server.close(() => void generator.close().then(done));
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    }),
  };
}
