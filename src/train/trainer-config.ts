// Recipe keys the trainers share (TRL's names): the backend, checkpointing, and the optimisation keys of the trainers
// that step through a fixed data set. Spread into each trainer's z.object where its keys stand, so key order is kept.
import { z } from "zod";
import { TaskConfigSchema } from "../tasks/index.js";
import { PromptConfigSchema } from "../sample/prompt-format.js";
import { DatasetConfigSchema } from "../data/dataset.js";
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

/**
 * The seeds of a problem set: training problems are drawn from `train_seed` and never include one of the
 * `eval_size` held-out problems drawn from `eval_seed` (src/tasks/splits.ts). The same three keys in every recipe
 * that reads problems, so a held-out set named in one recipe is the same set in another.
 */
export function problemSeedFields(evalSize: number, minEvalSize = 1) {
  return {
    train_seed: z.number().int().default(1),
    eval_seed: z.number().int().default(2),
    eval_size: z.number().int().min(minEvalSize).default(evalSize),
  };
}

/**
 * A problem set (src/eval/problems.ts): a procedural `task` or a `dataset` file (exactly one: see
 * oneProblemSource), its seeds, and how its problems become prompts. A dataset without held-out keys of its own
 * (eval_path, eval_split, eval_fraction, eval_size) has `eval_size` problems carved out with `eval_seed`.
 */
export function problemSetFields(evalSize: number) {
  return {
    task: TaskConfigSchema.optional(),
    dataset: DatasetConfigSchema.optional(),
    ...problemSeedFields(evalSize),
    prompt: PromptConfigSchema.default(PromptConfigSchema.parse({})),
  };
}

/** A schema refinement: exactly one of the problem sources `keys` is given (default task and dataset). */
export function oneProblemSource(keys: readonly string[] = ["task", "dataset"]) {
  return (c: Record<string, unknown>, ctx: z.RefinementCtx) => {
    const given = keys.filter(k => c[k] !== undefined && c[k] !== null);
    if (given.length !== 1)
      ctx.addIssue({ code: "custom", path: [given[1] ?? keys[0]], message: `give exactly one of ${keys.join(", ")}${given.length ? ` (this recipe gives ${given.join(" and ")})` : ""}: a procedural task, or a dataset file` });
  };
}
