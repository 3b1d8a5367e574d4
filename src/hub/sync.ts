// downloadSnapshot, synchronously: recipes name their model and dataset where code is synchronous (loadDataset,
// requireModelFolder), so a download on first use runs in a worker thread while this thread waits (the pattern of
// src/data/files.ts's Parquet reader). The worker's errors come back as the same named errors.
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { DownloadResult } from "./download.js";
import type { HubEnv } from "./env.js";
import { HubChecksumError, HubDownloadError, HubError, HubGatedError, HubIdError, HubNotFoundError, HubOfflineError } from "./errors.js";
import type { HubId } from "./id.js";

const ERRORS: Record<string, { prototype: Error }> = { HubChecksumError, HubDownloadError, HubError, HubGatedError, HubIdError, HubNotFoundError, HubOfflineError };

/** Longest a download may block (a model of several GB on a slow line); the worker is stopped after it. */
const DOWNLOAD_TIMEOUT_MS = 6 * 3600_000;

function rebuild(e: { name: string; message: string }): Error {
  const Cls = ERRORS[e.name];
  const err = Cls ? Object.create(Cls.prototype) as Error : new Error(e.message);
  if (Cls) {
    Object.assign(err, { message: e.message, name: e.name });
    Error.captureStackTrace(err, rebuild);
  }
  return err;
}

export function downloadSnapshotSync(id: HubId, env: HubEnv, opts: { maxAttempts?: number } = {}): DownloadResult {
  const ctrlBuf = new SharedArrayBuffer(4);
  const ctrl = new Int32Array(ctrlBuf);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./download-worker.mjs", import.meta.url), {
    workerData: { port: port2, ctrl: ctrlBuf, id, env, maxAttempts: opts.maxAttempts },
    transferList: [port2],
    execArgv: [],
  });
  try {
    const deadline = Date.now() + DOWNLOAD_TIMEOUT_MS;
    while (Atomics.load(ctrl, 0) === 0 && Date.now() < deadline) Atomics.wait(ctrl, 0, 0, 1000);
    const msg = receiveMessageOnPort(port1)?.message as { result?: DownloadResult; error?: { name: string; message: string } } | undefined;
    if (!msg) throw new HubDownloadError(`downloading ${id.repo} gave no answer within ${DOWNLOAD_TIMEOUT_MS / 3600_000} h; run move37 download ${id.repo} to see its progress`);
    if (msg.error) throw rebuild(msg.error);
    return msg.result!;
  } finally {
    void worker.terminate();
    port1.close();
  }
}
