import { z } from "zod";
import type { TaskRng } from "../rng.js";
import type { Example, TaskGenerator } from "./types.js";

/**
 * Multi-digit multiplication, e.g. "482*37=?" → "17834": products a tiny byte model cannot work out in its head, the
 * tool-use demonstration's task (docs/tools.md "Demonstration"). Each factor has min_digits..max_digits digits (no
 * leading zero). A separate task rather than a "*" in arithmetic's ops: arithmetic's chains fold left, and their ids,
 * derivations and held-out exclusion (`exposes`) read "+" and "-" only. Long chains are arithmetic's own options
 * (digits up to 6, any number of terms).
 */
export const MultiplicationConfigSchema = z
  .object({
    type: z.literal("multiplication"),
    min_factors: z.number().int().min(2).max(4).default(2),
    max_factors: z.number().int().min(2).max(4).default(2),
    /** Digits of each factor: min_digits..max_digits (2 → 10..99). */
    min_digits: z.number().int().min(1).max(6).default(2),
    max_digits: z.number().int().min(1).max(6).default(3),
  })
  .strict()
  .refine(c => c.min_factors <= c.max_factors, { message: "min_factors must be ≤ max_factors", path: ["min_factors"] })
  .refine(c => c.min_digits <= c.max_digits, { message: "min_digits must be ≤ max_digits", path: ["min_digits"] });
export type MultiplicationConfig = z.output<typeof MultiplicationConfigSchema>;

/** The factors of one problem, each with its own number of digits. */
export function sampleFactors(rng: TaskRng, c: Omit<MultiplicationConfig, "type">): number[] {
  const n = rng.int(c.min_factors, c.max_factors);
  return Array.from({ length: n }, () => {
    const d = rng.int(c.min_digits, c.max_digits);
    return rng.int(d === 1 ? 0 : 10 ** (d - 1), 10 ** d - 1);
  });
}

/** The exact product as a decimal string (BigInt: 4 factors of 6 digits pass 2^53). */
export const productText = (factors: readonly number[]): string => String(factors.reduce((p, f) => p * BigInt(f), 1n));

export function multiplicationTask(config: MultiplicationConfig): TaskGenerator {
  return {
    name: "multiplication",
    sample(rng): Example {
      const f = sampleFactors(rng, config);
      const text = f.join("*");
      return { id: `multiplication:${text}`, question: `${text}=?`, answer: productText(f) };
    },
  };
}
