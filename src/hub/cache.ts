// The local Hugging Face cache, read exactly as huggingface_hub lays it out (and written the same way by download.ts):
//
//   <cache>/models--owner--name/
//     refs/main                      the commit sha the branch "main" pointed at when last fetched
//     snapshots/<sha>/config.json -> ../../blobs/<etag>     relative symlinks, one per file of that commit
//     blobs/<etag>                   file contents; etag = sha256 (LFS files) or git blob sha1 (small files)
//     blobs/<etag>.incomplete        a download in progress (resumed with a Range request)
//     .no_exist/<sha>/<file>         empty markers: the file is known to be absent at that commit
//   <cache>/datasets--owner--name/   the same for datasets
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { cardConfigs, dataFilesRegex } from "./dataset-card.js";
import { COMMIT_SHA, type HubId, type RepoKind } from "./id.js";

export const repoFolderName = (kind: RepoKind, repo: string) => `${kind}s--${repo.split("/").join("--")}`;

export function repoFolder(cacheDir: string, kind: RepoKind, repo: string): string {
  return join(cacheDir, repoFolderName(kind, repo));
}

/** The commit a revision names in the cache: a sha as is (if its snapshot is there), a branch or tag through refs/. */
export function cachedCommit(cacheDir: string, id: Pick<HubId, "kind" | "repo" | "revision">): string | null {
  const folder = repoFolder(cacheDir, id.kind, id.repo);
  if (COMMIT_SHA.test(id.revision)) return existsSync(join(folder, "snapshots", id.revision)) ? id.revision : null;
  const ref = join(folder, "refs", id.revision);
  if (!existsSync(ref) || !statSync(ref).isFile()) return null;
  const sha = readFileSync(ref, "utf8").trim();
  return COMMIT_SHA.test(sha) && existsSync(join(folder, "snapshots", sha)) ? sha : null;
}

/** The snapshot folder of a cached revision, or null. */
export function cachedSnapshot(cacheDir: string, id: Pick<HubId, "kind" | "repo" | "revision">): string | null {
  const sha = cachedCommit(cacheDir, id);
  return sha ? join(repoFolder(cacheDir, id.kind, id.repo), "snapshots", sha) : null;
}

/** Files under a folder, relative, "/"-separated, following the snapshot's symlinks (broken links are left out). */
export function snapshotFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling symlink: its blob was deleted
    }
    if (st.isDirectory()) out.push(...snapshotFiles(p, `${prefix}${name}/`));
    else out.push(`${prefix}${name}`);
  }
  return out;
}

/** Files of a model folder Move37 (and transformers) reads; everything else in a repo (*.bin, onnx/, gguf) is skipped. */
export function isModelFile(path: string): boolean {
  if (path.includes("/")) return false;
  return /^(config\.json|generation_config\.json|chat_template\.jinja|chat_template\.json|tokenizer\.json|tokenizer_config\.json|tokenizer\.model|special_tokens_map\.json|added_tokens\.json|vocab\.json|merges\.txt|model\.safetensors\.index\.json|.*\.safetensors)$/.test(path);
}

/** Why a model snapshot cannot be used yet (missing files), or null when it is complete. */
export function modelSnapshotGap(dir: string): string | null {
  const has = (f: string) => existsSync(join(dir, f));
  if (!has("config.json")) return "no config.json";
  if (has("model.safetensors.index.json")) {
    let index: { weight_map?: Record<string, string> };
    try {
      index = JSON.parse(readFileSync(join(dir, "model.safetensors.index.json"), "utf8"));
    } catch {
      return "model.safetensors.index.json is not JSON";
    }
    const missing = [...new Set(Object.values(index.weight_map ?? {}))].filter(f => !has(f));
    if (missing.length) return `shards missing: ${missing.join(", ")}`;
  } else if (!readdirSync(dir).some(f => f.endsWith(".safetensors"))) return "no *.safetensors weights";
  if (!has("tokenizer.json") && !has("tokenizer.model") && !has("vocab.json")) return "no tokenizer.json";
  return null;
}

/** Data files of a dataset repo that src/data reads: Parquet, else JSON Lines/JSON/CSV/TSV (gzipped too) for repos without Parquet. */
export const isDatasetDataFile = (path: string) => /\.(parquet|jsonl|ndjson|json|csv|tsv)(\.gz)?$/i.test(path) && !/(^|\/)(dataset_infos?|dataset_dict|state)\.json$/.test(path) && !path.startsWith(".");

/**
 * The data files of one config and split, in a dataset repo's file list: the hub's layouts are
 * `<config>/<split>-00000-of-00001.parquet`, `data/<config>/…`, `data/<split>-…` (one config) and
 * `<config>/<split>/0000.parquet` (the refs/convert/parquet branch). Without a split, all splits of the config.
 */
