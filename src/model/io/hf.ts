// Hugging Face model folders: config.json + model.safetensors, or shards listed in model.safetensors.index.json.
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { ModelConfig } from "../config.js";
import { writeFileAtomic, writeJsonAtomic } from "../../runs/atomic.js";
import { CheckpointTensorsError, ModelConfigError, ModelFolderError } from "./errors.js";
import { fromHfConfig, toHfConfig } from "./hf-config.js";
import { numel, paramSpecs } from "../params.js";
import { SafetensorsFile, writeSafetensors, type TensorData, type WritableDtype } from "./safetensors.js";

export const CONFIG_FILE = "config.json";
export const SINGLE_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";
/** transformers' default max_shard_size ("5GB"). */
export const DEFAULT_MAX_SHARD_BYTES = 5_000_000_000;
/** Files other than weights that make a folder usable by tokenizers/transformers; copied by `copyFrom`. */
export const TOKENIZER_FILES = [
  "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
  "vocab.json", "merges.txt", "chat_template.jinja", "generation_config.json", "tokenizer.model",
];

/** Stored tensors that transformers itself drops on load: rotary caches of old Llama checkpoints. */
const IGNORED = /\.rotary_emb\.inv_freq$/;

export function readHfConfig(dir: string): ModelConfig {
  const path = join(dir, CONFIG_FILE);
  if (!existsSync(path)) throw new ModelFolderError(dir, `no ${CONFIG_FILE}; a Hugging Face model folder needs config.json beside its weights`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ModelConfigError(path, `not valid JSON: ${(e as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ModelConfigError(path, "not a JSON object");
  return fromHfConfig(json as Record<string, unknown>, path);
}

/** Opens the weight files of a folder; `where` maps each tensor name to its open file. Close with closeWeights. */
export function openWeights(dir: string): { files: SafetensorsFile[]; where: Map<string, SafetensorsFile> } {
  const indexPath = join(dir, INDEX_FILE);
  const files: SafetensorsFile[] = [];
  const where = new Map<string, SafetensorsFile>();
  try {
    if (existsSync(indexPath)) {
      let weightMap: Record<string, unknown>;
      try {
        weightMap = JSON.parse(readFileSync(indexPath, "utf8")).weight_map;
      } catch (e) {
        throw new ModelFolderError(dir, `${INDEX_FILE} is not valid JSON: ${(e as Error).message}`);
      }
      if (typeof weightMap !== "object" || weightMap === null) throw new ModelFolderError(dir, `${INDEX_FILE} has no weight_map object`);
      const shards = new Map<string, SafetensorsFile>();
      for (const shard of new Set(Object.values(weightMap))) {
        if (typeof shard !== "string" || basename(shard) !== shard) throw new ModelFolderError(dir, `${INDEX_FILE} names an invalid shard file ${JSON.stringify(shard)}`);
        if (!existsSync(join(dir, shard))) throw new ModelFolderError(dir, `shard ${shard} listed in ${INDEX_FILE} is missing`);
        const f = new SafetensorsFile(join(dir, shard));
        files.push(f);
        shards.set(shard, f);
      }
      for (const [name, shard] of Object.entries(weightMap)) {
        const f = shards.get(shard as string)!;
        if (!f.entry(name)) throw new ModelFolderError(dir, `${INDEX_FILE} places ${name} in ${shard}, which does not contain it`);
        where.set(name, f);
      }
    } else if (existsSync(join(dir, SINGLE_FILE))) {
      const f = new SafetensorsFile(join(dir, SINGLE_FILE));
      files.push(f);
      for (const name of f.names) where.set(name, f);
    } else {
      const hint = existsSync(join(dir, "pytorch_model.bin")) ? " (pytorch_model.bin is not read: convert it to safetensors)" : "";
      throw new ModelFolderError(dir, `no ${SINGLE_FILE} or ${INDEX_FILE}${hint}`);
    }
  } catch (e) {
    closeWeights(files);
    throw e;
  }
  return { files, where };
}

export function closeWeights(files: SafetensorsFile[]): void {
  for (const f of files) f.close();
}

/** Throws CheckpointTensorsError listing every missing, unexpected and mis-shaped tensor. */
export function checkTensors(where: string, expected: readonly { name: string; shape: number[] }[], found: ReadonlyMap<string, readonly number[]>, config: ModelConfig): void {
  const want = new Map(expected.map(e => [e.name, e.shape]));
  const missing = expected.filter(e => !found.has(e.name)).map(e => e.name);
  // A tied lm_head that a writer stored anyway is the embedding again; transformers ignores it too.
  const tolerated = (n: string) => IGNORED.test(n) || (config.tie_word_embeddings && n === "lm_head.weight");
  const unexpected = [...found.keys()].filter(n => !want.has(n) && !tolerated(n));
  const misshaped = expected
    .filter(e => found.has(e.name) && found.get(e.name)!.join() !== e.shape.join())
    .map(e => ({ name: e.name, expected: e.shape, found: [...found.get(e.name)!] }));
  if (missing.length || unexpected.length || misshaped.length) throw new CheckpointTensorsError(where, missing, unexpected, misshaped);
}

/** Opens a folder's weight files after checking every tensor name and shape against the config. */
export function openCheckedWeights(dir: string, config: ModelConfig): ReturnType<typeof openWeights> {
  const w = openWeights(dir);
  try {
    checkTensors(dir, paramSpecs(config), new Map([...w.where].map(([name, f]) => [name, f.entry(name)!.shape])), config);
  } catch (e) {
    closeWeights(w.files);
    throw e;
  }
  return w;
}

/**
 * Reads a folder's weights as F32, checked against the config. With `dest` (e.g. a model's parameter views),
 * each tensor is read straight into dest's array; otherwise arrays are allocated. Returned in HF order.
 */
export function readHfWeights(dir: string, config: ModelConfig, dest?: readonly TensorData[],
  bf16Dest: readonly { name: string; shape: number[]; data: Uint16Array }[] = []): TensorData[] {
  const expected = paramSpecs(config);
  const targets = dest ?? expected.map(e => ({ name: e.name, shape: e.shape, data: new Float32Array(numel(e.shape)) }));
  checkTensors("model (parameters)", expected, new Map([...targets, ...bf16Dest].map(t => [t.name, t.shape])), config);
  const { files, where } = openCheckedWeights(dir, config);
  try {
    for (const t of targets) where.get(t.name)!.read(t.name, t.data);
    for (const t of bf16Dest) where.get(t.name)!.readBf16(t.name, t.data); // a frozen BF16 model's weights (bfloat16 files: no F32 round trip)
  } finally {
    closeWeights(files);
  }
  return [...targets];
}

export function loadHfFolder(dir: string): { config: ModelConfig; tensors: TensorData[] } {
  const config = readHfConfig(dir);
  return { config, tensors: readHfWeights(dir, config) };
}

export interface SaveOptions {
  /** Stored dtype: F32 (default, exact) or BF16 (half the size). */
  dtype?: WritableDtype;
  /** Above this many bytes of weights, write model-0000i-of-0000n.safetensors shards plus an index. */
  maxShardBytes?: number;
  /**
   * Copy the tokenizer/generation files (TOKENIZER_FILES) found in this folder. Defaults to `dir` itself when it
   * exists, so re-saving a loaded folder keeps its tokenizer.
   */
  copyFrom?: string;
  /** Extra files to write into the folder, by file name. */
  files?: Record<string, string | Uint8Array>;
}

/**
 * Writes config.json and the weights into `dir`, replacing the folder as a whole (only its tokenizer files are
 * carried over, see `copyFrom`). The new folder is built beside `dir`, fsynced, then swapped in by
 * rename, so a crash never leaves a half-written checkpoint in place of a good one (at worst the previous folder
 * survives as `dir.old-*` if the crash falls between the two renames).
 */
export function saveHfFolder(dir: string, config: ModelConfig, tensors: readonly TensorData[], opts: SaveOptions = {}): void {
  const dtype = opts.dtype ?? "F32";
  const hfConfig = toHfConfig(config, dtype === "BF16" ? "bfloat16" : "float32");
  const expected = paramSpecs(config);
  checkTensors("tensors to save", expected, new Map(tensors.map(t => [t.name, t.shape])), config);
  const byName = new Map(tensors.map(t => [t.name, t]));
  const ordered = expected.map(e => byName.get(e.name)!);

  const target = resolve(dir);
  mkdirSync(dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  mkdirSync(tmp);
  try {
    const copyFrom = opts.copyFrom ?? (existsSync(target) ? target : undefined);
    if (copyFrom) {
      for (const f of TOKENIZER_FILES) if (existsSync(join(copyFrom, f))) copyFileSync(join(copyFrom, f), join(tmp, f));
    }
    for (const [name, data] of Object.entries(opts.files ?? {})) writeFileAtomic(join(tmp, name), data);

    const bytesPer = dtype === "F32" ? 4 : 2;
    const maxShard = opts.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
    const shards: TensorData[][] = [[]];
    let shardBytes = 0;
    for (const t of ordered) {
      const b = t.data.length * bytesPer;
      if (shardBytes > 0 && shardBytes + b > maxShard) { shards.push([]); shardBytes = 0; }
      shards[shards.length - 1].push(t);
      shardBytes += b;
    }
    const meta = { format: "pt" }; // transformers refuses safetensors files without it
    if (shards.length === 1) {
      writeSafetensors(join(tmp, SINGLE_FILE), shards[0], dtype, meta);
    } else {
      const weightMap: Record<string, string> = {};
      const pad = (i: number) => String(i).padStart(5, "0");
      shards.forEach((shard, i) => {
        const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
        writeSafetensors(join(tmp, file), shard, dtype, meta);
        for (const t of shard) weightMap[t.name] = file;
      });
      const totalSize = ordered.reduce((s, t) => s + t.data.length * bytesPer, 0);
      writeJsonAtomic(join(tmp, INDEX_FILE), { metadata: { total_size: totalSize }, weight_map: weightMap });
    }
    writeJsonAtomic(join(tmp, CONFIG_FILE), hfConfig); // last, and it fsyncs the folder's entries
    const old = `${target}.old-${process.pid}-${randomBytes(4).toString("hex")}`;
    const hadOld = existsSync(target);
    if (hadOld) renameSync(target, old);
    renameSync(tmp, target);
    fsyncDir(dirname(target));
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Makes the renames in `dir` durable (best effort: some filesystems refuse to fsync folders). */
function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* the files themselves are already synced */ }
}

/** Where a folder's tokenizer lives, for the tokenizer loader. */
export interface TokenizerFilesInfo { dir: string; tokenizerJson: string | null; tokenizerConfig: string | null }

export function tokenizerFiles(dir: string): TokenizerFilesInfo {
  const at = (f: string) => (existsSync(join(dir, f)) ? join(dir, f) : null);
  return { dir, tokenizerJson: at("tokenizer.json"), tokenizerConfig: at("tokenizer_config.json") };
}
