// One directory per run: what trainers write to and what `runs`, the dashboard and --resume read.
//
// runs/<name>/
//   config.json      resolved recipe (trainer + every default filled in)
//   run.json         status, start/end times, git commit, machine
//   metrics.jsonl    one line per logged step: {"step", "time", ...metrics}
//   samples.jsonl    one line per sampled completion: {"step", "prompt", "completion", "reward", ...}
//   checkpoints/     written by the trainer (atomically, see atomic.ts)
import { appendFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "./atomic.js";
import { gitInfo, machineInfo, type GitInfo, type MachineInfo } from "./machine.js";
import { readJsonl } from "./read.js";

export type RunStatus = "running" | "completed" | "failed" | "interrupted";

export interface RunInfo {
  name: string;
  trainer: string;
  status: RunStatus;
  /** ISO times. */
  started: string;
  ended: string | null;
  /** Set when status is "failed". */
  error?: string;
  /** One ISO time per --resume. */
  resumed: string[];
  recipe: string | null;
  command: string[];
  pid: number;
  git: GitInfo | null;
  machine: MachineInfo;
}

/** Numbers per step; null for a metric that could not be computed this step. */
export type Metrics = Record<string, number | null>;

/** One completion as the dashboard's sample browser shows it. */
export interface SampleRow {
  step: number;
  prompt: string;
  completion: string;
  /** Total (weighted) reward. */
  reward?: number | null;
  /** Each reward function's value by name; null = could not judge. */
  rewards?: Record<string, number | null>;
  advantage?: number;
  /** The reference answer, when the task has one. */
  answer?: string;
  [extra: string]: unknown;
}

export interface CreateRunOptions {
  /** Trainer name, recorded in run.json. */
  trainer: string;
  /** Resolved config, saved as config.json. */
  config: Record<string, unknown>;
  /** Folder that holds runs. Default "runs". */
  root?: string;
  /** Run name; default `<prefix>-<yyyymmdd-hhmmss>`. */
  name?: string;
  /** Default-name prefix (the recipe's file name). */
  prefix?: string;
  /** Continue the run in this existing directory instead of making a new one. */
  resumeDir?: string;
  recipe?: string;
}

export interface Run {
  readonly name: string;
  readonly dir: string;
  readonly checkpointsDir: string;
  /** Appends {"step", "time", ...metrics} to metrics.jsonl. */
  logMetrics(step: number, metrics: Metrics): void;
  /** Appends rows to samples.jsonl. */
  logSamples(rows: SampleRow[]): void;
  /** Drops metrics and sample rows logged after `step`: call after restoring a checkpoint of that step. */
  rewind(step: number): void;
  setStatus(status: RunStatus, error?: string): void;
  info(): RunInfo;
  /** Writes a JSON file inside the run directory atomically (e.g. report.json). */
  writeJson(file: string, value: unknown): void;
}

export class RunExistsError extends Error {
  constructor(dir: string) {
    super(`${dir} already exists: pass --resume ${dir} to continue it, or --name to start a new run`);
    this.name = "RunExistsError";
  }
}

export class RunNotFoundError extends Error {
  constructor(dir: string) {
    super(`${dir} is not a run directory (no run.json): give the folder that \`move37 runs ls\` lists`);
    this.name = "RunNotFoundError";
  }
}

export function createRun(opts: CreateRunOptions): Run {
  let dir: string;
  let info: RunInfo;
  const now = new Date().toISOString();
  if (opts.resumeDir !== undefined) {
    dir = resolve(opts.resumeDir);
    const infoPath = join(dir, "run.json");
    if (!existsSync(infoPath)) throw new RunNotFoundError(opts.resumeDir);
    const prev = JSON.parse(readFileSync(infoPath, "utf8")) as RunInfo;
    info = { ...prev, status: "running", ended: null, error: undefined, resumed: [...(prev.resumed ?? []), now], pid: process.pid, git: gitInfo(), machine: machineInfo() };
  } else {
    const root = resolve(opts.root ?? "runs");
    const name = opts.name ?? freeName(root, `${opts.prefix ?? opts.trainer}-${stamp(new Date())}`);
    dir = join(root, name);
    if (existsSync(dir)) throw new RunExistsError(join(opts.root ?? "runs", name));
    info = {
      name, trainer: opts.trainer, status: "running", started: now, ended: null, resumed: [],
      recipe: opts.recipe ?? null, command: process.argv.slice(2), pid: process.pid, git: gitInfo(), machine: machineInfo(),
    };
  }
  const checkpointsDir = join(dir, "checkpoints");
  mkdirSync(checkpointsDir, { recursive: true });
  writeJsonAtomic(join(dir, "config.json"), opts.config);
  writeJsonAtomic(join(dir, "run.json"), info);
  const metricsPath = join(dir, "metrics.jsonl");
  const samplesPath = join(dir, "samples.jsonl");

  return {
    name: info.name,
    dir,
    checkpointsDir,
    logMetrics(step, metrics) {
      appendFileSync(metricsPath, JSON.stringify({ step, time: Date.now() / 1000, ...metrics }) + "\n");
    },
    logSamples(rows) {
      if (rows.length > 0) appendFileSync(samplesPath, rows.map(r => JSON.stringify(r)).join("\n") + "\n");
    },
    rewind(step) {
      for (const path of [metricsPath, samplesPath]) {
        if (!existsSync(path)) continue;
        const kept = readJsonl<{ step: number }>(path).filter(r => r.step <= step);
        writeFileAtomic(path, kept.map(r => JSON.stringify(r) + "\n").join(""));
      }
    },
    setStatus(status, error) {
      info = { ...info, status, ended: status === "running" ? null : new Date().toISOString(), error };
      writeJsonAtomic(join(dir, "run.json"), info);
    },
    info: () => info,
    writeJson(file, value) {
      writeJsonAtomic(join(dir, file), value);
    },
  };
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

// Two runs started in the same second get -2, -3, ... rather than colliding.
function freeName(root: string, base: string): string {
  let name = base;
  for (let i = 2; existsSync(join(root, name)); i++) name = `${base}-${i}`;
  return name;
}
