// Problem sets from files: a recipe's `dataset:` → training and held-out Examples.
//
//   dataset: data/gsm8k                       # a bare string is {path}
//   dataset:
//     path: data/gsm8k                        # a file (.jsonl .json .parquet) or a Hugging Face dataset folder
//     config: main                            # the hub config subfolder (gsm8k: main | socratic)
//     split: train
//     eval_split: test                        # or eval_path: a separate file/folder, or eval_fraction / eval_size
//     eval_size: 200                          # with eval_split/eval_path: a seeded sample of that many
//     template: "{question}\nPut the final answer in \\boxed{}."
//     system_prompt: "You are a careful mathematician."
//     answer: auto                            # gsm8k "#### n" | boxed \boxed{…} | none | auto
//     columns: {prompt: query, answer: label}
//     reward_by_source: {openai/gsm8k: math, countdown: countdown}
//
// Everything is read and checked before the function returns: a bad row stops the run before any work,
// with the file, row and column named (DatasetError). docs/datasets.md describes every key.
import { z } from "zod";
import type { Example } from "../tasks/types.js";
import { makeRng, mixSeed } from "../tasks/rng.js";
import type { TaskSplit } from "../tasks/splits.js";
import { getReward } from "../rewards/registry.js";
import { defaultVerifier } from "../rewards/by-source.js";
import { ANSWER_EXTRACTORS } from "./answers.js";
import { DatasetError, readTable, resolveDataFiles } from "./files.js";
import { CANONICAL_COLUMNS, rowToExample, wantedColumns, type CanonicalColumn, type ColumnMap, type RowOptions } from "./rows.js";

export { DatasetError } from "./files.js";

const ColumnsSchema = z.object(Object.fromEntries(CANONICAL_COLUMNS.map(c => [c, z.string().min(1).nullable().optional()])) as Record<CanonicalColumn, z.ZodOptional<z.ZodNullable<z.ZodString>>>).strict();

const DatasetObjectSchema = z.object({
  /** A file (.jsonl, .json, .parquet) or a folder in the Hugging Face hub layout; relative to the recipe. */
  path: z.string().min(1),
  /** The split to train on (folders only). */
  split: z.string().min(1).default("train"),
  /** The hub config (subfolder), e.g. gsm8k's "main". */
  config: z.string().min(1).optional(),
  /** canonical name → the file's column (dotted paths reach into structs); null ignores a column. */
  columns: ColumnsSchema.optional(),
  /** A system turn put before every prompt (rows that have their own system turn keep it). */
  system_prompt: z.string().optional(),
  /** The user turn, with {question} (and {column}) placeholders; {{ }} are literal braces. */
  template: z.string().optional(),
  /** How the gold answer is reduced from the answer/solution column. */
  answer: z.enum(ANSWER_EXTRACTORS).default("auto"),
  /** Held-out problems from a separate file or folder … */
  eval_path: z.string().min(1).optional(),
  /** … or from another split of the same folder (e.g. "test"). */
  eval_split: z.string().min(1).optional(),
  /** Held-out problems carved from the training rows: a fraction (0, 1) … */
  eval_fraction: z.number().gt(0).lt(1).optional(),
  /** … or a count; with eval_path/eval_split, a seeded sample of that many eval rows. */
  eval_size: z.number().int().positive().optional(),
  /** Seed of the eval draw. */
  seed: z.number().int().default(42),
  /** Read only the first `limit` training rows (before any eval rows are carved from them). */
  limit: z.number().int().positive().optional(),
  /** data_source → reward name, scored per row by the `by_source` reward; "*" matches every other source. */
  reward_by_source: z.record(z.string(), z.string().min(1)).optional(),
}).strict();

/** A recipe's `dataset:` value; a bare string is `{path}`. */
export const DatasetConfigSchema = z.preprocess(v => (typeof v === "string" ? { path: v } : v), DatasetObjectSchema);
export type DatasetConfig = z.output<typeof DatasetObjectSchema>;
export type DatasetConfigInput = string | z.input<typeof DatasetObjectSchema>;

export interface LoadedDataset {
  train: Example[];
  eval: Example[];
  /** What was read, for logs: files of each side, and training rows dropped because they are eval problems. */
  info: { train_files: string[]; eval_files: string[]; train_rows_read: number; dropped_overlap: number };
}

