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

/** Plain string/number columns; `columnCodecs` codes single columns differently. */
export function writeParquet(file: string, columns: Record<string, unknown[]>, codec: Codec = "SNAPPY", columnCodecs: Record<string, Codec> = {}, rowGroupSize?: number): string {
  mkdirSync(dirname(file), { recursive: true });
  parquetWriteFile({
    filename: file, codec, compressors: COMPRESSORS, rowGroupSize,
    columnData: Object.entries(columns).map(([name, data]) => ({ name, data: data as never, codec: columnCodecs[name] })),
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

/**
 * verl's gsm8k rows with pyarrow's nested schema: LIST → repeated "list" → "element" struct (pyarrow ≥ 13);
 * `listNames` ["list", "item"] gives the older pyarrow naming, ["array", "element"] another writer's.
 */
export function writeVerlParquet(file: string, rows: VerlRow[], codec: Codec = "SNAPPY", listNames: [string, string] = ["list", "element"]): string {
  mkdirSync(dirname(file), { recursive: true });
  const col = <K extends keyof VerlRow>(k: K) => ({ name: k, data: rows.map(r => r[k]) as never });
  parquetWriteFile({
    filename: file, codec, compressors: COMPRESSORS,
    columnData: [col("data_source"), col("prompt"), col("ability"), col("reward_model"), col("extra_info")],
    schema: [
      { name: "root", num_children: 5 },
      str("data_source"),
      { name: "prompt", repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
      { name: listNames[0], repetition_type: "REPEATED", num_children: 1 },
      { name: listNames[1], repetition_type: "OPTIONAL", num_children: 2 },
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

/** GSM8K rows: the first three of openai/gsm8k "main" train, verbatim, and one in their format with a thousands separator. */
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
    question: "Betty is saving money for a new wallet which costs $100. Betty has only half of the money she needs. Her parents decided to give her $15 for that purpose, and her grandparents twice as much as her parents. How much more money does Betty need to buy the wallet?",
    answer: "In the beginning, Betty has only 100 / 2 = $<<100/2=50>>50.\nBetty's grandparents gave her 15 * 2 = $<<15*2=30>>30.\nThis means, Betty needs 100 - 50 - 30 - 15 = $<<100-50-30-15=5>>5 more.\n#### 5",
  },
  {
    // constructed in GSM8K's format: an answer with a thousands separator
    question: "A shop sold 1,200 pens in May and 400 in June. How many pens did it sell?",
    answer: "It sold 1,200 + 400 = <<1200+400=1600>>1,600 pens.\n#### 1,600",
  },
];

/**
 * MATH rows (hendrycks MATH test split, Algebra; fields problem, level, type, solution with \boxed{}), each with
 * the short answer MATH-500-style copies of the dataset give (`reference`), which the extractor must reproduce.
 */
export const MATH_ROWS = [
  {
    problem: "Evaluate $\\left\\lceil -\\frac{7}{4}\\right\\rceil$.", level: "Level 3", type: "Algebra",
    solution: "$-\\frac{7}{4}$ is between $-1$ and $-2$, so $\\left\\lceil -\\frac{7}{4}\\right\\rceil=\\boxed{-1}$.",
    reference: "-1",
  },
  {
    problem: "What fraction is the same as \\[\n\\frac{2-4+6-8+10-12+14}{3-6+9-12+15-18+21}?\n\\]", level: "Level 1", type: "Algebra",
    solution: "We have \\begin{align*}\n&\\frac{2-4+6-8+10-12+14}{3-6+9-12+15-18+21} \\\\\n& \\qquad = \\frac{2(1-2+3-4+5-6+7)}{3(1-2+3-4+5-6+7)} \\\\\n& \\qquad = \\boxed{\\frac{2}{3}}.\n\\end{align*}",
    reference: "\\frac{2}{3}",
  },
  {
    problem: "What is the domain of the function $$f(x) = \\frac{(2x-3)(2x+5)}{(3x-9)(3x+6)}~?$$ Express your answer as an interval or as a union of intervals.", level: "Level 5", type: "Algebra",
    solution: "We have $x$ in the domain of $f(x)$ as long as the denominator, $(3x-9)(3x+6)$, is nonzero. This is true for all $x$ except the solutions to the equations $3x-9=0$ and $3x+6=0$. These solutions are $x=3$ and $x=-2$, respectively.\n\nTherefore, the domain of $f(x)$ is all real numbers except $3$ and $-2$. Expressed as a union of intervals, the domain is $\\boxed{(-\\infty,-2)\\cup (-2,3)\\cup (3,\\infty)}$.",
    reference: "(-\\infty,-2)\\cup (-2,3)\\cup (3,\\infty)",
  },
  {
    problem: "If $\\frac{1}{x} + \\frac{1}{y} = \\frac{1}{z}$, find the value of $y$ when $x = 25$ and $z = 24$.", level: "Level 2", type: "Algebra",
    solution: "We have $\\frac{1}{25} + \\frac{1}{y} = \\frac{1}{24}$, so  \\[\\frac{1}{y} = \\frac{1}{24} - \\frac{1}{25} = \\frac{25}{600} - \\frac{24}{600} = \\frac{1}{600},\\] which means $y=\\boxed{600}$.",
    reference: "600",
  },
];
