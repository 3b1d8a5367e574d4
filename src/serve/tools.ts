/**
 * OpenAI's function calling for `move37 serve`'s chat endpoint: a request's `tools` are rendered by the model's own
 * chat template (its `tools` variable), the completion is read back into `tool_calls` by the family's parser
 * (src/env/formats.ts), and conversation turns with assistant `tool_calls` and role `tool` go back through the
 * template. Two families' formats are served: hermes (Qwen2.5/Qwen3, `<tool_call>{json}</tool_call>`) and llama3
 * (Llama 3.1/3.2, the whole turn is `{"name", "parameters"}`), picked from the chat template's text.
 *
 * `tool_choice`: "auto" (the default with tools) lets the model choose; "none" renders the tools but reads no call;
 * "required" and a named function open the call for the model (the generation prompt is followed by the format's
 * call opening, e.g. `<tool_call>\n{"name": "get_weather", "arguments": `), as close to vLLM's guided decoding as a
 * sampler without grammars gets.
 */
import { randomBytes } from "node:crypto";
import { detectToolFormat, parseToolCalls } from "../env/formats.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { ApiError } from "./errors.js";
import { messageText, type ChatMessageIn, type ChatRequest, type ToolSpec } from "./protocol.js";

/** The call formats move37 serve reads; a template that takes tools in another way is refused. */
export type ServedToolFormat = "hermes" | "llama3";

/** How a chat request's tools are handled; null when it has none. */
export interface ToolPlan {
  format: ServedToolFormat;
  tools: ToolSpec[];
  /** Read the completion for calls (false for tool_choice "none"). */
  parse: boolean;
  /** Text after the generation prompt that opens a call (tool_choice "required" or a named function); part of the reply. */
  prefill: string;
  /** parallel_tool_calls: false keeps only the first call. */
  parallel: boolean;
}

/** An OpenAI tool call in a response: arguments as JSON text. */
export interface ToolCallOut { id: string; type: "function"; function: { name: string; arguments: string } }

/** The format a chat template speaks (src/env's detection); null when it takes no tools in a format served here. */
export function servedToolFormat(tok: Pick<Tokenizer, "chatTemplate">): ServedToolFormat | null {
  const f = detectToolFormat(tok);
  return f === "tags" ? null : f;
}

/** Validates tools, tool_choice and parallel_tool_calls against each other and the model's template. */
export function planTools(req: ChatRequest, tok: Tokenizer): ToolPlan | null {
  const tools = req.tools ?? [];
  const choice = req.tool_choice ?? (tools.length ? "auto" : "none");
  if (!tools.length) {
    if (choice !== "none") throw new ApiError(400, `tool_choice ${JSON.stringify(choice)} needs tools: list the functions in tools, or leave tool_choice out`, "tool_choice");
    return null;
  }
  const names = new Set<string>();
  tools.forEach((t, i) => {
    if (names.has(t.function.name)) throw new ApiError(400, `tools[${i}] repeats the name "${t.function.name}": give each function its own name`, `tools.${i}.function.name`);
    names.add(t.function.name);
  });
  const format = servedToolFormat(tok);
  if (!format) {
    throw new ApiError(400, tok.chatTemplate
      ? "this model's chat template does not render tools in a format move37 serve reads (Hermes/Qwen <tool_call> or Llama 3 JSON calls): serve a model whose template takes tools, or leave tools out"
      : "this model has no chat template, so it cannot be shown tools: serve a model whose tokenizer_config.json has a chat template that takes tools (Qwen2.5/Qwen3, Llama 3.x), or leave tools out", "tools");
  }
  let prefill = "";
  if (typeof choice === "object") {
    const name = choice.function.name;
    if (!names.has(name)) throw new ApiError(400, `tool_choice names the function "${name}", which is not among tools (${[...names].join(", ")})`, "tool_choice.function.name");
    prefill = format === "hermes" ? `<tool_call>\n{"name": ${JSON.stringify(name)}, "arguments": ` : `{"name": ${JSON.stringify(name)}, "parameters": `;
  } else if (choice === "required") {
    prefill = format === "hermes" ? "<tool_call>\n{\"name\": \"" : "{\"name\": \"";
  }
  return { format, tools, parse: choice !== "none", prefill, parallel: req.parallel_tool_calls !== false };
}

/**
 * The request's messages as chat templates read them (transformers' convention): text content, an assistant's
 * tool_calls with their arguments parsed into objects (Llama's template prints them with tojson), tool results with
 * their tool_call_id. Each tool message must answer a call of the assistant turn before it.
 */
