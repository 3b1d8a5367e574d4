/**
 * Tool-call formats: how a model family is shown its tools, how its turn is read as text plus calls, and how tool
 * results are written back. One home for the GRPO episodes (src/env/episode.ts) and `move37 serve`'s tools.
 *
 *   hermes  Qwen2.5/Qwen3 (Hermes style): the chat template lists the tools in <tools></tools>; the model writes
 *           <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call> (several allowed) and ends its turn; results come
 *           back as a user turn of <tool_response>…</tool_response> blocks (role "tool" in the messages).
 *   llama3  Llama 3.1/3.2 JSON tool calls: the template lists the tools as JSON; the model's whole turn is
 *           {"name": …, "parameters": {…}}; the result is an "ipython" turn (role "tool" in the messages).
 *   tags    a plain format for byte-level tiny models without a chat template: <call>NAME ARGS</call>, where ARGS is
 *           a JSON object or, for a tool with one string argument, the raw text (<call>calculator 12*34</call>);
 *           generation stops at </call> and the result follows as <result>…</result>, in the same turn.
 *
 * Nothing here throws on what a model wrote: a malformed call becomes a ParsedTurn error, which the episode turns
 * into an error result the model reads (and a metric).
 */
import type { Tokenizer } from "../tokenizer/types.js";
import { renderChat, type ChatMessage } from "../tokenizer/chat-template.js";
import { errorResult, toolSchemas, type Tool, type ToolCall, type ToolResult, type ToolSchema } from "./tools.js";

export type ToolFormat = "hermes" | "llama3" | "tags";
export const TOOL_FORMATS: readonly ToolFormat[] = ["hermes", "llama3", "tags"];

export class ToolFormatError extends Error {
  constructor(message: string) { super(message); this.name = "ToolFormatError"; }
}

/** Whether a chat template reads the `tools` variable in a Jinja tag (SmolLM3's reads `xml_tools`, Gemma 3's none). */
export function templateTakesTools(template: string | null): boolean {
  for (const m of (template ?? "").matchAll(/\{[%{]([\s\S]*?)[%}]\}/g)) {
    const code = m[1].replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, "''"); // string literals may mention <tools>
    if (/(?<![\w.])tools\b/.test(code)) return true;
  }
  return false;
}

/**
 * The format a tokenizer's chat template speaks: hermes for <tool_call> templates, llama3 for ipython ones, both only
 * when the template takes `tools`; else tags.
 */
export function detectToolFormat(tok: Pick<Tokenizer, "chatTemplate">): ToolFormat {
  const t = tok.chatTemplate ?? "";
  if (!templateTakesTools(t)) return "tags";
  if (t.includes("<tool_call>")) return "hermes";
  if (t.includes("ipython")) return "llama3";
  return "tags";
}

/** A message with the fields chat templates read for tools (OpenAI's shape). */
export interface ToolMessage extends ChatMessage {
  tool_calls?: { type: "function"; id?: string; function: { name: string; arguments: unknown } }[];
  tool_call_id?: string;
  name?: string;
}

/** A model turn read by a format: the text besides the calls, the calls, and what could not be read as a call. */
export interface ParsedTurn {
  content: string;
  calls: ToolCall[];
  /** One error result per malformed call (bad JSON, no name), in order; the model reads them like results. */
  errors: ToolResult[];
}

export interface RenderPromptOptions {
  /** A template variable set, e.g. {enable_thinking: false}. */
  extra?: Record<string, unknown>;
  addGenerationPrompt?: boolean;
}

/**
 * The prompt text: the messages through the family's chat template with `tools` set (hermes, llama3), or for tags
 * a plain tool list (toolsPreamble) before the user's text. With no tools, the template's own prompt.
 */
