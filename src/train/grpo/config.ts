import { z } from "zod";
import { MAX_SAMPLING_ROUNDS } from "./dynamic.js";

/**
 * GRPO configuration with TRL's names and, where TRL has one, TRL's default (GRPOConfig, trl ≥ 0.20).
 * Project-specific knobs (prompts_per_step, dynamic_sampling*) are marked as such.
 */
export const GRPOConfigSchema = z
  .object({
    // Generation
    num_generations: z.number().int().min(2).default(8), // G; TRL forbids G < 2 (std needs two samples)
    max_completion_length: z.number().int().positive().default(256),
    temperature: z.number().positive().default(1.0), // log-probs in the loss come from logits / temperature
    top_p: z.number().gt(0).max(1).default(1.0),
    top_k: z.number().int().min(0).default(0), // 0 = off
    // Batch geometry (project): prompts per optimizer step; each is sampled num_generations times
    prompts_per_step: z.number().int().positive().default(4),
    per_device_train_batch_size: z.number().int().positive().optional(), // rows per forward/backward; default ≤ 4 (TRL's is 8), see grpo/step.ts
    num_iterations: z.number().int().positive().default(1), // μ: passes over each generation batch
    // Rewards
    reward_funcs: z.array(z.string().min(1)).min(1),
    reward_weights: z.array(z.number()).optional(), // default: 1 for every reward function
    scale_rewards: z.enum(["group", "batch", "none"]).default("group"),
    // Loss
    loss_type: z.enum(["grpo", "bnpo", "dr_grpo", "dapo"]).default("dapo"),
    beta: z.number().min(0).default(0.0), // 0 = no reference model is held
    reference_dtype: z.enum(["float32", "bfloat16"]).default("float32"), // project: the reference model's weights (bfloat16 = frozen, half the memory)
    epsilon: z.number().positive().lt(1).default(0.2),
    epsilon_high: z.number().positive().optional(), // default: epsilon
    delta: z.number().gt(1).optional(), // two-sided clip upper bound on the ratio (INTELLECT-2)
    importance_sampling_level: z.enum(["token", "sequence"]).default("token"),
    mask_truncated_completions: z.boolean().default(false),
    // Dynamic sampling (DAPO, project names): drop groups whose rewards all agree; while fewer than prompts_per_step
    // groups are informative, sample prompts_per_step more prompts, up to max_rounds rounds in all (grpo/dynamic.ts)
    dynamic_sampling: z.boolean().default(false),
    dynamic_sampling_max_rounds: z.number().int().positive().max(MAX_SAMPLING_ROUNDS).default(3),
    // Optimisation
    learning_rate: z.number().positive().default(1e-6),
    max_grad_norm: z.number().positive().default(1.0),
    max_steps: z.number().int().positive().default(100),
    seed: z.number().int().default(42),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.reward_weights && c.reward_weights.length !== c.reward_funcs.length)
      ctx.addIssue({
        code: "custom",
        path: ["reward_weights"],
        message: `reward_weights has ${c.reward_weights.length} entries but reward_funcs has ${c.reward_funcs.length}; give one weight per reward function or omit it`,
      });
    const rows = c.prompts_per_step * c.num_generations;
    if (c.per_device_train_batch_size !== undefined && rows % c.per_device_train_batch_size !== 0)
      ctx.addIssue({
        code: "custom",
        path: ["per_device_train_batch_size"],
        message: `per_device_train_batch_size ${c.per_device_train_batch_size} must divide prompts_per_step × num_generations = ${rows}`,
      });
  });

export type GRPOConfigInput = z.input<typeof GRPOConfigSchema>;
export type GRPOConfig = z.output<typeof GRPOConfigSchema>;

/** Parses and validates a GRPO config (zod errors name the offending path). */
export function parseGRPOConfig(raw: unknown): GRPOConfig {
  return GRPOConfigSchema.parse(raw);
}

/** The loss options a GRPOConfig implies (epsilon_high defaults to epsilon, as in TRL). */
export function lossOptionsOf(c: Pick<GRPOConfig, "loss_type" | "importance_sampling_level" | "beta" | "epsilon" | "epsilon_high" | "delta" | "max_completion_length">) {
  return {
    loss_type: c.loss_type,
    importance_sampling_level: c.importance_sampling_level,
    beta: c.beta,
    epsilon: c.epsilon,
    epsilon_high: c.epsilon_high ?? c.epsilon,
    delta: c.delta,
    max_completion_length: c.max_completion_length,
  };
}

/** One weight per reward function (TRL: all ones when reward_weights is unset). */
export function rewardWeightsOf(c: GRPOConfig): number[] {
  return c.reward_weights ?? c.reward_funcs.map(() => 1);
}
