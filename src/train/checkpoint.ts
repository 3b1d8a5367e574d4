/**
 * Training checkpoints: everything a resumed run needs to continue as the uninterrupted one would have.
 *
 *   checkpoints/step-00000100/
 *     model/                 a Hugging Face folder (config.json, model.safetensors, tokenizer files)
 *     optimizer.safetensors  AdamW moments m and v (F32)
 *     state.json             step, optimizer t, trainer state (RNG, data position, …), sha256 of every file
 *   checkpoints/latest.json  {"step": 100, "dir": "step-00000100"}
 *
 * A checkpoint is built in a hidden staging folder, fsynced, renamed into place, and only then named by
 * latest.json (written atomically): a process killed at any moment leaves the previous good checkpoint in
 * charge. Loading verifies every checksum and falls back to an older checkpoint when one does not match.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { writeJsonAtomic } from "../runs/atomic.js";
import { readSafetensors, writeSafetensors } from "../model/io/safetensors.js";
import { readHfWeights, saveHfFolder, type SaveOptions } from "../model/io/hf.js";
import type { CausalLM } from "../model/types.js";
import type { AdamW } from "./optimizer.js";

export interface CheckpointState<S> {
  step: number;
  optimizerT: number;
  /** The trainer's own state: RNG, data position, counters. JSON only. */
  trainer: S;
  /** sha256 (hex) of every file of the checkpoint but state.json, by path relative to the checkpoint. */
  files: Record<string, string>;
}

export class CheckpointError extends Error {
  constructor(message: string) { super(message); this.name = "CheckpointError"; }
}

/** What a checkpoint's model/ folder holds: a model's config and the parameters of its Hugging Face folder. */
/** saveAdapter/loadAdapterWeights: a LoRA model (src/train/lora.ts) checkpoints its adapters in PEFT's format instead of the whole model. */
export type SavedModel = Pick<CausalLM, "config" | "params"> & {
  saveAdapter?(dir: string, opts: { copyFrom?: string }): void;
  loadAdapterWeights?(dir: string): void;
};

/** Moments as saved (optimizer.safetensors). */
export interface Moments { m: Float32Array; v: Float32Array }

const stepDir = (step: number) => `step-${String(step).padStart(8, "0")}`;

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(dir).sort().flatMap(name => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p, `${prefix}${name}/`) : [`${prefix}${name}`];
  });
}

function fsyncPath(path: string): void {
  try {
    const fd = openSync(path, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* some filesystems refuse to fsync folders; the files are synced */ }
}

/**
 * Saves a checkpoint of `step` under `checkpointsDir` and points latest.json at it, then deletes all but the
 * newest `keep` checkpoints (0 = keep all). `model` options pass tokenizer files etc. to the HF folder.
 */
export function saveCheckpoint<S>(checkpointsDir: string, step: number, model: SavedModel, optimizer: AdamW, trainer: S,
  opts: { keep?: number; model?: SaveOptions } = {}): string {
  mkdirSync(checkpointsDir, { recursive: true });
  const name = stepDir(step);
  const staging = join(checkpointsDir, `.${name}.tmp-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    if (model.saveAdapter) model.saveAdapter(join(staging, "model"), { copyFrom: opts.model?.copyFrom });
    else saveHfFolder(join(staging, "model"), model.config, model.params, opts.model);
    writeSafetensors(join(staging, "optimizer.safetensors"), [
      { name: "m", shape: [optimizer.m.length], data: optimizer.m },
      { name: "v", shape: [optimizer.v.length], data: optimizer.v },
    ]);
    const files = Object.fromEntries(listFiles(staging).map(f => [f, sha256(join(staging, f))]));
    const state: CheckpointState<S> = { step, optimizerT: optimizer.t, trainer, files };
    writeJsonAtomic(join(staging, "state.json"), state);
    fsyncPath(staging);
    const final = join(checkpointsDir, name);
    rmSync(final, { recursive: true, force: true });
    renameSync(staging, final);
    fsyncPath(checkpointsDir);
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
  writeJsonAtomic(join(checkpointsDir, "latest.json"), { step, dir: name });
  if (opts.keep && opts.keep > 0) {
    for (const old of checkpointDirs(checkpointsDir).slice(opts.keep)) rmSync(join(checkpointsDir, old), { recursive: true, force: true });
  }
  return join(checkpointsDir, name);
}

/** Complete checkpoint folders, newest first (staging folders start with "." and are never listed). */
export function checkpointDirs(checkpointsDir: string): string[] {
  if (!existsSync(checkpointsDir)) return [];
  return readdirSync(checkpointsDir).filter(n => /^step-\d{8}$/.test(n) && existsSync(join(checkpointsDir, n, "state.json"))).sort().reverse();
}

/** Reads and verifies a checkpoint's state; throws CheckpointError naming the file that does not match. */
export function verifyCheckpoint<S>(dir: string): CheckpointState<S> {
  const state = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as CheckpointState<S>;
  for (const [file, hash] of Object.entries(state.files)) {
    const p = join(dir, file);
    if (!existsSync(p)) throw new CheckpointError(`${p} is missing`);
    if (sha256(p) !== hash) throw new CheckpointError(`${p} does not match its checksum (a damaged or half-written file)`);
  }
  return state;
}

/**
 * Restores the newest good checkpoint into `model` and `optimizer` and returns its state, or null when the
 * folder holds none. A damaged newer checkpoint is skipped with a warning through `warn`. `restore`, when given, runs
 * after the model's weights are read: it restores what lives beside the model folder's weights (the reward model's
 * head, from model/reward_model.json) and returns the moments to load, converted if an older layout saved them.
 */
export function loadLatestCheckpoint<S>(checkpointsDir: string, model: SavedModel, optimizer: AdamW,
  warn: (message: string) => void = m => process.stderr.write(m + "\n"),
  restore?: (dir: string, state: CheckpointState<S>, moments: Moments) => Moments): CheckpointState<S> | null {
  const latest = join(checkpointsDir, "latest.json");
  const named = existsSync(latest) ? (JSON.parse(readFileSync(latest, "utf8")) as { dir: string }).dir : null;
  // latest.json first; then every complete folder, newest first, in case latest is damaged.
  const order = [...new Set([...(named ? [named] : []), ...checkpointDirs(checkpointsDir)])];
  for (const name of order) {
    const dir = join(checkpointsDir, name);
    try {
      const state = verifyCheckpoint<S>(dir);
      if (model.loadAdapterWeights) model.loadAdapterWeights(join(dir, "model"));
      else readHfWeights(join(dir, "model"), model.config, model.params);
      const moments = readSafetensors(join(dir, "optimizer.safetensors"));
      const [m, v] = ["m", "v"].map(n => moments.find(t => t.name === n)?.data);
      if (!m || !v) throw new CheckpointError(`${dir}/optimizer.safetensors lacks the m or v tensor`);
      optimizer.load({ t: state.optimizerT, ...(restore ? restore(dir, state, { m, v }) : { m, v }) });
      return state;
    } catch (e) {
      warn(`skipping checkpoint ${dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return null;
}
