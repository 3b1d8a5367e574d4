/**
 * The environment API: what a multi-turn episode talks to. An environment is a plain object, one instance per
 * rollout (episode), made by a registered factory:
 *
 *   reset(row)   the first messages of the conversation (or a raw prompt text) for a problem-set row
 *   tools        tools the model may call (zod-declared, src/env/tools.ts); their JSON schemas go into the prompt
 *   step(turn)   optional: answers a model turn with feedback (a user turn) instead of ending the episode, or ends it
 *   reward()     optional: scores the episode (a recipe lists it as the reward `environment`); else the recipe's
 *                rewards score the episode's text
 *
 * As TRL's environment object (reset/tools/get_reward), OpenRLHF's reset/step agents and verl's tool agent loop.
 * The episode loop (src/env/episode.ts) enforces the per-tool timeout and the per-episode turn and token limits;
 * nothing an environment or a tool throws escapes the rollout (it becomes an error the model reads, and a metric).
 *
 *   registerEnvironment({ name: "dice", description: "roll a die", create: () => {
 *     let rolled: number | null = null;
 *     return {
 *       tools: [defineTool({ name: "roll", description: "Rolls a die.", parameters: z.object({}),
 *         run: () => String(rolled = 1 + Math.floor(Math.random() * 6)) })],
 *       reset: row => ({ messages: [{ role: "user", content: row.question }] }),
 *       reward: () => (rolled === 6 ? 1 : 0),
 *     };
 *   } });
 */
import { z } from "zod";
import type { Example } from "../tasks/types.js";
import { chatMessages } from "../sample/prompt-format.js";
import type { Tool, ToolCall, ToolResult } from "./tools.js";
import type { ToolMessage } from "./formats.js";
import { calculatorTool } from "./calculator.js";
import { pythonTool } from "./python.js";

/** The start of an episode: messages for the chat template (and the tags format's prompt), or a raw prompt text. */
export type EnvStart = { messages: ToolMessage[] } | { prompt: string };

/** A model turn as the environment's step() sees it. */
export interface ModelTurn {
  /** 0-based turn number. */
  index: number;
  /** What the model wrote in this turn (special tokens skipped). */
  text: string;
  /** The text besides tool calls. */
  content: string;
  calls: ToolCall[];
  /** The calls' results (and errors for malformed calls), when the turn made any. */
  results: ToolResult[];
}

export interface StepResult {
  /** Text the model reads next, as a user turn (ignored when done). */
  feedback?: string;
  /** End the episode now. */
  done?: boolean;
}

export interface Environment {
  tools?: readonly Tool[];
  reset(row: Example): EnvStart | Promise<EnvStart>;
  /** Called after every model turn (after its tools ran). Without it, a turn without calls ends the episode. */
  step?(turn: ModelTurn): StepResult | null | undefined | Promise<StepResult | null | undefined>;
  /** The episode's score (null = cannot judge); called once when the episode ends. */
  reward?(): number | null | Promise<number | null>;
}

export const ENV_FORMATS = ["auto", "hermes", "llama3", "tags"] as const;

export const EnvironmentConfigSchema = z.object({
  /** A registered environment: problems (single-turn, no tools), calculator, python, or one registered in code. */
  type: z.string().min(1),
  /** Tool-call format: auto = from the chat template (hermes for <tool_call> templates, llama3 for ipython ones, else tags). */
  format: z.enum(ENV_FORMATS).default("auto"),
  /** Model turns per episode; a turn whose calls would need another turn past this ends the episode. */
  max_turns: z.number().int().positive().default(4),
  /** Completion tokens per episode, the model's and the tools' (default grpo.max_completion_length). */
  max_tokens: z.number().int().positive().optional(),
  /** Per-call timeout of tools that set none (ms). */
  tool_timeout_ms: z.number().int().positive().default(10_000),
  /** Longest tool result the model reads (characters); longer results are cut with a note. */
  max_result_chars: z.number().int().positive().default(1000),
  /** The python environment's sandbox: wall-clock limit per run (ms) and address space (MiB). */
  python_timeout_ms: z.number().int().positive().default(5000),
  python_memory_mb: z.number().int().positive().default(512),
  /** The tags format: list the tools (toolsPreamble) before the prompt. Chat formats always list them (the template does). */
  describe_tools: z.boolean().default(false),
}).strict();
export type EnvironmentConfig = z.output<typeof EnvironmentConfigSchema>;

/** What an instance knows of its episode. */
export interface EpisodeContext {
  /** A seed of its own (a function of the step's sampling seed and the episode's index): draw randomness from it so runs and resumes repeat. */
  seed: number;
}

export interface EnvironmentSpec {
  name: string;
  description: string;
  /** A fresh instance for one episode. */
  create(cfg: EnvironmentConfig, episode: EpisodeContext): Environment;
}

export class UnknownEnvironmentError extends Error {
  constructor(name: string) {
    super(`unknown environment "${name}": the environments are ${[...REGISTRY.keys()].join(", ")} (register others with registerEnvironment in code)`);
    this.name = "UnknownEnvironmentError";
  }
}

/** The row's conversation: its messages, or its question as one user turn. */
const rowMessages = (row: Example): ToolMessage[] => chatMessages(row);

/** An environment that only poses the row (existing single-turn recipes are this one with max_turns 1), with tools. */
export function problemEnvironment(tools: readonly Tool[] = []): Environment {
  return { tools, reset: row => ({ messages: rowMessages(row) }) };
}

const REGISTRY = new Map<string, EnvironmentSpec>();

export function registerEnvironment(spec: EnvironmentSpec): void {
  REGISTRY.set(spec.name, spec);
}

export function environmentSpec(name: string): EnvironmentSpec {
  const s = REGISTRY.get(name);
  if (!s) throw new UnknownEnvironmentError(name);
  return s;
}

export const listEnvironments = (): EnvironmentSpec[] => [...REGISTRY.values()];

registerEnvironment({ name: "problems", description: "the problem set's rows, no tools (single-turn recipes as episodes)", create: () => problemEnvironment() });
registerEnvironment({ name: "calculator", description: "the problem set's rows with the calculator tool (exact rational arithmetic)", create: () => problemEnvironment([calculatorTool]) });
registerEnvironment({
  name: "python", description: "the problem set's rows with the python tool (the sandbox, a fresh process per call)",
  create: cfg => problemEnvironment([pythonTool({ timeoutMs: cfg.python_timeout_ms, memoryBytes: cfg.python_memory_mb * 2 ** 20 })]),
});
