// Dataset files → raw rows. JSONL, JSON arrays and Parquet are read here; a folder is resolved to the files of
// one split the way the Hugging Face hub lays datasets out.
//
//   gsm8k/main/train-00000-of-00001.parquet     (hub, a config per subfolder: config: main)
//   ds/data/train-00000-of-00002.parquet …      (hub, one config: data/)
//   ds/train/0000.parquet                       (refs/convert/parquet: a folder per split)
//   ds/train.jsonl, ds/test.parquet             (a file per split)
//   ds/a.parquet, ds/b.parquet                  (no split names: every file is "train")
//
// Not read: `datasets.save_to_disk` folders (Arrow IPC files, `dataset_dict.json`/`state.json`), which are
// refused with the one-line conversion to Parquet; compressed JSONL (.jsonl.gz); CSV.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads";
import { TaskError } from "../tasks/types.js";

/**
 * A named failure of dataset configuration or data: says which file, row and column, and what to do.
 * A TaskError, so callers that handle problem-set errors handle these too.
 */
export class DatasetError extends TaskError {
  override name = "DatasetError";
}

export const DATA_EXTENSIONS = [".parquet", ".jsonl", ".ndjson", ".json"] as const;
const isDataFile = (f: string) => DATA_EXTENSIONS.some(e => f.toLowerCase().endsWith(e));

/** Split names the hub recognises in file names (datasets' data_files.py keywords). */
const SPLIT_WORDS = ["train", "training", "validation", "valid", "val", "dev", "test", "testing", "eval", "evaluation"];

/** Raw rows of one file; `rowLabel(i)` names row i (0-based) for messages: "row 3", "line 7". */
export interface RawTable {
  file: string;
  rows: Record<string, unknown>[];
  rowLabel(i: number): string;
  /** Parquet: the file's top-level columns and compression codecs. */
  columns?: string[];
  codecs?: string[];
}

function listFiles(dir: string): string[] {
  return readdirSync(dir).filter(f => !f.startsWith(".")).sort();
}

/** Files of one split inside a folder (hub/convert layouts, no config subfolder); [] when none matches. */
function splitFilesIn(dir: string, split: string): string[] {
  const names = listFiles(dir);
  const out: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    const st = statSync(p);
    if (st.isDirectory() && n === split) out.push(...listFiles(p).filter(isDataFile).map(f => join(p, f)));
    else if (st.isFile() && isDataFile(n)) {
      const stem = n.replace(/\.(parquet|jsonl|ndjson|json)$/i, "");
      if (stem === split || stem.startsWith(`${split}-`) || stem.startsWith(`${split}.`)) out.push(p);
    }
  }
  return out;
}

/** Whether a folder holds data files (directly or in split subfolders). */
function hasDataFiles(dir: string): boolean {
  return listFiles(dir).some(n => {
    const p = join(dir, n);
    const st = statSync(p);
    return st.isFile() ? isDataFile(n) : st.isDirectory() && SPLIT_WORDS.includes(n) && listFiles(p).some(isDataFile);
  });
}

/** Every split a folder offers (for messages). */
function splitsIn(dir: string): string[] {
  const found = new Set<string>();
  for (const n of listFiles(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) { if (listFiles(p).some(isDataFile)) found.add(n); continue; }
    if (!isDataFile(n)) continue;
    const m = /^([A-Za-z][A-Za-z0-9_]*?)(?:[-.]|\.(?:parquet|jsonl|ndjson|json)$)/i.exec(n);
    if (m) found.add(m[1]);
  }
  return [...found].sort();
}

/**
 * The data files of `split` under `path` (a file, or a folder in a hub layout), in shard order.
 * A single file is its own (only) split.
 */
export function resolveDataFiles(path: string, split: string, config: string | undefined, baseDir = process.cwd()): string[] {
  const full = resolve(baseDir, path);
  if (!existsSync(full)) throw new DatasetError(`dataset ${full}: no such file or folder; check the recipe's dataset path (relative paths are read from ${baseDir})`);
  const st = statSync(full);
  if (st.isFile()) {
    if (!isDataFile(full)) throw new DatasetError(`dataset ${full}: unknown file type; Move37 reads ${DATA_EXTENSIONS.join(", ")} files and Hugging Face dataset folders`);
    return [full];
  }
  if (existsSync(join(full, "dataset_dict.json")) || existsSync(join(full, "state.json")) || listFiles(full).some(f => f.endsWith(".arrow")))
    throw new DatasetError(`dataset ${full}: a datasets.save_to_disk folder (Arrow files), which Move37 does not read; convert it once in Python: ` +
      `from datasets import load_from_disk; d = load_from_disk("${basename(full)}"); [d[s].to_parquet(f"${basename(full)}-parquet/{s}.parquet") for s in d]`);
  let root = full;
  if (config !== undefined) {
    const c = [join(full, config), join(full, "data", config)].find(p => existsSync(p) && statSync(p).isDirectory());
    if (!c) throw new DatasetError(`dataset ${full}: no folder for config "${config}"; configs here: ${configsIn(full).join(", ") || "none"}`);
    root = c;
  } else if (existsSync(join(full, "data")) && statSync(join(full, "data")).isDirectory() && !hasDataFiles(full)) {
    root = join(full, "data");
  }
  if (!hasDataFiles(root)) {
    const configs = configsIn(root);
    if (configs.length === 1) root = join(root, configs[0]);
    else if (configs.length > 1) throw new DatasetError(`dataset ${full}: several configs (${configs.join(", ")}); pick one with config: (e.g. config: ${configs[0]})`);
    else throw new DatasetError(`dataset ${full}: no data files (${DATA_EXTENSIONS.join(", ")}) in this folder`);
  }
  const files = splitFilesIn(root, split);
  if (files.length) return files;
  const splits = splitsIn(root).filter(s => SPLIT_WORDS.includes(s));
  if (split === "train" && splits.length === 0) return listFiles(root).filter(isDataFile).map(f => join(root, f));
  throw new DatasetError(`dataset ${full}: no files for split "${split}" in ${relative(full, root) || "."}; splits here: ${splitsIn(root).join(", ") || "none"}; set split: (or eval_split:) to one of them`);
}

