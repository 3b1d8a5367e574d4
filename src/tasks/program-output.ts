import { z } from "zod";
import type { TaskRng } from "../rng.js";
import type { Example, TaskGenerator } from "./types.js";

/**
 * Program output: a short Python program of integer arithmetic and what it prints, e.g.
 *
 *   What does this Python program print?
 *   x = 482
 *   x = x*37
 *   print(x-915)                                  → "16919"
 *
 * The Python-tool variant of the tool-use demonstration (docs/tools.md): the model can run the program in the sandbox
 * (`<call>python …</call>`) and copy what it printed, or work it out, which its multi-digit products make hard for a
 * tiny model. Every value stays a non-negative integer, so the answer is one number the `math` reward reads.
 */
export const ProgramOutputConfigSchema = z
  .object({
    type: z.literal("program_output"),
    /** Digits of the program's numbers (2 → 10..99); loop counts stay 2..9. */
    digits: z.number().int().min(1).max(4).default(2),
  })
  .strict();
export type ProgramOutputConfig = z.output<typeof ProgramOutputConfigSchema>;

export interface Program { code: string; output: number }

/** One program and its output (computed here; test/tasks/program-output.test.ts runs them through Python). */
export function sampleProgram(rng: TaskRng, digits: number): Program {
  const num = () => rng.int(digits === 1 ? 1 : 10 ** (digits - 1), 10 ** digits - 1);
  const a = num(), b = num();
  switch (rng.int(0, 4)) {
    case 0:
      return { code: `print(${a}*${b})`, output: a * b };
    case 1: {
      const c = num();
      return { code: `print(${a}*${b}+${c})`, output: a * b + c };
    }
    case 2: {
      const c = rng.int(0, a * b);
      return { code: `x = ${a}\nx = x*${b}\nprint(x-${c})`, output: a * b - c };
    }
    case 3: {
      const n = rng.int(2, 9);
      return { code: `s = 0\nfor i in range(${n}):\n    s = s + ${a}\nprint(s*${b})`, output: n * a * b };
    }
    default:
      return { code: `a = ${a}\nb = ${b}\nprint(a*b+a)`, output: a * b + a };
  }
}

export const PROGRAM_QUESTION = "What does this Python program print?";

export function programOutputTask(config: ProgramOutputConfig): TaskGenerator {
  return {
    name: "program_output",
    sample(rng): Example {
      const p = sampleProgram(rng, config.digits);
      return { id: `program_output:${p.code}`, question: `${PROGRAM_QUESTION}\n${p.code}`, answer: String(p.output) };
    },
  };
}