/** The key of a problem for disjointness: its question, whitespace-normalised (computed once per Example). */
const keys = new WeakMap<Example, string>();
function problemKey(e: Example): string {
  let k = keys.get(e);
  if (k === undefined) {
    k = /[^\S ]| {2}|^ | $/.test(e.question) ? e.question.replace(/\s+/g, " ").trim() : e.question;
    keys.set(e, k);
  }
  return k;
}

function readExamples(files: string[], o: RowOptions, limit: number | undefined): Example[] {
  const out: Example[] = [];
  for (const file of files) {
    if (limit !== undefined && out.length >= limit) break;
    const t = readTable(file, limit === undefined ? undefined : limit - out.length, wantedColumns(o));
    if (t.rows.length === 0) throw new DatasetError(`${file}: no rows; a dataset file needs at least one row`);
    t.rows.forEach((r, i) => out.push(rowToExample(r, { file, row: t.rowLabel(i), columns: t.columns }, o)));
  }
  return out;
}

/** Fisher–Yates with the project's seeded RNG. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const rng = makeRng(seed);
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Distinct problems (by id and by question), first occurrence kept. */
function distinct(xs: readonly Example[]): Example[] {
  const ids = new Set<string>(), keys = new Set<string>();
  return xs.filter(e => {
    const k = problemKey(e);
    if (ids.has(e.id) || keys.has(k)) return false;
    ids.add(e.id); keys.add(k);
    return true;
  });
}

function verifierLookup(map: Record<string, string> | undefined): RowOptions["verifiers"] {
  if (!map) return undefined;
  for (const [source, name] of Object.entries(map)) {
    if (name === "by_source") throw new DatasetError(`dataset reward_by_source: "${source}" maps to by_source itself; name the verifier (math, countdown, code, …)`);
    try {
      getReward(name);
    } catch (e) {
      throw new DatasetError(`dataset reward_by_source: "${source}" → ${(e as Error).message}`);
    }
  }
  return source => (source !== undefined ? (Object.hasOwn(map, source) ? map[source] : defaultVerifier(source)) : undefined) ?? map["*"];
}

/**
 * Reads a dataset and its held-out split. Synchronous (Parquet is read in a worker thread while this one waits);
 * throws DatasetError, naming file, row and column, on the first bad row of either side.
 */
