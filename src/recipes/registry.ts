// The shape of a trainer: a recipe's top-level `trainer:` field names one, its zod schema validates the rest.
//
// A trainer module (src/train/<name>.ts) exports a plain Trainer object, and src/cli/trainers.ts lists every one
// in the array `move37 train`, `move37 selfplay` and `move37 config schema` read; a trainer that runs others
// (pipeline, rlhf-vs-rl, distill) imports the ones it runs:
//
//   export const grpo: Trainer<typeof GrpoConfig> = {
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
//   };
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

export class UnknownTrainerError extends Error {
  constructor(name: string, names: readonly string[]) {
    const guess = didYouMean(name, names);
    super(`unknown trainer "${name}"` + (guess ? ` (did you mean "${guess}"?)` : `: one of ${names.join(", ") || "(none)"}`));
    this.name = "UnknownTrainerError";
  }
}

/** The sorted names of `trainers`. */
export const trainerNames = (trainers: readonly Trainer[]): string[] => trainers.map(t => t.name).sort();

/** The trainer of `trainers` called `name`; throws UnknownTrainerError with a suggestion otherwise. */
export function requireTrainer(trainers: readonly Trainer[], name: string): Trainer {
  const t = trainers.find(x => x.name === name);
  if (!t) throw new UnknownTrainerError(name, trainerNames(trainers));
  return t;
}
