import { makeRng, mixSeed, shuffle } from "../rng.js";
import { TaskError, type Example, type TaskGenerator, type TaskStream } from "./types.js";

/**
 * Train and held-out sets drawn from different seeds and kept disjoint by example id.
 * Example i of a seed is drawn from its own RNG (seed, i), so any position of the training stream can be
 * recomputed on resume without replaying the ones before it.
 */

const MAX_ATTEMPTS = 1000;

/**
 * The index-th example of a seed's stream, redrawn (deterministically) while its id, or a problem it shows
 * in full (TaskGenerator.exposes), is in `exclude`. `stream` "eval" may give problems the task holds out of training.
 */
export function exampleAt(task: TaskGenerator, seed: number, index: number, exclude?: ReadonlySet<string>, stream: TaskStream = "train"): Example {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const ex = task.sample(makeRng(mixSeed(seed, index, attempt)), stream);
    if (!exclude || (!exclude.has(ex.id) && !task.exposes?.(ex).some(id => exclude.has(id)))) return ex;
  }
  throw new TaskError(`${task.name}: ${MAX_ATTEMPTS} draws in a row were held-out problems; the task's problem space is too small for this eval_size; enlarge the task (more terms, digits or numbers) or shrink eval_size`);
}

/** n distinct examples from a seed (none in exclude); held-out sets draw them from the "eval" stream. */
export function distinctExamples(task: TaskGenerator, seed: number, n: number, exclude?: ReadonlySet<string>, stream: TaskStream = "train"): Example[] {
  const seen = new Set<string>();
  const out: Example[] = [];
  for (let i = 0; out.length < n; i++) {
    if (i >= n * 20 + 1000)
      throw new TaskError(`${task.name}: only ${out.length} distinct problems found for ${n} requested; enlarge the task or ask for fewer`);
    const ex = exampleAt(task, seed, i, exclude, stream);
    if (seen.has(ex.id)) continue;
    seen.add(ex.id);
    out.push(ex);
  }
  return out;
}

export interface TaskSplit {
  /** Held-out evaluation problems (distinct). */
  eval: Example[];
  /** The i-th training problem; never one of the eval problems nor a held-out target. Repeats within training are allowed. */
  train(index: number): Example;
}

export function trainEvalSplit(task: TaskGenerator, opts: { train_seed: number; eval_seed: number; eval_size: number }): TaskSplit {
  if (opts.train_seed === opts.eval_seed)
    throw new TaskError(`train_seed and eval_seed are both ${opts.train_seed}; held-out problems must come from a different seed`);
  const evalSet = distinctExamples(task, opts.eval_seed, opts.eval_size, undefined, "eval");
  const heldOut = new Set(evalSet.map(e => e.id));
  return { eval: evalSet, train: i => exampleAt(task, opts.train_seed, i, heldOut) };
}

/** Deterministic shuffle-and-split of a loaded dataset: distinct eval rows, train rows never sharing an eval id. */
export function splitDataset(examples: readonly Example[], evalSize: number, seed: number): { train: Example[]; eval: Example[] } {
  const xs = shuffle([...examples], makeRng(seed));
  const evalSet: Example[] = [];
  const ids = new Set<string>();
  for (const e of xs) {
    if (evalSet.length >= evalSize) break;
    if (!ids.has(e.id)) { ids.add(e.id); evalSet.push(e); }
  }
  if (evalSet.length < evalSize) throw new TaskError(`dataset has ${ids.size} distinct problems, fewer than eval_size ${evalSize}`);
  return { eval: evalSet, train: xs.filter(e => !ids.has(e.id)) };
}
