// Model and dataset strings of recipes and verbs → folders. A local path that exists always wins; otherwise a hub
// id is looked up offline first in the Hugging Face cache, and downloaded into it only when absent (or incomplete)
// and HF_HUB_OFFLINE is not set. Anything else is returned as the path it is, for the caller's own error.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { cachedSnapshot, datasetSnapshotGap, modelSnapshotGap } from "./cache.js";
import { downloadSnapshot, type DownloadOptions } from "./download.js";
import { hubEnv, type HubEnv } from "./env.js";
import { HubDownloadError, HubIdError, HubNotFoundError, HubOfflineError } from "./errors.js";
import { classify, formatHubId, parseHubId, type HubId } from "./id.js";
import { downloadSnapshotSync } from "./sync.js";

export interface ResolveOptions {
  /** relative paths are read from here (a recipe's folder) */
  baseDir?: string;
  env?: HubEnv;
}

export interface ResolvedDataset {
  /** a local file or folder (a hub snapshot is a folder in the hub layout) */
  path: string;
  /** config/split the id named (`owner/name:config:split`), else those given */
  config?: string;
  split?: string;
  /** the id, when it was one */
  id?: HubId;
}

/** Looks the id up in the cache; returns the snapshot when complete, or why it cannot be used. */
function lookup(id: HubId, env: HubEnv): { dir: string | null; gap: string | null } {
  const dir = cachedSnapshot(env.cacheDir, id);
  if (!dir) return { dir: null, gap: `no ${id.explicitRevision ? `revision ${id.revision}` : "refs/main"} there` };
  const gap = id.kind === "model" ? modelSnapshotGap(dir) : datasetSnapshotGap(dir, id.config, id.split);
  return { dir, gap };
}

function offline(id: HubId, env: HubEnv, gap: string | null, baseDir = process.cwd()): never {
  throw new HubOfflineError(`${id.kind} ${formatHubId(id)}`, env.cacheDir, `${gap ?? "not cached"}; nor is it a folder in ${baseDir}`);
}

/** The cached snapshot of `id`, or null (no network, ever). */
export function findCached(id: HubId, env: HubEnv = hubEnv()): string | null {
  const { dir, gap } = lookup(id, env);
  return dir && !gap ? dir : null;
}

/** A model path or hub id → a model folder (config.json, safetensors, tokenizer). Synchronous; downloads on first use. */
export function resolveModelPath(s: string, opts: ResolveOptions = {}): string {
  const c = classify(s, "model", opts.baseDir);
  if ("local" in c) return opts.baseDir === undefined ? s : c.local; // a path stays as written (relative to cwd)
  const env = opts.env ?? hubEnv();
  const { dir, gap } = lookup(c.id, env);
  if (dir && !gap) return dir;
  if (env.offline) offline(c.id, env, gap, opts.baseDir);
  return withPathContext(() => downloadSnapshotSync(c.id, env).dir, s, opts.baseDir);
}

/** A 404 for a string that might also have been a path: say that no such folder exists here either. */
function withPathContext<T>(fn: () => T, s: string, baseDir = process.cwd()): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof HubNotFoundError) throw new HubNotFoundError(`"${s}" is neither a folder here (${baseDir}) nor found on the hub: ${e.message}`);
    if (e instanceof HubDownloadError) throw new HubDownloadError(`"${s}" is not a folder here (${baseDir}), so it was taken for a hub id: ${e.message}`);
    throw e;
  }
}

/**
 * A dataset path or hub id (`owner/name`, `owner/name@rev`, `owner/name:config`, `owner/name:config:split`) → a local
 * file or folder, with the config and split to read. The id's own config/split win over those given.
 */
export function resolveDatasetPath(s: string, opts: ResolveOptions & { config?: string; split?: string } = {}): ResolvedDataset {
  const c = classify(s, "dataset", opts.baseDir);
  if ("local" in c) return { path: c.local, config: opts.config, split: opts.split };
  const id: HubId = { ...c.id, config: c.id.config ?? opts.config, split: c.id.split ?? opts.split };
  const env = opts.env ?? hubEnv();
  const { dir, gap } = lookup(id, env);
  // "default" (the name `datasets` gives a repo's only config) is no folder to the loader when the repo has none
  const out = (path: string): ResolvedDataset => ({ path, config: id.config === "default" && !existsSync(join(path, "default")) && !existsSync(join(path, "data", "default")) ? undefined : id.config, split: id.split, id });
  if (dir && !gap) return out(dir);
  if (env.offline) offline(id, env, gap, opts.baseDir);
  return out(withPathContext(() => downloadSnapshotSync(id, env).dir, s, opts.baseDir));
}

/** `move37 download`: the same resolution, asynchronously and with the download's report. */
export async function fetchToCache(s: string, kind: "model" | "dataset", opts: DownloadOptions & { revision?: string; config?: string; split?: string } = {}) {
  const parsed = parseHubId(s, kind);
  if (opts.revision !== undefined && parsed.explicitRevision && opts.revision !== parsed.revision)
    throw new HubIdError(s, `it names revision ${parsed.revision} and --revision says ${opts.revision}; give one`);
  const id: HubId = { ...parsed, config: parsed.config ?? opts.config, split: parsed.split ?? opts.split };
  if (opts.revision !== undefined) Object.assign(id, { revision: opts.revision, explicitRevision: true });
  if (!/^[A-Za-z0-9][A-Za-z0-9._\/-]*$/.test(id.revision)) throw new HubIdError(s, `revision "${id.revision}" is not a branch, tag or commit sha`);
  const env = opts.env ?? hubEnv();
  const { dir, gap } = lookup(id, env);
  if (env.offline) {
    if (dir && !gap) return { id, dir, sha: dir.split(/[\\/]/).pop()!, files: [], downloaded: [], bytes: 0, cached: true };
    offline(id, env, gap);
  }
  const r = await downloadSnapshot(id, { ...opts, env });
  return { id, ...r, cached: r.downloaded.length === 0 };
}

