// Training data files of one JSON object a line (SFT rows, preference pairs), checked row by row against a schema.
import { readFileSync } from "node:fs";
import type { z } from "zod";

/** How one kind of data file is checked and how its errors read. */
export interface JsonlRowFormat<S extends z.ZodType> {
  schema: S;
  /** What the file holds, for "cannot read <what> <path>". */
  what: string;
  /** The accepted row forms, for "<source>:<line>: expected <expected>". */
  expected: string;
  /** Said of a file without rows: "<source>: <empty>". */
  empty: string;
  /** The trainer's named error class. */
  error: (message: string) => Error;
}

/** The rows of JSONL `text`, blank lines skipped; the first bad line, or no row at all, throws naming `source`:line. */
export function parseJsonlRows<S extends z.ZodType>(text: string, source: string, f: JsonlRowFormat<S>): z.output<S>[] {
  const rows: z.output<S>[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let raw: unknown;
    try { raw = JSON.parse(line); } catch (e) {
      throw f.error(`${source}:${i + 1}: not valid JSON (${(e as Error).message}); each line must be one JSON object`);
    }
    const r = f.schema.safeParse(raw);
    if (!r.success) throw f.error(`${source}:${i + 1}: expected ${f.expected}`);
    rows.push(r.data);
  });
  if (rows.length === 0) throw f.error(`${source}: ${f.empty}`);
  return rows;
}

export function readJsonlRows<S extends z.ZodType>(path: string, f: JsonlRowFormat<S>): z.output<S>[] {
  let text: string;
  try { text = readFileSync(path, "utf8"); } catch (e) {
    throw f.error(`cannot read ${f.what} ${path}: ${(e as Error).message}`);
  }
  return parseJsonlRows(text, path, f);
}
