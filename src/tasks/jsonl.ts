import { readFileSync } from "node:fs";
import { TaskError, type Example } from "./types.js";
import { parseJsonlTable } from "../data/files.js";
import { rowToExample } from "../data/rows.js";

/**
 * JSONL problem sets for `move37 eval --task file.jsonl`, one problem per line, read by the dataset module
 * (src/data, docs/datasets.md) with its default columns:
 *   {"prompt": "What is 2+2?", "answer": "4"}           ("question"/"problem" are accepted for "prompt")
 *   {"messages": [{"role": "user", "content": "What is 2+2?"}], "answer": "4"}
 *   {"question": "…", "answer": "…\n#### 72"}            (GSM8K: the gold becomes "72"; MATH's \boxed{} likewise)
 * plus optional countdown fields {"numbers": [..], "target": n}. Numeric answers become text. Errors are
 * DatasetErrors (a TaskError) naming the file, the line and the column. Recipes use `dataset:` (loadDataset).
 */
export function parseJsonl(text: string, source = "dataset"): Example[] {
  const table = parseJsonlTable(text, source);
  if (table.rows.length === 0) throw new TaskError(`${source}: no rows; a JSONL dataset needs one JSON object per line`);
  return table.rows.map((r, i) => rowToExample(r, { file: source, row: table.rowLabel(i) }, { columns: {}, answer: "auto", idPrefix: "jsonl:" }));
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
