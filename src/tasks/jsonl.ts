import { readFileSync } from "node:fs";
import { z } from "zod";
import { TaskError, type Example } from "./types.js";

/**
 * JSONL datasets, one problem per line, either
 *   {"prompt": "What is 2+2?", "answer": "4"}           ("question" is accepted for "prompt")
 *   {"messages": [{"role": "user", "content": "What is 2+2?"}], "answer": "4"}
 * plus optional countdown fields {"numbers": [..], "target": n}. Numeric answers become text.
 */
const Message = z.object({ role: z.string(), content: z.string() });
const Row = z
  .object({
    prompt: z.union([z.string(), z.array(Message)]).optional(),
    question: z.string().optional(),
    messages: z.array(Message).min(1).optional(),
    answer: z.union([z.string(), z.number()]),
    numbers: z.array(z.number()).optional(),
    target: z.number().optional(),
    id: z.union([z.string(), z.number()]).optional(),
  })
  .passthrough();

export function parseJsonl(text: string, source = "dataset"): Example[] {
  const out: Example[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${source}:${i + 1}`;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new TaskError(`${where}: not valid JSON (${(e as Error).message}); each line must be one JSON object`);
    }
    const r = Row.safeParse(raw);
    if (!r.success) throw new TaskError(`${where}: ${r.error.issues.map(x => `${x.path.join(".") || "row"}: ${x.message}`).join("; ")}; expected {prompt, answer} or {messages, answer}`);
    const row = r.data;
    const messages = row.messages ?? (Array.isArray(row.prompt) ? row.prompt : undefined);
    const text = typeof row.prompt === "string" ? row.prompt : row.question;
    if (!messages && text === undefined) throw new TaskError(`${where}: no "prompt", "question" or "messages" field`);
    const question = text ?? [...messages!].reverse().find(m => m.role === "user")?.content ?? messages![messages!.length - 1].content;
    const ex: Example = { id: row.id !== undefined ? String(row.id) : `jsonl:${messages ? JSON.stringify(messages) : question}`, question, answer: String(row.answer) };
    if (messages) ex.messages = messages;
    if (row.numbers) ex.numbers = row.numbers;
    if (row.target !== undefined) ex.target = row.target;
    out.push(ex);
  });
  if (out.length === 0) throw new TaskError(`${source}: no rows; a JSONL dataset needs one JSON object per line`);
  return out;
}

export function loadJsonl(path: string): Example[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new TaskError(`cannot read dataset ${path}: ${(e as Error).message}`);
  }
  return parseJsonl(text, path);
}
