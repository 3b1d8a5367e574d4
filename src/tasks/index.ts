import { z } from "zod";
import { ArithmeticConfigSchema, arithmeticTask } from "./arithmetic.js";
import { CountdownConfigSchema, countdownTask } from "./countdown.js";
import type { TaskGenerator } from "./types.js";

/** A procedural task in a recipe: `task: {type: arithmetic, ...}` or `{type: countdown, ...}`. */
export const TaskConfigSchema = z.discriminatedUnion("type", [ArithmeticConfigSchema, CountdownConfigSchema]);
export type TaskConfig = z.output<typeof TaskConfigSchema>;

export function makeTask(raw: unknown): TaskGenerator {
  const c = TaskConfigSchema.parse(raw);
  return c.type === "arithmetic" ? arithmeticTask(c) : countdownTask(c);
}

export type { Example, TaskGenerator } from "./types.js";
export { TaskError, type TaskStream } from "./types.js";
export { makeRng, mixSeed, shuffle, type TaskRng } from "../rng.js";
export { exampleAt, distinctExamples, trainEvalSplit, splitDataset, type TaskSplit } from "./splits.js";
export { loadJsonl, parseJsonl } from "./jsonl.js";
export { solveCountdown, countdownQuestion, countdownTargets, type CountdownSubset } from "./countdown.js";
export { chainDerivation, chainValue, chainText, parseChain, sampleChain, type Chain } from "./arithmetic.js";
export { tinyR1Prompt, withPrefill, TINY_R1_PREFIX, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX, TINY_R1_PREFILL, TINY_R1_STOP } from "./prompt.js";