export function renderToolPrompt(format: ToolFormat, tok: Tokenizer, messages: readonly ToolMessage[], tools: readonly Tool[] | readonly ToolSchema[], o: RenderPromptOptions = {}): string {
  const schemas = asSchemas(tools);
  if (format === "tags") {
    const pre = schemas.length ? toolsPreamble(schemas) : "";
    return pre + messages.map(m => m.content).join("\n");
  }
  if (schemas.length && !templateTakesTools(tok.chatTemplate))
    throw new ToolFormatError(`the ${format} format shows tools through the chat template's \`tools\` variable, and this template has none: use format tags (or auto)`);
  return renderChat(tok, messages, { addGenerationPrompt: o.addGenerationPrompt ?? true, extra: { ...o.extra, ...(schemas.length ? { tools: schemas } : {}) } });
}

function asSchemas(tools: readonly Tool[] | readonly ToolSchema[]): ToolSchema[] {
  return tools.map(t => ("type" in t && t.type === "function" ? t as ToolSchema : toolSchemas([t as Tool])[0]));
}

/** The tags format's tool list: one line per tool with its call syntax. */
export function toolsPreamble(tools: readonly ToolSchema[]): string {
  const lines = tools.map(t => {
    const props = Object.keys((t.function.parameters.properties ?? {}) as object);
    const arg = props.length === 1 ? props[0].toUpperCase() : props.length ? "{JSON}" : "";
    return `<call>${t.function.name}${arg ? ` ${arg}` : ""}</call> ${t.function.description}`;
  });
  return `Tools:\n${lines.join("\n")}\n`;
}

/** Strings that end a model turn that made a call (the sampler's `stop`); hermes and llama3 end turns with EOS. */
export function callStopStrings(format: ToolFormat): string[] {
  return format === "tags" ? [TAG_CLOSE] : [];
}

const TAG_OPEN = "<call>", TAG_CLOSE = "</call>";
const HERMES = /<tool_call>([\s\S]*?)(<\/tool_call>|$)/g;

function readJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  try { return { ok: true, value: JSON.parse(text) }; } catch (e) { return { ok: false, message: (e as Error).message }; }
}

/** {name, arguments|parameters} → a call; anything else → an error result. */
function callFromObject(v: unknown, raw: string): ToolCall | ToolResult {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return errorResult("", "bad_json", `a tool call must be a JSON object {"name": ..., "arguments": {...}}, got ${clip(raw)}`);
  const o = v as Record<string, unknown>;
  if (typeof o.name !== "string" || !o.name) return errorResult("", "bad_json", `the tool call has no "name": ${clip(raw)}`);
  let args: unknown = o.arguments ?? o.parameters ?? {};
  if (typeof args === "string") { // OpenAI style: arguments as a JSON string
    const j = readJson(args);
    if (!j.ok) return errorResult(o.name, "bad_json", `the arguments of ${o.name} are not valid JSON: ${j.message}`);
    args = j.value;
  }
  return { name: o.name, arguments: args };
}

