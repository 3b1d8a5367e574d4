// Runs a trainer of src/cli/trainers.ts, by name, in-process on a run directory under a temp folder, as `move37 train` would.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTrainer } from "../../src/recipes/registry.js";
import { TRAINERS } from "../../src/cli/trainers.js";
import { createRun, type Run } from "../../src/runs/run.js";
import { readJsonl } from "../../src/runs/read.js";

export const tempRoot = (prefix: string) => mkdtempSync(join(tmpdir(), `move37-${prefix}-`));

/** Validates `recipe` with the trainer's schema and runs it; `resumeDir` continues an existing run. `logs`: what it printed. */
export async function runTrainer(name: string, recipe: Record<string, unknown>, opts: { root: string; runName?: string; resumeDir?: string; abortAfterLog?: number }): Promise<Run & { logs: string[] }> {
  const trainer = requireTrainer(TRAINERS, name);
  const config = trainer.schema.parse(recipe);
  const run = createRun({ trainer: name, config: recipe, root: opts.root, name: opts.runName, resumeDir: opts.resumeDir });
  const abort = new AbortController();
  const logs: string[] = [];
  await trainer.run(config, run, {
    signal: abort.signal,
    resume: opts.resumeDir !== undefined,
    progress: () => ({ update: () => { if (opts.abortAfterLog !== undefined && --opts.abortAfterLog <= 0) abort.abort(); }, log: m => logs.push(m), stop: () => {} }),
    log: m => logs.push(m),
  });
  return Object.assign(run, { logs });
}

export const metricsOf = (run: Run) => readJsonl<Record<string, number>>(join(run.dir, "metrics.jsonl"));
export const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));
