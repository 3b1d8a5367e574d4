/**
 * Learning-rate schedules with Hugging Face's names and formulas (transformers.get_scheduler): the rate
 * for optimizer step s (0-based) is base · λ(s). With warmup, λ(s) = s / warmup for s < warmup (so the very
 * first step has rate 0, as in HF); after it, linear decays to 0 at total steps, cosine follows half a cosine.
 */
import { z } from "zod";

export const ScheduleConfigSchema = z.object({
  lr_scheduler_type: z.enum(["constant", "constant_with_warmup", "linear", "cosine"]).default("linear"),
  /** Warmup steps; if 0, warmup_ratio · total steps is used. */
  warmup_steps: z.number().int().nonnegative().default(0),
  warmup_ratio: z.number().min(0).max(1).default(0),
}).strict();

export type ScheduleConfig = z.infer<typeof ScheduleConfigSchema>;

export const warmupSteps = (c: ScheduleConfig, totalSteps: number) => c.warmup_steps > 0 ? c.warmup_steps : Math.ceil(c.warmup_ratio * totalSteps);

/** λ(step) ∈ [0, 1], the multiplier of the base learning rate at optimizer step `step` of `totalSteps`. */
export function lrMultiplier(c: ScheduleConfig, step: number, totalSteps: number): number {
  if (c.lr_scheduler_type === "constant") return 1;
  const w = warmupSteps(c, totalSteps);
  if (step < w) return step / Math.max(1, w);
  const progress = (step - w) / Math.max(1, totalSteps - w);
  switch (c.lr_scheduler_type) {
    case "constant_with_warmup": return 1;
    case "linear": return Math.max(0, 1 - progress);
    case "cosine": return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
  }
}
