import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetMetadata } from "hyparquet";
import { loadDataset } from "../../src/data/dataset.js";
import { readParquetTable } from "../../src/data/files.js";
import { GSM8K_ROWS, tempDir, writeParquet, writeVerlParquet, zstdStored, type Codec } from "./write.js";

const verlRows = (n: number) => Array.from({ length: n }, (_, i) => ({
  data_source: "openai/gsm8k",
  prompt: [{ role: "system", content: "Reason step by step." }, { role: "user", content: `Question ${i}: what is ${i} + ${i}?` }],
  ability: "math",
  reward_model: { style: "rule", ground_truth: String(2 * i) },
  extra_info: { split: "train", index: BigInt(i) },
}));

const codecsOf = (file: string) => {
  const b = readFileSync(file);
  const md = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  return [...new Set(md.row_groups.flatMap(g => g.columns.map(c => c.meta_data!.codec)))];
};

for (const codec of ["UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD"] as Codec[]) {
  test(`Parquet ${codec}: verl's nested columns read back as arrays and objects`, () => {
    const dir = tempDir();
    const file = writeVerlParquet(join(dir, "train.parquet"), verlRows(30), codec);
    assert.deepEqual(codecsOf(file), [codec]); // the file really is coded so
    const t = readParquetTable(file);
    assert.deepEqual(t.columns, ["data_source", "prompt", "ability", "reward_model", "extra_info"]);
    assert.deepEqual(t.rows[7].prompt, verlRows(30)[7].prompt);
    assert.deepEqual(t.rows[7].reward_model, { style: "rule", ground_truth: "14" });
    assert.deepEqual(t.rows[7].extra_info, { split: "train", index: 7n });
    const { train } = loadDataset(file);
    assert.equal(train.length, 30);
    assert.equal(train[29].answer, "58");
    assert.deepEqual(train[29].messages!.map(m => m.role), ["system", "user"]);
    assert.equal(train[29].question, "Question 29: what is 29 + 29?");
  });
}

test("Parquet GSM8K-format file, zstd: question + answer with #### n", () => {
  const dir = tempDir();
  const file = writeParquet(join(dir, "gsm8k.parquet"), { question: GSM8K_ROWS.map(r => r.question), answer: GSM8K_ROWS.map(r => r.answer) }, "ZSTD");
  assert.deepEqual(codecsOf(file), ["ZSTD"]);
  assert.deepEqual(loadDataset(file).train.map(e => e.answer), ["72", "10", "5", "1600"]);
});

test("zstdStored writes frames a zstd decoder reads back (the test writer itself)", async () => {
  const { decompress } = await import("fzstd");
  const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
  assert.deepEqual(decompress(zstdStored(data)), data);
});

test("Parquet: an unreadable compression (LZO) is refused by name before any row is used", () => {
  const dir = tempDir();
  const file = writeVerlParquet(join(dir, "lzo.parquet"), verlRows(3), "LZO");
  assert.deepEqual(codecsOf(file), ["LZO"]);
  assert.throws(() => loadDataset(file), e => e instanceof Error && e.name === "DatasetError"
    && e.message.includes(file) && /compressed with LZO/.test(e.message) && /snappy or zstd/.test(e.message));
});

test("Parquet: a file that is not Parquet (a Git LFS pointer) is refused by name", () => {
  const dir = tempDir();
  const file = join(dir, "train-00000-of-00001.parquet");
  writeFileSync(file, "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a\nsize 2306545\n");
  assert.throws(() => loadDataset(file), e => e instanceof Error && e.message.includes(file) && /not a readable Parquet file/.test(e.message) && /Git LFS/.test(e.message));
});

test("Parquet: limit reads only the first rows", () => {
  const dir = tempDir();
  const file = writeVerlParquet(join(dir, "train.parquet"), verlRows(50));
  const { train, info } = loadDataset({ path: file, limit: 12 });
  assert.equal(train.length, 12);
  assert.equal(info.train_rows_read, 12);
  assert.equal(train[11].answer, "22");
});

test("Parquet: only the columns the loader uses are read (an unused LZO-coded column does not stop it)", () => {
  const dir = tempDir();
  const cols = { question: ["a?", "b?"], answer: ["#### 1", "#### 2"], image: ["<bytes>", "<bytes>"] };
  const f = writeParquet(join(dir, "img.parquet"), cols, "SNAPPY", { image: "LZO" });
  assert.deepEqual(codecsOf(f).sort(), ["LZO", "SNAPPY"]);
  assert.deepEqual(loadDataset(f).train.map(e => e.answer), ["1", "2"]);
  assert.deepEqual(readParquetTable(f, undefined, ["question", "answer"]).rows[0], { question: "a?", answer: "#### 1" });
  // … but a column it needs must be readable, and a template placeholder makes a column needed
  assert.throws(() => loadDataset({ path: f, template: "{question} {image}" }), /compressed with LZO/);
  const g = writeParquet(join(dir, "q.parquet"), cols, "SNAPPY", { question: "LZO" });
  assert.throws(() => loadDataset(g), /compressed with LZO/);
  // messages name every column of the file, read or not
  const h = writeParquet(join(dir, "h.parquet"), { query: ["a?"], answer: ["1"], image: ["<bytes>"] });
  assert.throws(() => loadDataset(h), /row 1: no prompt column \(looked for "prompt", "messages", "question", "problem"; the row has "query", "answer", "image"\)/);
});

test("Parquet: one reader serves file after file, and a refused file leaves it working", () => {
  const dir = tempDir();
  const good = writeParquet(join(dir, "good.parquet"), { question: ["a?"], answer: ["#### 1"] });
  const lzo = writeVerlParquet(join(dir, "lzo.parquet"), verlRows(2), "LZO");
  const junk = join(dir, "junk.parquet");
  writeFileSync(junk, "not parquet");
  for (let r = 0; r < 3; r++) {
    assert.throws(() => readParquetTable(lzo), /compressed with LZO/);
    assert.throws(() => readParquetTable(junk), /not a readable Parquet file/);
    assert.deepEqual(readParquetTable(good).rows, [{ question: "a?", answer: "#### 1" }]);
  }
});

test("Parquet: list<struct> prompts under the older pyarrow naming (list/item) and other names read the same", () => {
  const dir = tempDir();
  for (const names of [["list", "item"], ["bag", "array_element"]] as [string, string][]) {
    const f = writeVerlParquet(join(dir, `${names.join("-")}.parquet`), verlRows(3), "SNAPPY", names);
    const { train } = loadDataset(f);
    assert.deepEqual(train.map(e => e.messages), verlRows(3).map(r => r.prompt));
  }
});

test("Parquet: several row groups read in order, and limit stops inside one", () => {
  const dir = tempDir();
  const n = 35;
  const f = writeParquet(join(dir, "groups.parquet"), { question: Array.from({ length: n }, (_, i) => `q${i}`), answer: Array.from({ length: n }, (_, i) => `#### ${i}`) }, "SNAPPY", {}, 10);
  const b = readFileSync(f);
  assert.equal(parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)).row_groups.length, 4);
  assert.deepEqual(loadDataset(f).train.map(e => e.answer), Array.from({ length: n }, (_, i) => String(i)));
  assert.deepEqual(loadDataset({ path: f, limit: 23 }).train.map(e => e.question), Array.from({ length: 23 }, (_, i) => `q${i}`));
});