const clip = (s: string) => JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}…` : s);
const isResult = (x: ToolCall | ToolResult): x is ToolResult => "error" in x;

/**
 * Reads a model turn (its text, without the EOS) into content and calls. `tools` lets the tags format give a raw
 * argument to a tool's single string parameter; other formats only parse.
 */
export function parseToolCalls(format: ToolFormat, text: string, tools: readonly Tool[] | readonly ToolSchema[] = []): ParsedTurn {
  const calls: ToolCall[] = [], errors: ToolResult[] = [];
  const add = (x: ToolCall | ToolResult) => { if (isResult(x)) errors.push(x); else calls.push(x); };
  if (format === "hermes") {
    let content = "", last = 0;
    for (const m of text.matchAll(HERMES)) {
      content += text.slice(last, m.index);
      last = m.index! + m[0].length;
      if (!m[2]) { errors.push(errorResult("", "bad_json", `<tool_call> is not closed with </tool_call>: ${clip(m[1])}`)); continue; }
      const j = readJson(m[1].trim());
      add(j.ok ? callFromObject(j.value, m[1].trim()) : errorResult("", "bad_json", `the tool call is not valid JSON (${j.message}): ${clip(m[1].trim())}`));
    }
    content += text.slice(last);
    return { content: content.trim(), calls, errors };
  }
  if (format === "llama3") {
    const body = text.replace(/^\s*<\|python_tag\|>/, "").trim();
    if (!body.startsWith("{")) return { content: text.trim(), calls, errors };
    const j = readJson(body);
    add(j.ok ? callFromObject(j.value, body) : errorResult("", "bad_json", `the tool call is not valid JSON (${j.message}): ${clip(body)}`));
    return { content: "", calls, errors };
  }
  // tags
  let content = "", at = 0;
  for (;;) {
    const i = text.indexOf(TAG_OPEN, at);
    if (i < 0) { content += text.slice(at); break; }
    content += text.slice(at, i);
    const j = text.indexOf(TAG_CLOSE, i);
    const inner = text.slice(i + TAG_OPEN.length, j < 0 ? text.length : j).trim();
    at = j < 0 ? text.length : j + TAG_CLOSE.length;
    if (j < 0) { errors.push(errorResult("", "bad_json", `${TAG_OPEN} is not closed with ${TAG_CLOSE}`)); continue; }
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)\s*([\s\S]*)$/.exec(inner);
    if (!m) { errors.push(errorResult("", "bad_json", `a call starts with the tool's name: ${TAG_OPEN}NAME ARGS${TAG_CLOSE}, got ${clip(inner)}`)); continue; }
    const [, name, rest] = m;
    if (rest.startsWith("{")) {
      const p = readJson(rest);
      add(p.ok ? { name, arguments: p.value } : errorResult(name, "bad_json", `the arguments of ${name} are not valid JSON (${p.message})`));
      continue;
    }
    const tool = asSchemas(tools).find(t => t.function.name === name);
    const keys = tool ? Object.keys((tool.function.parameters.properties ?? {}) as object) : [];
    add({ name, arguments: keys.length === 1 ? { [keys[0]]: rest } : rest === "" ? {} : { input: rest } });
  }
  return { content: content.trim(), calls, errors };
}

/** The assistant message a parsed turn stands for (OpenAI's shape: the template renders it, `serve` returns it). */
export function assistantMessage(turn: ParsedTurn, idPrefix = "call"): ToolMessage {
  const m: ToolMessage = { role: "assistant", content: turn.content };
  if (turn.calls.length) m.tool_calls = turn.calls.map((c, i) => ({ type: "function", id: `${idPrefix}_${i}`, function: { name: c.name, arguments: c.arguments } }));
  return m;
}

const MARK = "\u0001m37-turn-end\u0001";

/** What the environment says after a model turn: tool results, or feedback as a user turn. */
export interface FollowUp { role: "tool" | "user"; content: string }

/**
 * The text that follows a model turn (its EOS already written) up to where the model writes again. hermes and llama3:
 * the template's own rendering of the `tool` (or `user`) messages and the next assistant header, read off the template
 * by rendering a conversation and cutting after the assistant turn's EOS (so no prefix of the template has to be
 * re-rendered the same way, the reason TRL patches Qwen3's template). tags: `<result>…</result>` per tool result, and
 * ` User: … Assistant:` for feedback.
 */
export function renderFollowUp(format: ToolFormat, tok: Tokenizer, turns: readonly FollowUp[], o: { extra?: Record<string, unknown> } = {}): string {
  if (format === "tags") return turns.map(t => (t.role === "tool" ? `<result>${t.content}</result>` : ` User: ${t.content} Assistant:`)).join("");
  const eos = tok.eosToken;
  if (!tok.chatTemplate || !eos) throw new ToolFormatError(`the ${format} format renders tool results with the model's chat template and EOS token, and this tokenizer has ${tok.chatTemplate ? "no EOS token" : "no chat template"}: use format tags`);
  const messages: ToolMessage[] = [{ role: "user", content: "q" }, { role: "assistant", content: MARK }, ...turns];
  const text = renderChat(tok, messages, { addGenerationPrompt: true, extra: o.extra });
  const end = text.indexOf(MARK + eos);
  if (end < 0) throw new ToolFormatError(`the chat template does not end an assistant turn with its EOS token ${eos}: use format tags or a template that does`);
  return text.slice(end + MARK.length + eos.length);
}

