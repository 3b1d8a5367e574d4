// Trainers by name: a recipe's top-level `trainer:` field picks one, its zod schema validates the rest.
//
// A trainer module (src/train/<name>.ts) calls registerTrainer at load time, and src/recipes/trainers.ts
// imports it, so `move37 train`, `move37 config schema` and --dry-run all see it:
//
//   export const grpo = registerTrainer({
//     name: "grpo",
//     description: "Group Relative Policy Optimization (R1-Zero)",
//     schema: GrpoConfig,                       // z.object({...}).strict(), defaults filled by zod
//     async run(config, run, ctx) {             // config: z.output<typeof GrpoConfig>
//       const bar = ctx.progress({ total: config.max_steps });
//       for (let step = 1; step <= config.max_steps && !ctx.signal.aborted; step++) {
//         ...; run.logMetrics(step, metrics); bar.update(step, metrics);
//       }
//       bar.stop();
//     },
//   });
import type { z } from "zod";
import { didYouMean } from "./hints.js";
import type { Run } from "../runs/run.js";
import type { Progress, ProgressOptions } from "../runs/progress.js";

export interface TrainerContext {
  /** Aborted on the first Ctrl-C / SIGTERM: save a checkpoint, then return (status becomes "interrupted"). */
  signal: AbortSignal;
  /** True under --resume: restore the latest checkpoint in run.checkpointsDir, then run.rewind(step). */
  resume: boolean;
  /** A progress display: a bar on a terminal, one line per step otherwise. */
  progress(opts: ProgressOptions): Progress;
  /** Prints a message to stderr (use Progress.log while a bar is shown). */
  log(message: string): void;
}

export interface Trainer<S extends z.ZodType = z.ZodType> {
  name: string;
  /** One line, shown by `move37 recipes ls` and `move37 config schema`. */
  description: string;
  /** Validates the recipe without its `trainer:` field; `.strict()` objects so typos are caught. */
  schema: S;
  run(config: z.output<S>, run: Run, ctx: TrainerContext): Promise<void>;
}

/**
 * Lets pending events run: signal handlers (Ctrl-C, SIGTERM) are macrotasks, so a trainer whose step loop never
 * waits on I/O must `await yieldToEvents()` once per step, or ctx.signal would never abort.
 */
export const yieldToEvents = () => new Promise<void>(resolve => setImmediate(resolve));

const trainers = new Map<string, Trainer>();

export class DuplicateTrainerError extends Error {
  constructor(name: string) {
    super(`a trainer named "${name}" is already registered: trainer names must be unique`);
    this.name = "DuplicateTrainerError";
  }
}

export function registerTrainer<S extends z.ZodType>(trainer: Trainer<S>): Trainer<S> {
  if (trainers.has(trainer.name)) throw new DuplicateTrainerError(trainer.name);
  trainers.set(trainer.name, trainer as unknown as Trainer);
  return trainer;
}

/** Removes a trainer; tests use it to clean up the trainers they register. */
export function unregisterTrainer(name: string): void {
  trainers.delete(name);
}

export class UnknownTrainerError extends Error {
  constructor(name: string) {
    const guess = didYouMean(name, trainerNames());
    super(`unknown trainer "${name}"` + (guess ? ` (did you mean "${guess}"?)` : `: one of ${trainerNames().join(", ") || "(none registered)"}`));
    this.name = "UnknownTrainerError";
  }
}

/** The trainer called `name`; throws UnknownTrainerError with a suggestion otherwise. */
export function requireTrainer(name: string): Trainer {
  const t = trainers.get(name);
  if (!t) throw new UnknownTrainerError(name);
  return t;
}

export function getTrainer(name: string): Trainer | undefined {
  return trainers.get(name);
}

export function trainerNames(): string[] {
  return [...trainers.keys()].sort();
}
