// Dataset files → raw rows. JSONL, JSON arrays and Parquet are read here; a folder is resolved to the files of
// one split the way the Hugging Face hub lays datasets out.
//
//   gsm8k/main/train-00000-of-00001.parquet     (hub, a config per subfolder: config: main)
//   ds/data/train-00000-of-00002.parquet …      (hub, one config: data/)
//   ds/train/0000.parquet                       (refs/convert/parquet: a folder per split)
//   ds/train.jsonl, ds/test.parquet             (a file per split)
//   ds/a.parquet, ds/b.parquet                  (no split names: every file is "train")
//
//   ds/dataset_dict.json, ds/train/data-00000-of-00001.arrow   (datasets.save_to_disk: Arrow IPC, src/data/arrow.ts)
//
//   ds/train.csv, ds/test.tsv                                   (CSV/TSV with a header row; cells are text)
//
// Not read: plain text, and compressions other than gzip for the text formats.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { gunzipSync } from "node:zlib";
import { DatasetError } from "./errors.js";
import { readArrowRows } from "./arrow.js";
import { resolveDatasetPath } from "../hub/resolve.js";
import { cardConfigs, dataFilesRegex, type CardConfig } from "../hub/dataset-card.js";

export { DatasetError };

export const DATA_EXTENSIONS = [".parquet", ".arrow", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz", ".tsv.gz"] as const;
const isDataFile = (f: string) => DATA_EXTENSIONS.some(e => f.toLowerCase().endsWith(e));
const DATA_EXT_RE = /\.(parquet|arrow|jsonl|ndjson|json|csv|tsv)(\.gz)?$/i;

/** Split names the hub recognises in file names (datasets' data_files.py keywords). */
const SPLIT_WORDS = ["train", "training", "validation", "valid", "val", "dev", "test", "testing", "eval", "evaluation"];
/** A split name: a keyword, or a keyword with a suffix ("train_sft", "test_prefs", as UltraChat/UltraFeedback name them). */
const isSplitName = (s: string) => SPLIT_WORDS.some(w => s === w || s.startsWith(`${w}_`));

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
      const stem = n.replace(DATA_EXT_RE, "");
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
    return st.isFile() ? isDataFile(n) : st.isDirectory() && isSplitName(n) && listFiles(p).some(isDataFile);
  });
}

/** Every split a folder offers (for messages). */
function splitsIn(dir: string): string[] {
  const found = new Set<string>();
  for (const n of listFiles(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) { if (listFiles(p).some(isDataFile)) found.add(n); continue; }
    if (!isDataFile(n)) continue;
    const m = /^([A-Za-z][A-Za-z0-9_]*?)[-.]/.exec(n);
    if (m) found.add(m[1]);
  }
  return [...found].sort();
}

/**
 * The data files of `split` under `path` (a file, or a folder in a hub layout), in shard order.
 * A single file is its own (only) split.
 */
export function resolveDataFiles(path: string, split: string, config: string | undefined, baseDir = process.cwd()): string[] {
  // A hub id that is not a local path (openai/gsm8k, openai/gsm8k:main, …@rev) → its snapshot in the HF cache,
  // downloaded on first use (src/hub, docs/models.md "Hub ids"); the id's own :config:split win.
  const hub = resolveDatasetPath(path, { baseDir, config, split });
  [path, config, split] = [hub.path, hub.config, hub.split ?? split];
  const full = resolve(baseDir, path);
  if (!existsSync(full)) throw new DatasetError(`dataset ${full}: no such file or folder; check the recipe's dataset path (relative paths are read from ${baseDir})`);
  const st = statSync(full);
  if (st.isFile()) {
    if (!isDataFile(full)) throw new DatasetError(`dataset ${full}: unknown file type; Move37 reads ${DATA_EXTENSIONS.join(", ")} files and Hugging Face dataset folders`);
    return [full];
  }
  if (existsSync(join(full, "dataset_dict.json")) || existsSync(join(full, "state.json"))) return saveToDiskFiles(full, split, config);
  const declared = readmeConfigs(full);
  if (declared) return readmeFiles(full, declared, split, config);
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
  const splits = splitsIn(root).filter(isSplitName);
  if (split === "train" && splits.length === 0) return listFiles(root).filter(isDataFile).map(f => join(root, f));
  throw new DatasetError(`dataset ${full}: no files for split "${split}" in ${relative(full, root) || "."}; splits here: ${splitsIn(root).join(", ") || "none"}; set split: (or eval_split:) to one of them`);
}