/** The text after a model turn that made calls: its results as the family writes them (renderFollowUp with tool turns). */
export function renderToolResults(format: ToolFormat, tok: Tokenizer, results: readonly Pick<ToolResult, "content">[], o: { extra?: Record<string, unknown> } = {}): string {
  return renderFollowUp(format, tok, results.map(r => ({ role: "tool", content: r.content })), o);
}

/** JSON as Python's json.dumps writes it (", " and ": " separators), which transformers' `tojson` uses. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pyJson).join(", ")}]`;
  if (v !== null && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pyJson(x)}`).join(", ")}}`;
  return JSON.stringify(v) ?? "null";
}

/** The text a model writes for calls, in the format, as the family's template renders a past call (SFT traces, tests). */
export function renderToolCalls(format: ToolFormat, calls: readonly ToolCall[]): string {
  if (format === "hermes") return calls.map(c => `<tool_call>\n{"name": ${JSON.stringify(c.name)}, "arguments": ${pyJson(c.arguments)}}\n</tool_call>`).join("\n");
  if (format === "llama3") {
    if (calls.length !== 1) throw new ToolFormatError(`Llama 3 writes one tool call per turn, got ${calls.length}`);
    return `{"name": "${calls[0].name}", "parameters": ${pyJson(calls[0].arguments)}}`;
  }
  return calls.map(c => `${TAG_OPEN}${c.name} ${pyJson(c.arguments)}${TAG_CLOSE}`).join("");
}

/**
 * A conversation with tool turns as the pieces an episode is made of: the prompt (the messages before the first
 * assistant turn, with the tools), then each assistant turn as the model writes it in the format (its content and
 * calls, then EOS; trained) and the tool or user turns after it as renderFollowUp writes them (not trained). SFT on
 * such pieces trains exactly the text GRPO episodes sample, whatever the template does with earlier turns (Qwen3's
 * drops reasoning and adds an empty think block to the last turn, so its renderings are not prefixes of each other).
 * Messages after the last assistant turn are left out (nothing follows them to train).
 */
export function episodePieces(format: ToolFormat, tok: Tokenizer, messages: readonly ToolMessage[], o: { tools?: readonly Tool[] | readonly ToolSchema[]; extra?: Record<string, unknown> } = {}): { text: string; train: boolean }[] {
  const first = messages.findIndex(m => m.role === "assistant");
  if (first < 0) throw new ToolFormatError("the conversation has no assistant turn: there is nothing to train on");
  const last = messages.map(m => m.role).lastIndexOf("assistant");
  const eos = format === "tags" ? null : tok.eosToken;
  if (format !== "tags" && !eos) throw new ToolFormatError(`the ${format} format ends turns with the EOS token, and this tokenizer has none`);
  const pieces: { text: string; train: boolean }[] = [{ text: renderToolPrompt(format, tok, messages.slice(0, first), o.tools ?? [], { extra: o.extra }), train: false }];
  let follow: FollowUp[] = [];
  for (let i = first; i <= last; i++) {
    const m = messages[i];
    if (m.role !== "assistant") {
      if (m.role !== "tool" && m.role !== "user") throw new ToolFormatError(`message ${i} has role "${m.role}": after the first assistant turn an episode has assistant, tool and user turns`);
      follow.push({ role: m.role === "tool" ? "tool" : "user", content: m.content });
      continue;
    }
    if (follow.length) { pieces.push({ text: renderFollowUp(format, tok, follow, { extra: o.extra }), train: false }); follow = []; }
    const calls = (m.tool_calls ?? []).map(c => ({ name: c.function.name, arguments: typeof c.function.arguments === "string" ? JSON.parse(c.function.arguments) : c.function.arguments }));
    const written = calls.length === 0 ? m.content
      : format === "llama3" ? renderToolCalls(format, calls)
      : `${m.content}${m.content && format === "hermes" ? "\n" : ""}${renderToolCalls(format, calls)}`;
    pieces.push({ text: written + (eos ?? (i === last ? tok.eosToken ?? "" : "")), train: true });
  }
  return pieces.filter(p => p.text !== "");
}
