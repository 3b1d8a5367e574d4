// Reading run directories back: `runs ls`, `runs show`, the dashboard and resume.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { RunInfo } from "./run.js";

/** Parses a JSONL file; a torn last line (a writer killed mid-append) is skipped, not an error. */
export function readJsonl<T = Record<string, unknown>>(path: string): T[] {
  if (!existsSync(path)) return [];
  return parseJsonlLines(readFileSync(path, "utf8"));
}

/** Parses complete JSONL lines; lines that are not JSON objects are skipped. */
export function parseJsonlLines<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const v = JSON.parse(line);
      if (v !== null && typeof v === "object" && !Array.isArray(v)) rows.push(v as T);
    } catch {
      // torn or foreign line
    }
  }
  return rows;
}

export function isRunDir(dir: string): boolean {
  return existsSync(join(dir, "run.json")) || existsSync(join(dir, "metrics.jsonl"));
}

/** Run directories directly inside `root`, oldest first. */
export function listRunDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map(n => join(root, n))
    .filter(d => statSync(d).isDirectory() && isRunDir(d))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
}

/** Expands arguments that may be run directories or folders of runs. */
export function expandRunDirs(paths: string[]): string[] {
  return paths.flatMap(p => (isRunDir(p) ? [p] : listRunDirs(p)));
}

/** run.json, or null for a folder without one (metrics written by another tool) or an unreadable one. */
export function readRunInfo(dir: string): RunInfo | null {
  const p = join(dir, "run.json");
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, "utf8")) as RunInfo;
  } catch {
    return null;
  }
}

/** The status to show: a "running" run whose process is gone on this machine was killed. */
export function liveStatus(info: RunInfo | null): string {
  if (info === null) return "unknown";
  if (info.status !== "running") return info.status;
  try {
    process.kill(info.pid, 0);
    return "running";
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM" ? "running" : "killed";
  }
}

export interface MetricRow {
  step: number;
  time?: number;
  [name: string]: number | null | undefined;
}

/**
 * One metrics row per step: rows logged for the same step are merged, later values winning (GRPO logs its last
 * step's training metrics and then its closing evaluation; a resumed run may have logged a step twice).
 */
export function readMetrics(dir: string): MetricRow[] {
  const byStep = new Map<number, MetricRow>();
  for (const row of readJsonl<MetricRow>(join(dir, "metrics.jsonl"))) {
    if (typeof row.step === "number") byStep.set(row.step, { ...byStep.get(row.step), ...row });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Every metric name that appears with a number in `rows`, excluding step and time. */
export function metricNames(rows: MetricRow[]): string[] {
  const names = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (k !== "step" && k !== "time" && typeof v === "number") names.add(k);
  return [...names];
}