/** The `configs:` of the folder's README.md (src/hub/dataset-card.ts), or undefined when it has none. */
function readmeConfigs(dir: string): CardConfig[] | undefined {
  const readme = join(dir, "README.md");
  return existsSync(readme) ? cardConfigs(readFileSync(readme, "utf8")) : undefined;
}

function allFiles(dir: string, prefix = ""): string[] {
  return listFiles(dir).flatMap(n => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? allFiles(p, `${prefix}${n}/`) : [`${prefix}${n}`];
  });
}

/** The files of a split under the README's configs. */
function readmeFiles(dir: string, configs: CardConfig[], split: string, config: string | undefined): string[] {
  const names = configs.map(c => c.name);
  const chosen = config !== undefined ? configs.find(c => c.name === config)
    : configs.length === 1 ? configs[0] : configs.find(c => c.isDefault) ?? configs.find(c => c.name === "default");
  if (!chosen) {
    if (config !== undefined) throw new DatasetError(`dataset ${dir}: no config "${config}" in README.md's configs; configs here: ${names.join(", ")}`);
    throw new DatasetError(`dataset ${dir}: several configs in README.md (${names.join(", ")}); pick one with config: (e.g. config: ${names[0]})`);
  }
  const pats = chosen.splits.get(split);
  if (!pats) throw new DatasetError(`dataset ${dir}: config "${chosen.name}" has no split "${split}" in README.md; splits here: ${[...chosen.splits.keys()].join(", ")}; set split: (or eval_split:) to one of them`);
  const res = pats.map(dataFilesRegex);
  const files = allFiles(dir).filter(f => isDataFile(f) && res.some(r => r.test(f))).sort().map(f => join(dir, f));
  if (files.length === 0) throw new DatasetError(`dataset ${dir}: README.md's config "${chosen.name}" names ${pats.join(", ")} for split "${split}" and no data file matches; is the download complete?`);
  return files;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DatasetError(`dataset ${file}: not readable JSON (${(e as Error).message}); is the save_to_disk folder complete?`);
  }
}

/**
 * `datasets.save_to_disk` folders: a DatasetDict (dataset_dict.json {"splits": […]}, a folder per split) or a
 * single Dataset (state.json beside its files). A split's Arrow files are those state.json lists, in its order.
 */
function saveToDiskFiles(dir: string, split: string, config: string | undefined): string[] {
  if (config !== undefined) throw new DatasetError(`dataset ${dir}: a datasets.save_to_disk folder has no configs; drop config: ${config}`);
  let splitDir = dir;
  if (existsSync(join(dir, "dataset_dict.json"))) {
    const splits = (readJson(join(dir, "dataset_dict.json")) as { splits?: unknown }).splits;
    const names = Array.isArray(splits) ? splits.map(String) : [];
    if (!names.includes(split)) throw new DatasetError(`dataset ${dir}: no split "${split}" in this save_to_disk folder; splits here: ${names.join(", ") || "none"}; set split: (or eval_split:) to one of them`);
    splitDir = join(dir, split);
    if (!existsSync(splitDir)) throw new DatasetError(`dataset ${dir}: dataset_dict.json lists split "${split}" but its folder is missing; copy the whole save_to_disk folder`);
  } else {
    const saved = (readJson(join(dir, "state.json")) as { _split?: unknown })._split;
    if (typeof saved === "string" && saved !== split) throw new DatasetError(`dataset ${dir}: this saved Dataset is the "${saved}" split, not "${split}"; set split: ${saved}`);
  }
  const state = existsSync(join(splitDir, "state.json")) ? readJson(join(splitDir, "state.json")) as { _data_files?: { filename?: unknown }[] } : {};
  const listed = Array.isArray(state._data_files) ? state._data_files.map(f => String(f.filename)) : [];
  const files = (listed.length ? listed : listFiles(splitDir).filter(f => f.endsWith(".arrow"))).map(f => join(splitDir, f));
  const missing = files.filter(f => !existsSync(f));
  if (missing.length) throw new DatasetError(`dataset ${splitDir}: state.json lists ${missing.map(f => basename(f)).join(", ")}, which ${missing.length > 1 ? "are" : "is"} missing; copy the whole save_to_disk folder`);
  if (files.length === 0) throw new DatasetError(`dataset ${splitDir}: no .arrow files in this save_to_disk split folder`);
  return files;
}