/** Subfolders that hold data (hub configs such as gsm8k's main/ and socratic/). */
function configsIn(dir: string): string[] {
  return listFiles(dir).filter(n => {
    const p = join(dir, n);
    return statSync(p).isDirectory() && !SPLIT_WORDS.includes(n) && hasDataFiles(p);
  });
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new DatasetError(`dataset ${file}: cannot read (${(e as Error).message})`);
  }
}

/** JSONL: one JSON object per line; blank lines are skipped; rows are named by line number. */
export function parseJsonlTable(text: string, file: string, limit?: number): RawTable {
  const rows: Record<string, unknown>[] = [];
  const lines: number[] = [];
  const all = text.split("\n");
  for (let i = 0; i < all.length && (limit === undefined || rows.length < limit); i++) {
    const line = all[i].trim();
    if (!line) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new DatasetError(`${file}: line ${i + 1}: not valid JSON (${(e as Error).message}); each line must be one JSON object`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new DatasetError(`${file}: line ${i + 1}: a ${Array.isArray(raw) ? "list" : typeof raw} where a JSON object {…} was expected; each line must be one row object`);
    rows.push(raw as Record<string, unknown>);
    lines.push(i + 1);
  }
  return { file, rows, rowLabel: i => `line ${lines[i]}` };
}

/** JSON: an array of row objects (or {"data": [...]}, the layout some hub JSON files use). */
export function parseJsonTable(text: string, file: string, limit?: number): RawTable {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(`${file}: not valid JSON (${(e as Error).message}); a .json dataset is one array of row objects (use .jsonl for one object per line)`);
  }
  if (!Array.isArray(raw) && typeof raw === "object" && raw !== null) {
    const arrays = Object.entries(raw).filter(([, v]) => Array.isArray(v));
    if (arrays.length === 1) raw = arrays[0][1];
  }
  if (!Array.isArray(raw)) throw new DatasetError(`${file}: a JSON ${typeof raw} where an array of row objects was expected`);
  const rows = limit === undefined ? raw : raw.slice(0, limit);
  rows.forEach((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r))
      throw new DatasetError(`${file}: row ${i + 1}: a ${Array.isArray(r) ? "list" : r === null ? "null" : typeof r} where a row object {…} was expected`);
  });
  return { file, rows: rows as Record<string, unknown>[], rowLabel: i => `row ${i + 1}` };
}

/** Longest a Parquet read may block the caller (a worker that died never answers). */
const PARQUET_TIMEOUT_MS = 30 * 60_000;

interface ParquetReply { rows?: Record<string, unknown>[]; columns?: string[]; codecs?: string[]; error?: "metadata" | "codec" | "read"; message?: string; known?: string[] }

/** Parquet through hyparquet in a worker thread, synchronously (the caller blocks on Atomics.wait). */
export function readParquetTable(file: string, limit?: number): RawTable {
  const ctrlBuf = new SharedArrayBuffer(4);
  const ctrl = new Int32Array(ctrlBuf);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./parquet-worker.mjs", import.meta.url), {
    workerData: { path: file, port: port2, ctrl: ctrlBuf, limit }, transferList: [port2], execArgv: [],
  });
  let reply: ParquetReply | undefined;
  try {
    const deadline = Date.now() + PARQUET_TIMEOUT_MS;
    while (Atomics.load(ctrl, 0) === 0 && Date.now() < deadline) Atomics.wait(ctrl, 0, 0, 1000);
    reply = receiveMessageOnPort(port1)?.message as ParquetReply | undefined;
  } finally {
    void worker.terminate();
    port1.close();
  }
  if (!reply) throw new DatasetError(`${file}: the Parquet reader gave no answer; the file may be too large for memory`);
  if (reply.error === "codec")
    throw new DatasetError(`${file}: compressed with ${reply.codecs?.join(", ")}, which Move37's Parquet reader cannot decompress (it reads ${reply.known?.join(", ")}); rewrite the file with snappy or zstd, e.g. pyarrow.parquet.write_table(t, path, compression="zstd")`);
  if (reply.error === "metadata")
    throw new DatasetError(`${file}: not a readable Parquet file (${reply.message}); check that the download finished (a Git LFS pointer is not the file)`);
  if (reply.error) throw new DatasetError(`${file}: cannot read the Parquet data (${reply.message})`);
  return { file, rows: reply.rows!, rowLabel: i => `row ${i + 1}`, columns: reply.columns, codecs: reply.codecs };
}

/** Rows of one data file (at most `limit`). */
export function readTable(file: string, limit?: number): RawTable {
  const f = file.toLowerCase();
  if (f.endsWith(".parquet")) return readParquetTable(file, limit);
  if (f.endsWith(".json")) return parseJsonTable(readText(file), file, limit);
  return parseJsonlTable(readText(file), file, limit);
}
