/**
 * Readable worked solutions as SFT rows: the cold-start data of the R1 pipeline, made procedurally for the
 * tiny arithmetic task instead of written by people. Each row is the tiny R1 prompt and the derivation the
 * corpus teaches, in the R1 format:
 *   {"prompt": "User: 3+7-2=? Reason in … Assistant: <think>", "completion": "3+7-2 = 10-2 = 8</think><answer>8</answer>"}
 * Problems come from train_seed and never include one of the RL recipe's held-out problems (eval_seed, eval_size).
 *
 * Countdown (issue 19's SFT control): `style: search` gives the corpus's searches that reached the target (the search
 * writer of src/corpus/search.ts; searches that gave up are dropped), `style: optimal` the solution's steps alone
 * (Stream of Search's "optimal paths"); the training stream never poses a held-out target.
 *   {"prompt": "User: Use 25, 1, 3, 4 to make 76. Reason in … Assistant: <think>",
 *    "completion": "25+4 = 29, no. 25-1 = 24, 24*3 = 72, 72+4 = 76, yes!</think><answer>(25-1)*3+4</answer>"}
 */
import { z } from "zod";
import { ArithmeticConfigSchema, chainDerivation, parseChain } from "../tasks/arithmetic.js";
import { CountdownConfigSchema, equationSteps } from "../tasks/countdown.js";
import { makeRng, mixSeed } from "../rng.js";
import { writeSearch } from "../corpus/search.js";
import { tinyR1Prompt } from "../tasks/index.js";
import { loadProblems } from "../eval/problems.js";
import { PromptConfigSchema } from "../sample/prompt-format.js";
import type { SFTRow } from "./sft-data.js";
import { problemSeedFields } from "./trainer-config.js";

export const TracesConfigSchema = z.object({
  /** Arithmetic (the derivation) or countdown (a search, or the optimal path). */
  task: z.discriminatedUnion("type", [ArithmeticConfigSchema, CountdownConfigSchema]),
  n: z.number().int().positive().default(512),
  ...problemSeedFields(256, 0),
  /** Name the tags in the prompt (recipes/r1-zero-tiny.yaml's prompt.instruct). */
  instruct: z.boolean().default(true),
  /** Countdown: "search" (successful searches as the corpus writes them) or "optimal" (the solution's steps alone). */
  style: z.enum(["search", "optimal"]).default("search"),
  /** Countdown: seed of the search writer. */
  seed: z.number().int().default(0),
}).strict();
export type TracesConfig = z.output<typeof TracesConfigSchema>;

/** The rows of a traces config: arithmetic derivations or countdown searches. */
export function traceRows(c: TracesConfig): SFTRow[] {
  return c.task.type === "countdown" ? countdownTraces(c) : arithmeticTraces(c);
}

// Training problems of the RL recipe's problem set: never one of its held-out problems (nor a held-out target).
const trainingProblems = (c: TracesConfig) =>
  loadProblems({ task: c.task, train_seed: c.train_seed, eval_seed: c.eval_seed, eval_size: c.eval_size, prompt: PromptConfigSchema.parse({}) }, "train", c.n);

export function countdownTraces(c: TracesConfig): SFTRow[] {
  return trainingProblems(c).map((ex, i) => {
    let body = `${equationSteps(ex.answer)!.join(", ")}`, answer = ex.answer;
    if (c.style === "search") {
      for (let attempt = 0; ; attempt++) {
        const t = writeSearch(makeRng(mixSeed(c.seed, i, attempt)), ex.numbers!, ex.target!);
        if (t.solution !== null) { body = t.text; answer = t.solution; break; }
      }
    }
    return { prompt: tinyR1Prompt(ex.question, { instruct: c.instruct }), completion: `${body}</think><answer>${answer}</answer>`, answer };
  });
}

export function arithmeticTraces(c: TracesConfig): SFTRow[] {
  const problems = trainingProblems(c);
  return problems.map(ex => ({
    prompt: tinyR1Prompt(ex.question, { instruct: c.instruct }),
    completion: `${chainDerivation(parseChain(ex.question.replace(/=\?$/, "")))}</think><answer>${ex.answer}</answer>`,
    answer: ex.answer,
  }));
}
