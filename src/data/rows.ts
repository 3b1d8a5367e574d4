// One raw row (a JSON object or a Parquet row, nested columns as objects) → an Example.
//
// Columns recognised without configuration, first match wins:
//   prompt      `prompt` (string or chat list [{role, content}]), `messages` (chat list), `question`, `problem`
//   answer      `answer`, `reward_model.ground_truth` (verl), `ground_truth`, `solution` (reduced by the extractor)
//   completion  `completion` (SFT target: string or chat list); a `messages` list ending in assistant turns
//               gives its trailing turns as the completion
//   other       `id`, `data_source`, `ability`, `extra_info`, `tests`, `language`, `numbers`/`nums`, `target`
// `columns:` maps a canonical name to another column (a dotted path reaches into a struct: "meta.question"),
// or to null to ignore a column the file has.
import type { Example } from "../tasks/types.js";
import { extractAnswer, type AnswerExtractor } from "./answers.js";
import { DatasetError } from "./files.js";

export const CANONICAL_COLUMNS = ["id", "prompt", "question", "messages", "answer", "solution", "completion", "data_source", "ability", "extra_info", "tests", "language", "numbers", "target"] as const;
export type CanonicalColumn = (typeof CANONICAL_COLUMNS)[number];
export type ColumnMap = Partial<Record<CanonicalColumn, string | null>>;

export interface RowOptions {
  columns: ColumnMap;
  answer: AnswerExtractor;
  system_prompt?: string;
  template?: string;
  /** data_source → reward name, already merged with the built-in map; undefined: no per-row verifier. */
  verifiers?: (source: string | undefined) => string | undefined;
  /** Prefix of content-derived ids ("data:"; the legacy JSONL reader uses "jsonl:"). */
  idPrefix: string;
}

type Chat = { role: string; content: string }[];

/** Where a message is about: "file: row 3, column "prompt""; `columns`: every column the file has, if known. */
export interface RowPlace { file: string; row: string; columns?: string[] }

const where = (p: RowPlace, column?: string) => `${p.file}: ${p.row}${column ? `, column "${column}"` : ""}`;
/** "a string", "an object", "a list", "null": what a value is, for messages. */
const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "a list" : typeof v === "object" ? "an object" : typeof v === "undefined" ? "nothing" : `a ${typeof v}`);

