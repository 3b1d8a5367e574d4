// Recipe keys the trainers share (TRL's names): the backend, checkpointing, and the optimisation keys of the trainers
// that step through a fixed data set. Spread into each trainer's z.object where its keys stand, so key order is kept.
import { z } from "zod";
import { AdamWConfigSchema } from "./optimizer.js";
import { ScheduleConfigSchema } from "./schedule.js";

/** Which kernels run: the native addon, the pure-TS reference backend, or auto (native when the addon loads). */
export const BackendChoiceSchema = z.enum(["auto", "native", "reference"]).default("auto");

/** A checkpoint every `save_steps` steps (0 = none), the newest `save_total_limit` of them kept (0 = all). */
export function checkpointFields(saveSteps: number) {
  return {
    save_steps: z.number().int().nonnegative().default(saveSteps),
    save_total_limit: z.number().int().nonnegative().default(2),
  };
}

/**
 * SFT's and the reward model's optimisation keys: AdamW (learning rate 1e-4 unless set), the learning-rate schedule
 * (`schedule` gives its defaults), a held-out evaluation every `eval_every` steps (0 = none) and checkpoints.
 */
export function datasetTrainingFields(schedule: z.input<typeof ScheduleConfigSchema>) {
  return {
    optimizer: AdamWConfigSchema.default(AdamWConfigSchema.parse({ learning_rate: 1e-4 })),
    schedule: ScheduleConfigSchema.default(ScheduleConfigSchema.parse(schedule)),
    eval_every: z.number().int().nonnegative().default(50),
    ...checkpointFields(100),
  };
}
