// Test-side writers: JSONL/JSON files and Parquet files made with hyparquet-writer, including the nested
// columns pyarrow writes for verl's rows (prompt: list<struct{role, content}>, reward_model: struct{style,
// ground_truth}, extra_info: struct{split, index}) and several compressions.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { parquetWriteFile } from "hyparquet-writer";

export const tempDir = (): string => mkdtempSync(join(tmpdir(), "m37-data-"));

export function writeText(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

export const writeJsonl = (file: string, rows: unknown[]): string => writeText(file, rows.map(r => JSON.stringify(r)).join("\n") + "\n");

/**
 * A zstd frame of raw (stored) blocks: valid Zstandard (RFC 8878 §3.1) that any decoder reads, so a test can
 * write ZSTD-coded Parquet pages without a zstd encoder. Frame header: magic, descriptor 0xA0 (single
 * segment, 4-byte content size), the size; then blocks of ≤128 KiB, header = last | type raw (0) | size << 3.
 */
export function zstdStored(data: Uint8Array): Uint8Array {
  const MAX = 1 << 17;
  const blocks = Math.max(1, Math.ceil(data.length / MAX));
  const out = new Uint8Array(9 + blocks * 3 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, 0xfd2fb528, true);
  out[4] = 0xa0;
  v.setUint32(5, data.length, true);
  let o = 9;
  for (let b = 0; b < blocks; b++) {
    const chunk = data.subarray(b * MAX, Math.min(data.length, (b + 1) * MAX));
    const h = (b === blocks - 1 ? 1 : 0) | (chunk.length << 3);
    out[o] = h & 0xff; out[o + 1] = (h >> 8) & 0xff; out[o + 2] = (h >> 16) & 0xff;
    out.set(chunk, o + 3);
    o += 3 + chunk.length;
  }
  return out;
}

export type Codec = "UNCOMPRESSED" | "SNAPPY" | "GZIP" | "ZSTD" | "LZO";
const COMPRESSORS = {
  GZIP: (b: Uint8Array) => new Uint8Array(gzipSync(b)),
  ZSTD: zstdStored,
  LZO: (b: Uint8Array) => b, // no reader has it: a file the loader must refuse by name
};

const str = (name: string) => ({ name, type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const, repetition_type: "OPTIONAL" as const });

/** Plain string/number columns (types guessed by the writer). */
export function writeParquet(file: string, columns: Record<string, unknown[]>, codec: Codec = "SNAPPY"): string {
  mkdirSync(dirname(file), { recursive: true });
  parquetWriteFile({
    filename: file, codec, compressors: COMPRESSORS,
    columnData: Object.entries(columns).map(([name, data]) => ({ name, data: data as never })),
    schema: [{ name: "root", num_children: Object.keys(columns).length }, ...Object.entries(columns).map(([name, data]) =>
      typeof data[0] === "number" ? { name, type: "DOUBLE" as const, repetition_type: "OPTIONAL" as const } : str(name))],
  });
  return file;
}

export interface VerlRow {
  data_source: string;
  prompt: { role: string; content: string }[];
  ability: string;
  reward_model: { style: string; ground_truth: string };
  extra_info: { split: string; index: bigint };
}

/** verl's gsm8k rows with pyarrow's nested schema (LIST → repeated "list" → "element" struct). */
export function writeVerlParquet(file: string, rows: VerlRow[], codec: Codec = "SNAPPY"): string {
  mkdirSync(dirname(file), { recursive: true });
  const col = <K extends keyof VerlRow>(k: K) => ({ name: k, data: rows.map(r => r[k]) as never });
  parquetWriteFile({
    filename: file, codec, compressors: COMPRESSORS,
    columnData: [col("data_source"), col("prompt"), col("ability"), col("reward_model"), col("extra_info")],
    schema: [
      { name: "root", num_children: 5 },
      str("data_source"),
      { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      { name: "element", repetition_type: "OPTIONAL", num_children: 2 },
      str("role"), str("content"),
      str("ability"),
      { name: "reward_model", repetition_type: "OPTIONAL", num_children: 2 },
      str("style"), str("ground_truth"),
      { name: "extra_info", repetition_type: "OPTIONAL", num_children: 2 },
      str("split"), { name: "index", type: "INT64", repetition_type: "OPTIONAL" },
    ],
  });
  return file;
}

/** Real GSM8K rows (openai/gsm8k "main", train split, the first rows' format). */
export const GSM8K_ROWS = [
  {
    question: "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?",
    answer: "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72",
  },
  {
    question: "Weng earns $12 an hour for babysitting. Yesterday, she just did 50 minutes of babysitting. How much did she earn?",
    answer: "Weng earns 12/60 = $<<12/60=0.2>>0.2 per minute.\nWorking 50 minutes, she earned 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10",
  },
  {
    question: "Betty is saving money for a new wallet which costs $100. Her parents decided to give her $15 and her grandparents twice as much as her parents. How much more money does Betty need to buy the wallet?",
    answer: "In the beginning, Betty has only 100 / 2 = $<<100/2=50>>50.\nBetty's grandparents gave her 15 * 2 = $<<15*2=30>>30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $<<100-50-30-15=5>>5 more.\n#### 5",
  },
  {
    // constructed in GSM8K's format: an answer with a thousands separator
    question: "A shop sold 1,200 pens in May and 400 in June. How many pens did it sell?",
    answer: "It sold 1,200 + 400 = <<1200+400=1600>>1,600 pens.\n#### 1,600",
  },
];

/** MATH rows (hendrycks_math / lighteval format: problem, level, type, solution with \boxed{}). */
export const MATH_ROWS = [
  {
    problem: "If $x^2+y^2=1$, what is the largest possible value of $|x|+|y|$?",
    level: "Level 5", type: "Algebra",
    solution: "If $(x,y)$ lies on the circle, so does $(x,-y),$ $(-x,-y),$ and $(-x,-y),$ (which all give the same value of $|x| + |y|$), so we can assume that $x \\ge 0$ and $y \\ge 0.$\n\nThen $|x| + |y| = x + y.$  Squaring, we get\n\\[(x + y)^2 = x^2 + 2xy + y^2 = 1 + 2xy.\\]Note that $(x - y)^2 \\ge 0.$ … so the maximum value is $\\boxed{\\sqrt{2}}.$",
  },
  {
    problem: "What is the value of $\\frac{1}{2} + \\frac{1}{4}$?",
    level: "Level 1", type: "Prealgebra",
    solution: "We have $\\frac{1}{2} + \\frac{1}{4} = \\frac{2}{4} + \\frac{1}{4} = \\boxed{\\frac{3}{4}}$.",
  },
];