/** A value at a dotted path ("reward_model.ground_truth"); a key with a dot in it is found whole first. */
function at(row: Record<string, unknown>, path: string): unknown {
  if (path in row) return row[path];
  let v: unknown = row;
  for (const k of path.split(".")) {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Parquet INT64 arrives as bigint, binary as Uint8Array, timestamps as Date: make rows plain JSON values. */
export function plain(v: unknown): unknown {
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (Array.isArray(v)) return v.map(plain);
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number>, plain);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Content of a chat turn: a string, or OpenAI-style parts [{type: "text", text}] joined. */
function turnContent(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (Array.isArray(v) && v.every(p => typeof p === "object" && p !== null && typeof (p as { text?: unknown }).text === "string"))
    return v.map(p => (p as { text: string }).text).join("");
  return undefined;
}

/** A chat list stored as JSON text (`json.dumps(messages)` in a string column) → the list; anything else as it is. */
function chatFromText(v: unknown): unknown {
  if (typeof v !== "string" || !/^\s*\[\s*\{/.test(v)) return v;
  try {
    const j = JSON.parse(v);
    return Array.isArray(j) && j.length > 0 && j.every(t => typeof t === "object" && t !== null && "role" in t && "content" in t) ? j : v;
  } catch {
    return v;
  }
}

/** A chat list [{role, content}, …], checked turn by turn. */
function readChat(v: unknown, p: RowPlace, column: string): Chat {
  if (!Array.isArray(v)) throw new DatasetError(`${where(p, column)}: ${kind(v)} where a chat list [{role, content}, …] was expected`);
  if (v.length === 0) throw new DatasetError(`${where(p, column)}: an empty chat list; a prompt needs at least one user turn`);
  return v.map((t, i) => {
    const role = typeof t === "object" && t !== null ? (t as { role?: unknown }).role : undefined;
    const content = typeof t === "object" && t !== null ? turnContent((t as { content?: unknown }).content) : undefined;
    if (typeof role !== "string" || content === undefined)
      throw new DatasetError(`${where(p, column)}: turn ${i + 1} is ${JSON.stringify(t)?.slice(0, 80)}; each turn must be {role: string, content: string}`);
    return { role, content };
  });
}

/** Default source columns of every canonical field. */
const DEFAULTS: Record<CanonicalColumn, string[]> = {
  id: ["id"], prompt: ["prompt", "messages", "question", "problem"], question: [], messages: [],
  answer: ["answer", "reward_model.ground_truth", "ground_truth", "solution"], solution: [], completion: ["completion"],
  data_source: ["data_source"], ability: ["ability"], extra_info: ["extra_info"], tests: ["tests"], language: ["language"],
  numbers: ["numbers", "nums"], target: ["target"],
};

/** Top-level columns a row can be read from under these options (Parquet reads only these). */
export function wantedColumns(o: RowOptions): string[] {
  const paths = [...Object.values(DEFAULTS).flat(), ...Object.values(o.columns).filter((c): c is string => !!c)];
  if (o.template) for (const m of o.template.matchAll(/\{([A-Za-z_][\w.]*)\}/g)) paths.push(m[1]);
  return [...new Set(paths.flatMap(p => [p, p.split(".")[0]]))];
}

/** Candidate source columns of each canonical field, in order (the `columns:` map replaces the defaults). */
function sources(map: ColumnMap, field: CanonicalColumn, defaults: string[]): string[] {
  if (field in map) { const m = map[field]; return m ? [m] : []; }
  return defaults.filter(d => !Object.values(map).includes(d) || d === map[field]);
}

/** First candidate present in the row (not undefined/null), with its column name. */
function pick(row: Record<string, unknown>, cols: string[]): { col: string; value: unknown } | undefined {
  for (const col of cols) {
    const value = at(row, col);
    if (value !== undefined && value !== null) return { col, value };
  }
  return undefined;
}

/** The prompt group: `prompt`/`question`/`messages` mapped in `columns:` all name the one prompt source. */
function promptSources(map: ColumnMap): string[] {
  const mapped = (["prompt", "messages", "question"] as const).filter(k => k in map);
  if (mapped.length) return mapped.map(k => map[k]).filter((c): c is string => !!c);
  return sources(map, "prompt", DEFAULTS.prompt);
}

function answerSources(map: ColumnMap): { cols: string[]; solution: Set<string> } {
  if ("answer" in map || "solution" in map) {
    const cols = [map.answer, map.solution].filter((c): c is string => !!c);
    return { cols, solution: new Set(map.solution ? [map.solution] : []) };
  }
  return { cols: sources(map, "answer", DEFAULTS.answer), solution: new Set(["solution"]) };
}

/** Substitutes {question} and {column} placeholders; {{ and }} are literal braces; \cmd{…} (LaTeX) is left alone. */
export function renderTemplate(template: string, question: string | undefined, row: Record<string, unknown>, p: RowPlace, gold: readonly string[] = []): string {
  return template.replace(/\{\{|\}\}|(?<!\\[A-Za-z]+)\{([A-Za-z_][\w.]*)\}/g, (m, name: string | undefined) => {
    if (m === "{{") return "{";
    if (m === "}}") return "}";
    if (name === "question") {
      if (question === undefined) throw new DatasetError(`${where(p)}: the template uses {question} and the row has no prompt column (it has ${(p.columns ?? Object.keys(row)).map(k => `"${k}"`).join(", ")}); build the prompt from columns only ({column} placeholders) or name the prompt column with columns: {prompt: <column>}`);
      return question;
    }
    if (gold.includes(name!) || gold.some(g => g.startsWith(`${name}.`)))
      throw new DatasetError(`${where(p, name)}: the template's {${name}} would put the gold answer into the prompt; remove it (use {{${name}}} for a literal "{${name}}")`);
    const v = at(row, name!);
    if (typeof v === "string" || typeof v === "number" || typeof v === "bigint") return String(v);
    if (Array.isArray(v) && v.every(x => typeof x === "number" || typeof x === "string" || typeof x === "bigint")) return v.map(String).join(", ");
    throw new DatasetError(`${where(p, name)}: the template's {${name}} needs a string or number column "${name}", and this row has ${v === undefined ? "none" : `${kind(v)}`}; use {question}, a column of the file, or {{ }} for literal braces`);
  });
}

/** A number, or a text cell holding one (CSV). */
function asNumber(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function asNumberList(v: unknown, p: RowPlace, col: string): number[] {
  if (typeof v === "string" && /^\s*\[[\d\s.,-]*\]\s*$/.test(v)) { try { v = JSON.parse(v); } catch { /* reported below */ } } // "[3, 5, 2]" in a text cell
  if (!Array.isArray(v) || !v.every(x => typeof x === "number" && Number.isFinite(x)))
    throw new DatasetError(`${where(p, col)}: ${kind(v)} where a list of numbers was expected`);
  return v as number[];
}

function asTests(v: unknown, p: RowPlace, col: string): Example["tests"] {
  let t = v;
  if (typeof t === "string") { try { t = JSON.parse(t); } catch { /* reported below */ } }
  if (typeof t === "object" && t !== null && !Array.isArray(t)) {
    if ("fn_name" in t) throw new DatasetError(`${where(p, col)}: call-based tests (fn_name "${String((t as { fn_name: unknown }).fn_name)}"), which the code reward does not run; it runs stdin/stdout pairs and assertion snippets`);
    const { inputs, outputs } = t as { inputs?: unknown; outputs?: unknown };
    if (Array.isArray(inputs) && Array.isArray(outputs) && inputs.length === outputs.length && [...inputs, ...outputs].every(x => typeof x === "string"))
      return inputs.map((input, i) => ({ input: input as string, output: outputs[i] as string }));
  }
  if (Array.isArray(t) && t.length > 0 && t.every(x => typeof x === "string" || (typeof x === "object" && x !== null && typeof x.input === "string" && typeof x.output === "string")))
    return t as Example["tests"];
  throw new DatasetError(`${where(p, col)}: tests must be a non-empty list of Python assertion strings, a list of {input, output} strings, or {inputs: [...], outputs: [...]}; got ${kind(v)}`);
}

/** The Example of one raw row; throws DatasetError naming the file, row and column. */
export function rowToExample(raw: Record<string, unknown>, p: RowPlace, o: RowOptions): Example {
  const row = plain(raw) as Record<string, unknown>;
  const map = o.columns;

  // prompt
  const pr = pick(row, promptSources(map));
  if (pr) pr.value = chatFromText(pr.value);
  const { cols: answerCols, solution } = answerSources(map);
  let question: string;
  let chat: Chat | undefined;
  let trailing: Chat | undefined;
  let templated = false; // the question is the rendered template already
  if (!pr) {
    // no prompt column: a template made of other columns is the prompt (TinyZero's countdown rows: nums, target)
    if (o.template === undefined) {
      const tried = promptSources(map);
      throw new DatasetError(`${where(p)}: no prompt column (looked for ${tried.map(c => `"${c}"`).join(", ")}; the row has ${(p.columns ?? Object.keys(row)).map(k => `"${k}"`).join(", ") || "no columns"}); name the prompt column with columns: {prompt: <column>}, or build the prompt from columns with template: (e.g. "Make {target} from {nums}.")`);
    }
    question = renderTemplate(o.template, undefined, row, p, answerCols);
    templated = true;
  } else if (typeof pr.value === "string") {
    question = pr.value;
    if (!question.trim()) throw new DatasetError(`${where(p, pr.col)}: an empty prompt`);
  } else if (Array.isArray(pr.value)) {
    const turns = readChat(pr.value, p, pr.col);
    const lastUser = turns.map(t => t.role).lastIndexOf("user");
    if (lastUser < 0) throw new DatasetError(`${where(p, pr.col)}: the chat list has no user turn (roles: ${turns.map(t => t.role).join(", ")}); a prompt needs a {role: "user", content} turn`);
    chat = turns.slice(0, lastUser + 1);
    if (lastUser + 1 < turns.length) trailing = turns.slice(lastUser + 1);
    question = turns[lastUser].content;
  } else {
    throw new DatasetError(`${where(p, pr.col)}: ${kind(pr.value)} where a prompt string or a chat list [{role, content}, …] was expected`);
  }

  // completion (SFT)
  let completion: Example["completion"];
  const cp = pick(row, sources(map, "completion", DEFAULTS.completion));
  if (cp) cp.value = chatFromText(cp.value);
  if (cp) {
    if (typeof cp.value === "string") completion = cp.value;
    else if (Array.isArray(cp.value)) {
      completion = readChat(cp.value, p, cp.col);
      if (!completion.some(t => t.role === "assistant")) throw new DatasetError(`${where(p, cp.col)}: the completion chat list has no assistant turn`);
    } else throw new DatasetError(`${where(p, cp.col)}: ${kind(cp.value)} where a completion string or chat list was expected`);
  } else if (trailing) completion = trailing;

  // answer
  const ex: Example = { id: "", question, answer: "" };
  const an = pick(row, answerCols);
  if (an) {
    let v = an.value;
    // code rows (prime/verl): ground_truth is a JSON string {"inputs": [...], "outputs": [...]}
    if (typeof v === "string" && /^\s*\{[\s\S]*"inputs"[\s\S]*\}\s*$/.test(v)) {
      try { const j = JSON.parse(v); if (typeof j === "object" && j !== null && "outputs" in j) v = j; } catch { /* a plain answer */ }
    }
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      const text = String(v);
      const gold = extractAnswer(text, o.answer, solution.has(an.col));
      if (gold === undefined || gold === "") {
        const needs = o.answer === "gsm8k" ? `a "#### <answer>" line` : o.answer === "boxed" ? "a \\boxed{…} answer" : `a "#### <answer>" line or a \\boxed{…} answer`;
        throw new DatasetError(`${where(p, an.col)}: ${needs} was expected (answer: ${o.answer}) and the text has none: ${JSON.stringify(text.slice(-80))}; set answer: none to use the text as it is, or point columns: {answer: <column>} at a short-answer column`);
      }
      ex.answer = gold;
    } else if (typeof v === "object" && v !== null && !Array.isArray(v) && "target" in v && ("numbers" in v || "nums" in v)) {
      // verl's countdown rows: ground_truth {target, numbers}
      const g = v as { target: unknown; numbers?: unknown; nums?: unknown };
      const t = asNumber(g.target);
      if (t === undefined) throw new DatasetError(`${where(p, `${an.col}.target`)}: ${kind(g.target)} where a number was expected`);
      ex.target = t;
      ex.numbers = asNumberList(g.numbers ?? g.nums, p, `${an.col}.numbers`);
    } else if (typeof v === "object" && v !== null && !Array.isArray(v) && "inputs" in v && "outputs" in v) {
      ex.tests = asTests(v, p, an.col);
    } else {
      throw new DatasetError(`${where(p, an.col)}: ${kind(v)}${typeof v === "object" && v && !Array.isArray(v) ? ` with keys ${Object.keys(v).join(", ")}` : ""} where the answer was expected: a string or number, {target, numbers} (countdown) or {inputs, outputs} (code tests); map another column with columns: {answer: <column>}`);
    }
  }

  // other columns
  const str = (field: CanonicalColumn): string | undefined => {
    const f = pick(row, sources(map, field, DEFAULTS[field]));
    if (!f) return undefined;
    if (typeof f.value === "string" || typeof f.value === "number") return String(f.value);
    throw new DatasetError(`${where(p, f.col)}: ${kind(f.value)} where a string was expected`);
  };
  const id = str("id");
  const ds = str("data_source");
  if (ds !== undefined) ex.data_source = ds;
  const ability = str("ability");
  if (ability !== undefined) ex.ability = ability;
  const language = str("language");
  if (language !== undefined) ex.language = language;
  const info = pick(row, sources(map, "extra_info", DEFAULTS.extra_info));
  if (info) {
    if (typeof info.value !== "object" || Array.isArray(info.value)) throw new DatasetError(`${where(p, info.col)}: ${kind(info.value)} where an object {…} was expected`);
    ex.extra_info = info.value as Record<string, unknown>;
  }
  const tests = pick(row, sources(map, "tests", DEFAULTS.tests));
  if (tests) ex.tests = asTests(tests.value, p, tests.col);
  const nums = pick(row, sources(map, "numbers", DEFAULTS.numbers));
  if (nums) ex.numbers = asNumberList(nums.value, p, nums.col);
  const target = pick(row, sources(map, "target", DEFAULTS.target));
  if (target) {
    const t = asNumber(target.value);
    if (t === undefined) throw new DatasetError(`${where(p, target.col)}: ${kind(target.value)} where a number was expected`);
    ex.target = t;
  }

  if (!an && ex.target === undefined && ex.tests === undefined && completion === undefined) {
    throw new DatasetError(`${where(p)}: no answer column (looked for ${answerCols.map(c => `"${c}"`).join(", ")}; the row has ${(p.columns ?? Object.keys(row)).map(k => `"${k}"`).join(", ")}); name it with columns: {answer: <column>}, or give SFT rows a "completion"`);
  }
  if (completion !== undefined) ex.completion = completion;

  // id: the file's id column, else the problem itself (equal problems, equal ids)
  ex.id = id ?? `${o.idPrefix}${chat && (chat.length > 1 || trailing) ? JSON.stringify(chat) : question}`;

  // prompt as the model sees it
  if (o.template !== undefined || o.system_prompt !== undefined) {
    const turns: Chat = chat ? chat.map(t => ({ ...t })) : [{ role: "user", content: question }];
    if (o.template !== undefined && !templated) {
      const u = turns.map(t => t.role).lastIndexOf("user");
      turns[u] = { role: "user", content: renderTemplate(o.template, turns[u].content, row, p, answerCols) };
    }
    if (o.system_prompt !== undefined && turns[0].role !== "system") turns.unshift({ role: "system", content: o.system_prompt });
    ex.messages = turns;
  } else if (chat) {
    ex.messages = chat;
  }

  // per-row verifier
  if (o.verifiers) {
    const v = o.verifiers(ex.data_source);
    if (v === undefined)
      throw new DatasetError(`${where(p, "data_source")}: ${ex.data_source === undefined ? "the row has no data_source" : `data_source "${ex.data_source}" has no reward`} in reward_by_source; add it (or a "*" entry for every other source)`);
    ex.verifier = v;
  }
  return ex;
}
