// The dashboard's view of run directories: metrics and samples tailed into memory, run.json polled.
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { expandRunDirs, isRunDir, liveStatus, readRunInfo, type MetricRow } from "../runs/read.js";
import type { RunInfo, SampleRow } from "../runs/run.js";
import { JsonlTail } from "./tail.js";

export type RunEvent =
  | { type: "metrics"; rows: MetricRow[]; reset: boolean }
  | { type: "samples"; count: number; lastStep: number | null };

export interface RunSummary {
  id: string;
  name: string;
  dir: string;
  status: string;
  info: RunInfo | null;
}

export class RunWatcher {
  readonly metrics: MetricRow[] = [];
  readonly samples: SampleRow[] = [];
  private readonly listeners = new Set<(e: RunEvent) => void>();
  private readonly tails: JsonlTail[];

  constructor(
    readonly id: string,
    readonly dir: string,
  ) {
    this.tails = [
      new JsonlTail<MetricRow>(join(dir, "metrics.jsonl"), {
        rows: rows => {
          this.metrics.push(...rows);
          this.emit({ type: "metrics", rows, reset: false });
        },
        reset: () => {
          this.metrics.length = 0;
          this.emit({ type: "metrics", rows: [], reset: true });
        },
      }),
      new JsonlTail<SampleRow>(join(dir, "samples.jsonl"), {
        rows: rows => {
          this.samples.push(...rows);
          this.emit({ type: "samples", count: this.samples.length, lastStep: this.samples.at(-1)?.step ?? null });
        },
        reset: () => {
          this.samples.length = 0;
        },
      }),
    ];
  }

  subscribe(fn: (e: RunEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  summary(): RunSummary {
    const info = readRunInfo(this.dir);
    return { id: this.id, name: info?.name ?? basename(this.dir), dir: this.dir, status: liveStatus(info), info };
  }

  config(): unknown {
    const p = join(this.dir, "config.json");
    return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : null;
  }

  close(): void {
    for (const t of this.tails) t.close();
    this.listeners.clear();
  }

  private emit(e: RunEvent): void {
    for (const fn of this.listeners) fn(e);
  }
}

/** The runs a dashboard serves: run directories given directly, plus every run that appears in given folders. */
export class RunSet {
  private readonly watchers = new Map<string, RunWatcher>();

  constructor(private readonly paths: string[]) {
    this.rescan();
  }

  /** Picks up runs created since the last call; returns true when the list changed. */
  rescan(): boolean {
    const known = new Set([...this.watchers.values()].map(w => w.dir));
    let changed = false;
    for (const dir of expandRunDirs(this.paths).map(d => resolve(d))) {
      if (known.has(dir) || !isRunDir(dir)) continue;
      let id = basename(dir);
      for (let i = 2; this.watchers.has(id); i++) id = `${basename(dir)}-${i}`;
      this.watchers.set(id, new RunWatcher(id, dir));
      changed = true;
    }
    return changed;
  }

  get(id: string): RunWatcher | undefined {
    return this.watchers.get(id);
  }

  all(): RunWatcher[] {
    return [...this.watchers.values()];
  }

  close(): void {
    for (const w of this.watchers.values()) w.close();
  }
}
