// Test helpers: a fake hub in a worker thread, a cache written as huggingface_hub writes it, a HubEnv on temp dirs.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { Worker } from "node:worker_threads";
import type { HubEnv } from "../../src/hub/env.js";

export const sha = (s: string) => createHash("sha1").update(s).digest("hex"); // a made-up 40-hex commit id

export interface FakeRepo {
  kind: "model" | "dataset";
  repo: string;
  gated?: boolean;
  refs: Record<string, string>;
  commits: Record<string, Record<string, Buffer | string>>;
}

export interface FakeHub {
  endpoint: string;
  /** requests since the last call: method, decoded path, Range and Authorization headers */
  requests(): Promise<{ method: string; path: string; range: string | null; auth: string | null }[]>;
  stop(): Promise<void>;
}

export async function startFakeHub(repos: FakeRepo[], opts: { token?: string; cutOnce?: string[]; corrupt?: string[]; busyOnce?: string[]; renames?: Record<string, string> } = {}): Promise<FakeHub> {
  const wire = repos.map(r => ({ ...r, commits: Object.fromEntries(Object.entries(r.commits).map(([c, files]) => [c, Object.fromEntries(Object.entries(files).map(([p, b]) => [p, Buffer.from(b).toString("base64")]))])) }));
  const worker = new Worker(new URL("./fake-hub.mjs", import.meta.url), { workerData: { repos: wire, ...opts, lifetimeMs: 120_000 }, execArgv: [] });
  worker.unref();
  const port = await new Promise<number>((res, rej) => {
    worker.once("message", m => res((m as { port: number }).port));
    worker.once("error", rej);
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests: () => new Promise(res => {
      const on = (m: { requests?: unknown }) => { if (m.requests) { worker.off("message", on); res(m.requests as never); } };
      worker.on("message", on);
      worker.postMessage("requests");
    }),
    stop: async () => { await worker.terminate(); },
  };
}

export function tempDir(prefix = "m37-hub-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function testEnv(cacheDir: string, over: Partial<HubEnv> = {}): HubEnv {
  return { cacheDir, endpoint: "http://127.0.0.1:9", offline: false, token: undefined, ...over };
}

/**
 * Writes a repo into a cache exactly as huggingface_hub does: blobs/<etag> (sha256 for LFS files, git blob sha1
 * otherwise), snapshots/<commit>/<path> as relative symlinks to them, refs/<branch> holding the commit.
 */
export function writeCachedRepo(cacheDir: string, r: { kind: "model" | "dataset"; repo: string; refs: Record<string, string>; commits: Record<string, Record<string, Buffer | string>> }): string {
  const folder = join(cacheDir, `${r.kind}s--${r.repo.replace("/", "--")}`);
  for (const [commit, files] of Object.entries(r.commits)) {
    for (const [path, content] of Object.entries(files)) {
      const buf = Buffer.from(content);
      const etag = /\.(safetensors|parquet|model)$/.test(path)
        ? createHash("sha256").update(buf).digest("hex")
        : createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
      const blob = join(folder, "blobs", etag);
      mkdirSync(dirname(blob), { recursive: true });
      writeFileSync(blob, buf);
      const pointer = join(folder, "snapshots", commit, path);
      mkdirSync(dirname(pointer), { recursive: true });
      symlinkSync(relative(dirname(pointer), blob), pointer);
    }
  }
  for (const [ref, commit] of Object.entries(r.refs)) {
    mkdirSync(dirname(join(folder, "refs", ref)), { recursive: true });
    writeFileSync(join(folder, "refs", ref), commit);
  }
  return folder;
}

/** Runs `fn` with these environment variables set (undefined: unset), then restores them; hubEnv reads process.env. */
export async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}