export function templateMessages(messages: readonly ChatMessageIn[]): Record<string, unknown>[] {
  let open = new Set<string>();   // ids of the calls the last assistant turn made
  return messages.map((m, i) => {
    if (m.role === "tool") {
      if (!open.has(m.tool_call_id)) {
        throw new ApiError(400, open.size
          ? `messages[${i}] answers tool_call_id "${m.tool_call_id}", but the assistant turn before it called ${[...open].map(x => `"${x}"`).join(", ")}`
          : `messages[${i}] has role "tool", but no assistant turn with tool_calls comes before it: a tool message answers one of those calls`, `messages.${i}.tool_call_id`);
      }
      return { role: "tool", content: messageText(m.content), tool_call_id: m.tool_call_id };
    }
    if (m.role !== "assistant") { open = new Set(); return { role: m.role, content: messageText(m.content) }; }
    const calls = m.tool_calls ?? [];
    if (m.content == null && calls.length === 0) throw new ApiError(400, `messages[${i}] (assistant) has neither content nor tool_calls: give one of them`, `messages.${i}.content`);
    open = new Set(calls.map(c => c.id));
    const out: Record<string, unknown> = { role: "assistant", content: m.content == null ? "" : messageText(m.content) };
    if (calls.length) {
      out.tool_calls = calls.map((c, j) => {
        let args: unknown;
        try {
          args = JSON.parse(c.function.arguments);
        } catch (e) {
          throw new ApiError(400, `messages[${i}].tool_calls[${j}].function.arguments is not valid JSON (${(e as Error).message}): send the arguments as a JSON object in a string, as the model returned them`, `messages.${i}.tool_calls.${j}.function.arguments`);
        }
        return { id: c.id, type: "function", function: { name: c.function.name, arguments: args } };
      });
    }
    return out;
  });
}

/** Reads a reply (prefill + completion) into content and calls. A turn with a malformed call stays text, as vLLM's parsers leave it. */
export function readToolTurn(plan: ToolPlan, text: string): { content: string | null; toolCalls: ToolCallOut[] } {
  const turn = parseToolCalls(plan.format, text);
  if (turn.errors.length > 0 || turn.calls.length === 0) return { content: text, toolCalls: [] };
  const calls = plan.parallel ? turn.calls : turn.calls.slice(0, 1);
  return {
    content: turn.content === "" ? null : turn.content,
    toolCalls: calls.map(c => ({ id: `call_${randomBytes(12).toString("hex")}`, type: "function", function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) } })),
  };
}

const HERMES_OPEN = "<tool_call>", PYTHON_TAG = "<|python_tag|>";

/**
 * One streamed choice of a request with tools. Text before a possible call streams as content at once; from the
 * point where a call may begin (`<tool_call>`, or a Llama turn that opens with `{`) the text is held, and at the
 * end the whole reply is read: its calls go out as `delta.tool_calls` (one chunk per call, arguments whole), or,
 * when it holds no well-formed call, the held text goes out as content.
 */
export class ToolStream {
  private text: string;
  private sent = 0;
  private held: boolean;
  private plain = false;

  constructor(private readonly plan: ToolPlan) {
    this.text = plan.prefill;
    this.held = plan.prefill !== "";
  }

  /** New completion text → the content that can go out now. */
  push(delta: string): string {
    this.text += delta;
    if (this.held) return "";
    const end = this.safeEnd();
    const out = this.text.slice(this.sent, end);
    this.sent = Math.max(this.sent, end);
    return out;
  }

  /** The end of the reply → the content still to send and the calls. */
  finish(): { content: string; toolCalls: ToolCallOut[] } {
    const already = this.text.slice(0, this.sent);
    const r = readToolTurn(this.plan, this.text);
    if (r.toolCalls.length === 0) return { content: this.text.slice(this.sent), toolCalls: [] };
    // The parser trims the content; what was already sent is its head.
    const c = r.content ?? "", a = already.trim();
    return { content: a && c.startsWith(a) ? c.slice(a.length) : a ? "" : c, toolCalls: r.toolCalls };
  }

  /** How far the text is surely content; sets `held` once a call may have begun. */
  private safeEnd(): number {
    const t = this.text;
    if (this.plan.format === "hermes") {
      const i = t.indexOf(HERMES_OPEN, Math.max(0, this.sent - HERMES_OPEN.length));
      if (i >= 0) this.held = true;
      // whitespace before a call is not content (the parser trims it): it waits for the text after it
      let end = i >= 0 ? i : t.length - partialSuffix(t, HERMES_OPEN);
      while (end > this.sent && /\s/.test(t[end - 1])) end--;
      return end;
    }
    // llama3: a call is the whole turn; only the turn's first characters decide
    if (this.plain) return t.length;
    const head = t.trimStart();
    if (head === "" || PYTHON_TAG.startsWith(head)) return this.sent;
    if (head.startsWith("{") || head.startsWith(PYTHON_TAG)) { this.held = true; return this.sent; }
    this.plain = true;
    return t.length;
  }
}

/** Length of the longest end of `text` that is a proper beginning of `marker` (it may still become the marker). */
function partialSuffix(text: string, marker: string): number {
  for (let n = Math.min(marker.length - 1, text.length); n > 0; n--) if (marker.startsWith(text.slice(text.length - n))) return n;
  return 0;
}