/** Subfolders that hold data (hub configs such as gsm8k's main/ and socratic/). */
function configsIn(dir: string): string[] {
  return listFiles(dir).filter(n => {
    const p = join(dir, n);
    return statSync(p).isDirectory() && !isSplitName(n) && hasDataFiles(p);
  });
}

/** Text of a JSON/JSONL file (gzip-compressed when it ends in .gz), without a byte-order mark. */
function readText(file: string): string {
  try {
    const bytes = readFileSync(file);
    return (file.toLowerCase().endsWith(".gz") ? gunzipSync(bytes) : bytes).toString("utf8").replace(/^\uFEFF/, "");
  } catch (e) {
    throw new DatasetError(`dataset ${file}: cannot read (${(e as Error).message})${file.toLowerCase().endsWith(".gz") ? "; is it gzip?" : ""}`);
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
      const hint = rows.length === 0 && (line === "[" || line === "{") ? " (a JSON document spread over lines belongs in a .json file)" : "";
      throw new DatasetError(`${file}: line ${i + 1}: not valid JSON (${(e as Error).message}); each line must be one JSON object${hint}`);
    }
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      throw new DatasetError(`${file}: line ${i + 1}: a ${Array.isArray(raw) ? "list" : raw === null ? "null" : typeof raw} where a JSON object {…} was expected; each line must be one row object${Array.isArray(raw) && rows.length === 0 ? " (a JSON array of rows belongs in a .json file)" : ""}`);
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

/**
 * CSV (RFC 4180: quoted fields, "" inside quotes, newlines inside quotes, CRLF) or TSV with a header row. Cells
 * stay text, as written (answers such as "007" or "1,600" are not turned into numbers); an empty cell is null.
 * Rows are named by their 1-based number after the header.
 */
export function parseCsvTable(text: string, file: string, delimiter = ",", limit?: number): RawTable {
  const records: string[][] = [];
  let field = "", record: string[] = [], quoted = false, i = 0, line = 1, start = 1, quoteLine = 0;
  const starts: number[] = [];
  const endRecord = () => {
    record.push(field);
    field = "";
    if (!(record.length === 1 && record[0] === "")) { records.push(record); starts.push(start); }
    record = [];
  };
  while (i < text.length && (limit === undefined || records.length <= limit)) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (ch === '"') { quoted = false; i++; continue; }
      if (ch === "\n") line++;
      field += ch; i++;
      continue;
    }
    if (ch === '"' && field === "") { quoted = true; quoteLine = line; i++; continue; }
    if (ch === delimiter) { record.push(field); field = ""; i++; continue; }
    if (ch === "\r" && text[i + 1] === "\n") { i++; continue; }
    if (ch === "\n") { endRecord(); line++; start = line; i++; continue; }
    field += ch; i++;
  }
  if (quoted) throw new DatasetError(`${file}: a quoted field opened on line ${quoteLine} is never closed; check the file's quoting`);
  if (field !== "" || record.length) endRecord();
  if (records.length === 0) return { file, rows: [], rowLabel: i => `row ${i + 1}` };
  const [header, ...body] = records;
  const names = header.map(h => h.trim());
  const rows = (limit === undefined ? body : body.slice(0, limit)).map((r, k) => {
    if (r.length !== names.length)
      throw new DatasetError(`${file}: row ${k + 1} (line ${starts[k + 1]}) has ${r.length} cells and the header ${names.length}; check the delimiter and the quoting`);
    return Object.fromEntries(names.map((n, j) => [n, r[j] === "" ? null : r[j]]));
  });
  return { file, rows, rowLabel: i => `row ${i + 1}`, columns: names };
}

/** Longest a Parquet read may block the caller (a worker that died never answers). */
const PARQUET_TIMEOUT_MS = 30 * 60_000;