export function datasetFilesFor(files: readonly string[], config: string | undefined, split: string | undefined): string[] {
  const data = files.filter(isDatasetDataFile);
  const parquet = data.filter(f => f.endsWith(".parquet"));
  const pool = parquet.length ? parquet : data;
  const inFolder = (c: string) => pool.filter(f => {
    const dirs = f.split("/").slice(0, -1);
    return dirs[0] === c || (dirs[0] === "data" && dirs[1] === c);
  });
  // "default" is the name `datasets` gives the only config of a repo without config folders
  const inConfig = config === undefined || (config === "default" && inFolder(config).length === 0 && !hasConfigFolders(pool)) ? pool : inFolder(config);
  if (split === undefined) return inConfig;
  const splitRe = new RegExp(`(^|/)${split.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}([-_./]|$)`);
  return inConfig.filter(f => {
    const parts = f.split("/");
    const file = parts[parts.length - 1];
    return splitRe.test(file) || parts.slice(0, -1).includes(split);
  });
}

/** Whether data files sit in config folders (`main/…`, `data/main/…`) rather than directly under `data/` or the root. */
function hasConfigFolders(files: readonly string[]): boolean {
  return files.some(f => {
    const dirs = f.split("/").slice(0, -1);
    const d = dirs[0] === "data" ? dirs.slice(1) : dirs;
    return d.length > 0 && !/^(train|training|validation|valid|val|dev|test|testing|eval|evaluation)([_-].*)?$/.test(d[0]);
  });
}

/**
 * The files a dataset card's `configs:` (README.md's YAML front matter, as `datasets.load_dataset` reads it) gives
 * a config and split: all splits when `split` is undefined, every config when `config` is. Undefined when the card
 * declares no configs (then the folder conventions of datasetFilesFor apply). The card is read by dataset-card.ts,
 * as src/data/files.ts reads a local folder's.
 */
export function cardDataFiles(readme: string, files: readonly string[], config?: string, split?: string): { files: string[]; configs: string[] } | undefined {
  const parsed = cardConfigs(readme);
  if (!parsed) return undefined;
  const chosen = config === undefined ? parsed : parsed.filter(c => c.name === config);
  const patterns = chosen.flatMap(c => (split === undefined ? [...c.splits.values()].flat() : c.splits.get(split) ?? []));
  const res = patterns.map(dataFilesRegex);
  return { files: files.filter(f => isDatasetDataFile(f) && res.some(r => r.test(f))), configs: parsed.map(c => c.name) };
}

/** Why a dataset snapshot lacks the asked config/split, or null when it holds data files for them. */
export function datasetSnapshotGap(dir: string, config?: string, split?: string): string | null {
  const all = snapshotFiles(dir);
  const card = all.includes("README.md") ? cardDataFiles(readFileSync(join(dir, "README.md"), "utf8"), all, config, split) : undefined;
  const files = card ? card.files : datasetFilesFor(all, config, split);
  if (files.length) return null;
  return `no data files${config ? ` for config "${config}"` : ""}${split ? ` split "${split}"` : ""}`;
}

export interface CachedRepo {
  kind: RepoKind;
  repo: string;
  folder: string;
  /** one entry per snapshot; refs that point at it */
  snapshots: { sha: string; dir: string; refs: string[]; files: string[]; bytes: number }[];
  /** bytes of blobs/ (shared between snapshots, counted once) */
  bytes: number;
}

function refsOf(folder: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string, prefix: string) => {
    if (!existsSync(dir)) return;
    for (const n of readdirSync(dir)) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${n}/`);
      else {
        const sha = readFileSync(p, "utf8").trim();
        out.set(sha, [...(out.get(sha) ?? []), `${prefix}${n}`]);
      }
    }
  };
  walk(join(folder, "refs"), "");
  return out;
}

/** Every repo in the cache, with its snapshots, refs and sizes. A missing cache folder is an empty list. */
export function scanCache(cacheDir: string): CachedRepo[] {
  if (!existsSync(cacheDir)) return [];
  const out: CachedRepo[] = [];
  for (const name of readdirSync(cacheDir).sort()) {
    const m = /^(models|datasets)--(.+?)--(.+)$/.exec(name);
    if (!m) continue;
    const folder = join(cacheDir, name);
    if (!statSync(folder).isDirectory()) continue;
    const refs = refsOf(folder);
    const snapshots: CachedRepo["snapshots"] = [];
    const snapRoot = join(folder, "snapshots");
    if (existsSync(snapRoot)) {
      for (const sha of readdirSync(snapRoot).sort()) {
        const dir = join(snapRoot, sha);
        const files = snapshotFiles(dir);
        const bytes = files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
        snapshots.push({ sha, dir, refs: refs.get(sha) ?? [], files, bytes });
      }
    }
    let bytes = 0;
    const blobs = join(folder, "blobs");
    if (existsSync(blobs)) for (const b of readdirSync(blobs)) bytes += lstatSync(join(blobs, b)).size;
    out.push({ kind: m[1] === "models" ? "model" : "dataset", repo: `${m[2]}/${m[3]}`, folder, snapshots, bytes });
  }
  return out;
}
