/**
 * Tools: a name, a description, a zod schema for the arguments and an async function. The JSON schema a chat
 * template shows the model is generated from the zod schema (zod 4's z.toJSONSchema), in the OpenAI / Hugging Face
 * shape `{type: "function", function: {name, description, parameters}}` that Qwen's and Llama's templates render.
 *
 * callTool never throws: bad arguments, a throwing tool, a tool that outlives its timeout and a result longer than
 * the limit all come back as a ToolResult (`error` set for the first three) that the episode shows the model.
 *
 *   const add = defineTool({ name: "add", description: "Adds two integers.",
 *     parameters: z.object({ a: z.number().int(), b: z.number().int() }), run: async ({ a, b }) => String(a + b) });
 *   await callTool(add, { a: 2, b: 3 })   // { name: "add", content: "5", error: null, ... }
 */
import { z } from "zod";

export interface ToolContext {
  /** Aborted when the call's timeout passes (or the episode is stopped): long tools should stop then. */
  signal: AbortSignal;
}

export interface Tool<A = any> {
  name: string;
  /** What the model reads about the tool (first line of a Google docstring in TRL terms). */
  description: string;
  /** The arguments: a zod object; its JSON schema is what the chat template shows. */
  parameters: z.ZodType<A>;
  /** Runs the call; returns the text the model reads. */
  run(args: A, ctx: ToolContext): Promise<string> | string;
  /** Per-call timeout (ms); default the episode's tool_timeout_ms; Infinity when the tool enforces its own (python). */
  timeoutMs?: number;
}

export function defineTool<S extends z.ZodType>(t: { name: string; description: string; parameters: S; run(args: z.output<S>, ctx: ToolContext): Promise<string> | string; timeoutMs?: number }): Tool<z.output<S>> {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(t.name)) throw new ToolDefinitionError(`tool name "${t.name}" must be an identifier (letters, digits, _ and -), as function-calling formats require`);
  return t as Tool<z.output<S>>;
}

export class ToolDefinitionError extends Error {
  constructor(message: string) { super(message); this.name = "ToolDefinitionError"; }
}

/** A tool as chat templates and OpenAI's `tools` field take it. */
export interface ToolSchema {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

/** The JSON schema of a tool's arguments, without the `$schema` header (templates print it verbatim). */
export function parametersSchema(parameters: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(parameters) as Record<string, unknown>;
  return rest;
}

export function toolSchema(t: Tool): ToolSchema {
  return { type: "function", function: { name: t.name, description: t.description, parameters: parametersSchema(t.parameters) } };
}

export const toolSchemas = (tools: readonly Tool[]): ToolSchema[] => tools.map(toolSchema);

/** A call as a format parsed it: the tool's name and its arguments (not yet validated). */
export interface ToolCall { name: string; arguments: unknown }

export type ToolErrorKind = "bad_json" | "unknown_tool" | "bad_arguments" | "threw" | "timeout";

export interface ToolResult {
  name: string;
  /** What the model reads: the tool's output, or an error message saying what was wrong. */
  content: string;
  /** Null when the tool ran and returned; otherwise why not. */
  error: ToolErrorKind | null;
  /** The output was cut to maxResultChars. */
  truncated: boolean;
  seconds: number;
}

export interface CallLimits {
  /** Default per-call timeout (ms) for tools that set none. */
  timeoutMs: number;
  /** Longest result the model reads (characters); the rest is cut with a note. */
  maxResultChars: number;
  /** Stops a running call early (the episode ended). */
  signal?: AbortSignal;
}

export const DEFAULT_CALL_LIMITS: CallLimits = { timeoutMs: 10_000, maxResultChars: 2000 };

/** Cuts text to n characters, saying how much was cut (the model should know the output is incomplete). */
export function truncateResult(text: string, n: number): { text: string; truncated: boolean } {
  if (text.length <= n) return { text, truncated: false };
  return { text: `${text.slice(0, n)}\n[output truncated: ${text.length - n} more characters]`, truncated: true };
}

/** An error result the model reads (also used by formats for calls they could not parse). */
export function errorResult(name: string, error: ToolErrorKind, message: string, seconds = 0): ToolResult {
  return { name, content: `Error: ${message}`, error, truncated: false, seconds };
}

/** What the model reads after calling a tool that does not exist (the tools corpus writes the same words). */
export const unknownToolMessage = (name: string, names: readonly string[]): string => `unknown tool "${name}"; the tools are: ${names.join(", ") || "(none)"}`;

/** Validates the arguments, runs the tool under its timeout, and returns what the model reads. Never throws. */
export async function callTool(tools: readonly Tool[] | Tool, call: ToolCall, limits: Partial<CallLimits> = {}): Promise<ToolResult> {
  const l = { ...DEFAULT_CALL_LIMITS, ...limits };
  const list = Array.isArray(tools) ? tools : [tools as Tool];
  const tool = list.find(t => t.name === call.name);
  if (!tool) return errorResult(String(call.name), "unknown_tool", unknownToolMessage(String(call.name), list.map(t => t.name)));
  const parsed = tool.parameters.safeParse(call.arguments ?? {});
  if (!parsed.success) return errorResult(tool.name, "bad_arguments", `wrong arguments for ${tool.name}: ${z.prettifyError(parsed.error).replace(/\n/g, "; ")}`);
  const t0 = performance.now();
  const seconds = () => (performance.now() - t0) / 1000;
  const timeoutMs = tool.timeoutMs ?? l.timeoutMs;
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  l.signal?.addEventListener("abort", onAbort);
  let timer: NodeJS.Timeout | undefined;
  try {
    // Infinity: the tool enforces its own limit (the python tool's sandbox)
    const timeout = new Promise<"timeout">(res => { if (Number.isFinite(timeoutMs)) timer = setTimeout(() => { ac.abort(); res("timeout"); }, timeoutMs); });
    const out = await Promise.race([Promise.resolve().then(() => tool.run(parsed.data, { signal: ac.signal })), timeout]);
    if (out === "timeout") return errorResult(tool.name, "timeout", `${tool.name} took longer than ${timeoutMs} ms and was stopped`, seconds());
    const text = typeof out === "string" ? out : JSON.stringify(out);
    const cut = truncateResult(text, l.maxResultChars);
    return { name: tool.name, content: cut.text, error: null, truncated: cut.truncated, seconds: seconds() };
  } catch (e) {
    const msg = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
    return errorResult(tool.name, "threw", `${tool.name} failed: ${truncateResult(msg, 500).text}`, seconds());
  } finally {
    clearTimeout(timer);
    l.signal?.removeEventListener("abort", onAbort);
  }
}