interface ParquetReply { id: number; rows?: Record<string, unknown>[]; columns?: string[]; codecs?: string[]; error?: "metadata" | "codec" | "read"; message?: string; known?: string[] }
interface ParquetChannel { worker: Worker; port: MessagePort; ctrl: Int32Array }
let channel: ParquetChannel | undefined;
let nextJob = 0;

/** The Parquet worker, started on first use and kept (unref'd) for the files that follow. */
function parquetChannel(): ParquetChannel {
  if (channel) return channel;
  const ctrlBuf = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL("./parquet-worker.mjs", import.meta.url), { workerData: { port: port2, ctrl: ctrlBuf }, transferList: [port2], execArgv: [] });
  worker.unref();
  port1.unref();
  worker.on("error", () => { if (channel?.worker === worker) channel = undefined; });
  return (channel = { worker, port: port1, ctrl: new Int32Array(ctrlBuf) });
}

/**
 * Parquet through hyparquet in a worker thread, synchronously (the caller blocks on Atomics.wait).
 * `wanted`: the top-level columns to read (default all); `columns` of the result lists every column the file has.
 */
export function readParquetTable(file: string, limit?: number, wanted?: readonly string[]): RawTable {
  const c = parquetChannel();
  const id = nextJob++;
  Atomics.store(c.ctrl, 0, 0);
  c.port.postMessage({ id, path: file, limit, wanted: wanted ? [...wanted] : undefined });
  let reply: ParquetReply | undefined;
  const deadline = Date.now() + PARQUET_TIMEOUT_MS;
  while (!reply && Date.now() < deadline) {
    Atomics.wait(c.ctrl, 0, 0, 1000);
    if (Atomics.load(c.ctrl, 0) !== 1) continue;
    const m = receiveMessageOnPort(c.port)?.message as ParquetReply | undefined;
    if (m?.id === id) reply = m;
    else Atomics.store(c.ctrl, 0, 0); // a stale reply: keep waiting
  }
  if (!reply || reply.error === "read") { // the worker may be broken: the next file gets a fresh one
    void c.worker.terminate();
    if (channel === c) channel = undefined;
  }
  if (!reply) throw new DatasetError(`${file}: the Parquet reader gave no answer; the file may be too large for memory`);
  if (reply.error === "codec")
    throw new DatasetError(`${file}: compressed with ${reply.codecs?.join(", ")}, which Move37's Parquet reader cannot decompress (it reads ${reply.known?.join(", ")}); rewrite the file with snappy or zstd, e.g. pyarrow.parquet.write_table(t, path, compression="zstd")`);
  if (reply.error === "metadata")
    throw new DatasetError(`${file}: not a readable Parquet file (${reply.message}); check that the download finished (a Git LFS pointer is not the file)`);
  if (reply.error) throw new DatasetError(`${file}: cannot read the Parquet data (${reply.message})`);
  return { file, rows: reply.rows!, rowLabel: i => `row ${i + 1}`, columns: reply.columns, codecs: reply.codecs };
}

/** Rows of one data file (at most `limit`; Parquet: only the `wanted` top-level columns). */
export function readTable(file: string, limit?: number, wanted?: readonly string[]): RawTable {
  const f = file.toLowerCase().replace(/\.gz$/, "");
  if (f.endsWith(".parquet")) return readParquetTable(file, limit, wanted);
  if (f.endsWith(".arrow")) {
    let bytes: Buffer;
    try { bytes = readFileSync(file); } catch (e) { throw new DatasetError(`dataset ${file}: cannot read (${(e as Error).message})`); }
    try {
      const { rows, columns } = readArrowRows(bytes, file, limit, wanted);
      return { file, rows, columns, rowLabel: i => `row ${i + 1}` };
    } catch (e) {
      if (e instanceof DatasetError) throw e;
      throw new DatasetError(`${file}: not a readable Arrow IPC file (${(e as Error).message}); check that the file is complete`);
    }
  }
  if (f.endsWith(".json")) return parseJsonTable(readText(file), file, limit);
  if (f.endsWith(".csv") || f.endsWith(".tsv")) return parseCsvTable(readText(file), file, f.endsWith(".tsv") ? "\t" : ",", limit);
  return parseJsonlTable(readText(file), file, limit);
}
