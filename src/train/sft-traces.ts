/**
 * Readable worked solutions as SFT rows: the cold-start data of the R1 pipeline, made procedurally for the
 * tiny arithmetic task instead of written by people. Each row is the tiny R1 prompt and the derivation the
 * corpus teaches, in the R1 format:
 *   {"prompt": "User: 3+7-2=? Reason in … Assistant: <think>", "completion": "3+7-2 = 10-2 = 8</think><answer>8</answer>"}
 * Problems come from train_seed and never include one of the RL recipe's held-out problems (eval_seed, eval_size).
 */
import { z } from "zod";
import { ArithmeticConfigSchema, chainDerivation, parseChain } from "../tasks/arithmetic.js";
import { tinyR1Prompt } from "../tasks/index.js";
import { loadProblems } from "../eval/problems.js";
import { PromptConfigSchema } from "../sample/prompt-format.js";
import type { SFTRow } from "./sft-data.js";
import { problemSeedFields } from "./trainer-config.js";

export const TracesConfigSchema = z.object({
  /** Only arithmetic has a worked derivation to show. */
  task: ArithmeticConfigSchema,
  n: z.number().int().positive().default(512),
  ...problemSeedFields(256, 0),
  /** Name the tags in the prompt (recipes/r1-zero-tiny.yaml's prompt.instruct). */
  instruct: z.boolean().default(true),
}).strict();
export type TracesConfig = z.output<typeof TracesConfigSchema>;

export function arithmeticTraces(c: TracesConfig): SFTRow[] {
  // Training problems of the RL recipe's problem set: never one of its held-out problems.
  const problems = loadProblems({ task: c.task, train_seed: c.train_seed, eval_seed: c.eval_seed, eval_size: c.eval_size, prompt: PromptConfigSchema.parse({}) }, "train", c.n);
  return problems.map(ex => ({
    prompt: tinyR1Prompt(ex.question, { instruct: c.instruct }),
    completion: `${chainDerivation(parseChain(ex.question.replace(/=\?$/, "")))}</think><answer>${ex.answer}</answer>`,
    answer: ex.answer,
  }));
}
