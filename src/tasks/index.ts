import { z } from "zod";
import { ArithmeticConfigSchema, arithmeticTask } from "./arithmetic.js";
import { CountdownConfigSchema, countdownTask } from "./countdown.js";
import { MultiplicationConfigSchema, multiplicationTask } from "./multiplication.js";
import { ProgramOutputConfigSchema, programOutputTask } from "./program-output.js";
import { MixtureConfigSchema, mixtureTask } from "./mixture.js";
import type { TaskGenerator } from "./types.js";

/**
 * A procedural task in a recipe: `task: {type: arithmetic, ...}`, `{type: countdown, ...}`, or the tool-use
 * demonstration's `{type: multiplication, ...}` and `{type: program_output, ...}`, or a `{type: mixture, parts: [...]}`
 * of them (each problem's subset names its part).
 */
export const TaskConfigSchema = z.discriminatedUnion("type", [ArithmeticConfigSchema, CountdownConfigSchema, MultiplicationConfigSchema, ProgramOutputConfigSchema, MixtureConfigSchema]);
export type TaskConfig = z.output<typeof TaskConfigSchema>;

export function makeTask(raw: unknown): TaskGenerator {
  const c = TaskConfigSchema.parse(raw);
  switch (c.type) {
    case "arithmetic": return arithmeticTask(c);
    case "countdown": return countdownTask(c);
    case "multiplication": return multiplicationTask(c);
    case "program_output": return programOutputTask(c);
    case "mixture": return mixtureTask(c);
  }
}

export type { Example, TaskGenerator } from "./types.js";
export { TaskError, type TaskStream } from "./types.js";
export { makeRng, mixSeed, shuffle, type TaskRng } from "../rng.js";
export { exampleAt, distinctExamples, trainEvalSplit, splitDataset, type TaskSplit } from "./splits.js";
export { loadJsonl, parseJsonl } from "./jsonl.js";
export { solveCountdown, countdownQuestion, countdownTargets, type CountdownSubset } from "./countdown.js";
export { chainDerivation, chainValue, chainText, parseChain, sampleChain, type Chain } from "./arithmetic.js";
export { tinyR1Prompt, withPrefill, TINY_R1_PREFIX, TINY_R1_INSTRUCTION, TINY_R1_SUFFIX, TINY_R1_PREFILL, TINY_R1_STOP } from "./prompt.js";