export function loadDataset(cfg: DatasetConfigInput | DatasetConfig, opts: { baseDir?: string } = {}): LoadedDataset {
  const parsed = DatasetConfigSchema.safeParse(cfg);
  if (!parsed.success)
    throw new DatasetError(`dataset: ${parsed.error.issues.map(i => `${i.path.join(".") || "value"}: ${i.message}`).join("; ")}; see docs/datasets.md for the keys`);
  const c = parsed.data;
  const carve = c.eval_fraction !== undefined || (c.eval_size !== undefined && c.eval_path === undefined && c.eval_split === undefined);
  if (c.eval_fraction !== undefined && c.eval_size !== undefined) throw new DatasetError("dataset: eval_fraction and eval_size both set; give one");
  if (c.eval_fraction !== undefined && (c.eval_path !== undefined || c.eval_split !== undefined))
    throw new DatasetError("dataset: eval_fraction carves eval rows from the training split, so it cannot be combined with eval_path/eval_split; use eval_size to sample the eval split");
  if (c.eval_split !== undefined && (c.eval_path ?? c.path) === c.path && c.eval_split === c.split)
    throw new DatasetError(`dataset: eval_split "${c.eval_split}" is the training split; held-out problems must come from another split or file`);

  const o: RowOptions = {
    columns: (c.columns ?? {}) as ColumnMap, answer: c.answer, system_prompt: c.system_prompt, template: c.template,
    verifiers: verifierLookup(c.reward_by_source), idPrefix: "data:",
  };
  const baseDir = opts.baseDir ?? process.cwd();
  const trainFiles = resolveDataFiles(c.path, c.split, c.config, baseDir);
  let train = readExamples(trainFiles, o, c.limit);
  const trainRowsRead = train.length;

  let evalFiles: string[] = [];
  let evalSet: Example[] = [];
  if (c.eval_path !== undefined || c.eval_split !== undefined) {
    const evalPath = c.eval_path ?? c.path;
    evalFiles = resolveDataFiles(evalPath, c.eval_split ?? c.split, c.config, baseDir);
    const shared = evalFiles.filter(f => trainFiles.includes(f));
    if (shared.length)
      throw new DatasetError(`dataset: the eval rows would come from the training file${shared.length > 1 ? "s" : ""} ${shared.join(", ")}; give eval_path/eval_split another file or split, or carve eval rows with eval_fraction/eval_size`);
    evalSet = distinct(readExamples(evalFiles, o, undefined));
    if (c.eval_size !== undefined) {
      if (evalSet.length < c.eval_size) throw new DatasetError(`dataset: eval_size ${c.eval_size} but ${evalFiles.join(", ")} hold only ${evalSet.length} distinct problems`);
      evalSet = shuffled(evalSet, c.seed).slice(0, c.eval_size);
    }
  } else if (carve) {
    const problems = distinct(train);
    const n = c.eval_size ?? Math.max(1, Math.round(c.eval_fraction! * problems.length));
    if (n >= problems.length)
      throw new DatasetError(`dataset: ${n} eval problems asked of ${problems.length} distinct problems in ${trainFiles.join(", ")}; nothing would be left to train on; lower eval_size/eval_fraction`);
    evalSet = shuffled(problems, c.seed).slice(0, n);
  }

  // training never sees a held-out problem: not its id, not its question
  const evalIds = new Set(evalSet.map(e => e.id)), evalKeys = new Set(evalSet.map(problemKey));
  const before = train.length;
  train = train.filter(e => !evalIds.has(e.id) && !evalKeys.has(problemKey(e)));
  if (train.length === 0)
    throw new DatasetError(`dataset: every training row (${before}) is also an eval problem; the train and eval files hold the same problems`);
  return { train, eval: evalSet, info: { train_files: trainFiles, eval_files: evalFiles, train_rows_read: trainRowsRead, dropped_overlap: before - train.length } };
}

/**
 * A loaded dataset in the shape procedural tasks give trainers (TaskSplit): `eval` as loaded, and `train(i)` the
 * i-th training problem, walking the rows epoch by epoch, each epoch in its own seeded order (file order with
 * shuffle: false). Position i depends only on (rows, seed, i), so a resumed run recomputes it without replay.
 */
export function datasetSplit(ds: { train: readonly Example[]; eval: readonly Example[] }, opts: { seed?: number; shuffle?: boolean } = {}): TaskSplit {
  const n = ds.train.length;
  if (n === 0) throw new DatasetError("dataset: no training rows");
  const seed = opts.seed ?? 0, shuffle = opts.shuffle ?? true;
  let epoch = -1, order: number[] = [];
  return {
    eval: [...ds.eval],
    train: (i: number) => {
      const e = Math.floor(i / n);
      if (shuffle && e !== epoch) { order = shuffled(Array.from({ length: n }, (_, k) => k), mixSeed(seed, e)); epoch = e; }
      return ds.train[shuffle ? order[i % n] : i % n];
    },
  };
}

/**
 * An SFT row of an Example that carries a completion, in TRL's two shapes (what src/train/sft-data.ts reads):
 * a plain prompt with a text completion stays {prompt, completion}; a chat prompt, or a chat completion, becomes
 * {messages} with the completion's assistant turn(s) last. undefined when the Example has no completion.
 *   completionRow({question: "2+2?", completion: "4", …})                      // {prompt: "2+2?", completion: "4"}
 *   completionRow({messages: [{role: "user", content: "2+2?"}], completion: [{role: "assistant", content: "4"}], …})
 *                                                                              // {messages: [user, assistant]}
 */
export function completionRow(ex: Example): { prompt: string; completion: string } | { messages: { role: string; content: string }[] } | undefined {
  const c = ex.completion;
  if (c === undefined) return undefined;
  if (typeof c === "string" && !ex.messages) return { prompt: ex.question, completion: c };
  const prompt = ex.messages ?? [{ role: "user", content: ex.question }];
  return { messages: [...prompt, ...(typeof c === "string" ? [{ role: "assistant", content: c }] : c)] };
}
