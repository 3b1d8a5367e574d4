import { z } from "zod";
import { ArithmeticConfigSchema, arithmeticTask } from "./arithmetic.js";
import { CountdownConfigSchema, countdownTask } from "./countdown.js";
import { MultiplicationConfigSchema, multiplicationTask } from "./multiplication.js";
import { ProgramOutputConfigSchema, programOutputTask } from "./program-output.js";
import type { Example, TaskGenerator } from "./types.js";

/** The tasks a mixture draws from (not a mixture itself). */
export const PartTaskConfigSchema = z.discriminatedUnion("type", [ArithmeticConfigSchema, CountdownConfigSchema, MultiplicationConfigSchema, ProgramOutputConfigSchema]);
export type PartTaskConfig = z.output<typeof PartTaskConfigSchema>;

export function partTask(c: PartTaskConfig): TaskGenerator {
  switch (c.type) {
    case "arithmetic": return arithmeticTask(c);
    case "countdown": return countdownTask(c);
    case "multiplication": return multiplicationTask(c);
    case "program_output": return programOutputTask(c);
  }
}

/**
 * A mixture of tasks: each problem is drawn from one part, picked by weight, and carries the part's name as its
 * `subset`, so held-out figures are reported per part as well (accuracy, and for episodes the tool-call rate). The
 * tool-use demonstration poses products and long chains this way:
 *
 *   task: { type: mixture, parts: [
 *     { name: product, weight: 1, task: { type: multiplication, min_digits: 2, max_digits: 3 } },
 *     { name: chain, weight: 1, task: { type: arithmetic, min_terms: 5, max_terms: 8, digits: 3 } } ] }
 *
 * Problems keep their parts' ids ("multiplication:482*37", "arithmetic:…"), so held-out sets exclude across tasks.
 */
export const MixtureConfigSchema = z
  .object({
    type: z.literal("mixture"),
    parts: z.array(z.object({
      /** The subset name of this part's problems. */
      name: z.string().regex(/^[A-Za-z0-9_-]+$/, "a part's name is letters, digits, _ and - (it names metrics)"),
      /** Relative weight (normalised over the parts). */
      weight: z.number().positive(),
      task: PartTaskConfigSchema,
    }).strict()).min(2),
  })
  .strict()
  .refine(c => new Set(c.parts.map(p => p.name)).size === c.parts.length, { message: "the parts' names must differ", path: ["parts"] });
export type MixtureConfig = z.output<typeof MixtureConfigSchema>;

export function mixtureTask(config: MixtureConfig): TaskGenerator {
  const parts = config.parts.map(p => ({ name: p.name, gen: partTask(p.task) }));
  const weights = config.parts.map(p => p.weight);
  return {
    name: "mixture",
    sample(rng, stream): Example {
      const p = parts[rng.weighted(weights)];
      return { ...p.gen.sample(rng, stream), subset: p.name };
    },
    // a problem shows what its own task says it shows (arithmetic: its derivation's steps)
    exposes: ex => parts.find(p => ex.id.startsWith(`${p.gen.name}:`))?.gen.exposes?.(ex) ?? [],
  };
}
