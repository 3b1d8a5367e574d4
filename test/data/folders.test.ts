import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { loadDataset } from "../../src/data/dataset.js";
import { resolveDataFiles } from "../../src/data/files.js";
import { GSM8K_ROWS, tempDir, writeJsonl, writeParquet, writeText } from "./write.js";

const rows = (prefix: string, n: number) => ({
  question: Array.from({ length: n }, (_, i) => `${prefix} question ${i}?`),
  answer: Array.from({ length: n }, (_, i) => `work\n#### ${i}`),
});

test("hub layout with configs (gsm8k: main/ and socratic/): config picks the subfolder, shards read in order", () => {
  const dir = tempDir();
  writeParquet(join(dir, "main", "train-00000-of-00002.parquet"), rows("main-a", 3));
  writeParquet(join(dir, "main", "train-00001-of-00002.parquet"), rows("main-b", 2));
  writeParquet(join(dir, "main", "test-00000-of-00001.parquet"), rows("main-test", 4));
  writeParquet(join(dir, "socratic", "train-00000-of-00001.parquet"), rows("socratic", 1));
  // the configs section of openai/gsm8k's dataset card
  writeText(join(dir, "README.md"), [
    "---", "configs:",
    "- config_name: main", "  data_files:", "  - split: train", "    path: main/train-*", "  - split: test", "    path: main/test-*",
    "- config_name: socratic", "  data_files:", "  - split: train", "    path: socratic/train-*", "  - split: test", "    path: socratic/test-*",
    "---", "", "# Dataset Card for GSM8K",
  ].join("\n"));
  assert.throws(() => loadDataset(dir), /several configs in README\.md \(main, socratic\); pick one with config: \(e\.g\. config: main\)/);
  const { train, eval: ev, info } = loadDataset({ path: dir, config: "main", eval_split: "test" });
  assert.deepEqual(train.map(e => e.question), ["main-a question 0?", "main-a question 1?", "main-a question 2?", "main-b question 0?", "main-b question 1?"]);
  assert.equal(ev.length, 4);
  assert.ok(ev.every(e => e.question.startsWith("main-test")));
  assert.deepEqual(info.train_files.map(f => f.slice(dir.length + 1)), ["main/train-00000-of-00002.parquet", "main/train-00001-of-00002.parquet"]);
  assert.equal(loadDataset({ path: dir, config: "socratic" }).train.length, 1);
  assert.throws(() => loadDataset({ path: dir, config: "mian" }), /no config "mian" in README\.md's configs; configs here: main, socratic/);
  // the same folder without its card: the subfolders are the configs
  rmSync(join(dir, "README.md"));
  assert.throws(() => loadDataset(dir), /several configs \(main, socratic\); pick one with config: \(e\.g\. config: main\)/);
  assert.deepEqual(loadDataset({ path: dir, config: "main", eval_split: "test" }).train.length, 5);
  assert.throws(() => loadDataset({ path: dir, config: "mian" }), /no folder for config "mian"; configs here: main, socratic/);
});

test("hub layout with data/ (one config), baseDir for relative paths, a missing split named with the ones there", () => {
  const dir = tempDir();
  writeParquet(join(dir, "ds", "data", "train-00000-of-00001.parquet"), rows("tr", 5));
  writeParquet(join(dir, "ds", "data", "validation-00000-of-00001.parquet"), rows("va", 2));
  const { train, eval: ev } = loadDataset({ path: "ds", eval_split: "validation" }, { baseDir: dir });
  assert.equal(train.length, 5);
  assert.equal(ev.length, 2);
  assert.throws(() => loadDataset({ path: "ds", split: "test" }, { baseDir: dir }), /no files for split "test" in data; splits here: train, validation/);
  assert.throws(() => loadDataset({ path: "nope" }, { baseDir: dir }), e => e instanceof Error && e.message.includes(join(dir, "nope")) && /no such file or folder/.test(e.message));
});

test("split folders (refs/convert/parquet: main/train/0000.parquet) and a file per split (train.jsonl, test.json)", () => {
  const a = tempDir();
  writeParquet(join(a, "main", "train", "0000.parquet"), rows("p", 2));
  writeParquet(join(a, "main", "train", "0001.parquet"), rows("q", 2));
  writeParquet(join(a, "main", "test", "0000.parquet"), rows("t", 1));
  assert.deepEqual(loadDataset({ path: a, eval_split: "test" }).train.map(e => e.question), ["p question 0?", "p question 1?", "q question 0?", "q question 1?"]);
  const b = tempDir();
  writeJsonl(join(b, "train.jsonl"), GSM8K_ROWS);
  writeText(join(b, "test.json"), JSON.stringify([{ question: "held out?", answer: "#### 3" }]));
  const { train, eval: ev } = loadDataset({ path: b, eval_split: "test" });
  assert.equal(train.length, 4);
  assert.deepEqual(ev.map(e => e.answer), ["3"]);
  // "train" does not pick up "train_sft" files
  const c = tempDir();
  writeJsonl(join(c, "train_sft.jsonl"), [{ prompt: "x", completion: "y" }]);
  writeJsonl(join(c, "test_sft.jsonl"), [{ prompt: "x", completion: "y" }]);
  assert.throws(() => loadDataset(c), /no files for split "train" in \.; splits here: test_sft, train_sft/);
  assert.equal(loadDataset({ path: c, split: "train_sft" }).train.length, 1);
});

test("a folder of files without split names is all training data", () => {
  const dir = tempDir();
  writeJsonl(join(dir, "part-a.jsonl"), [{ question: "a?", answer: "1" }]);
  writeParquet(join(dir, "part-b.parquet"), { question: ["b?"], answer: ["2"] });
  assert.deepEqual(resolveDataFiles(dir, "train", undefined).map(f => f.slice(dir.length + 1)), ["part-a.jsonl", "part-b.parquet"]);
  assert.deepEqual(loadDataset(dir).train.map(e => e.answer), ["1", "2"]);
});

test("a hub README's configs: (data_files by split, glob patterns) say which files make each split", () => {
  const dir = tempDir();
  writeText(join(dir, "README.md"), [
    "---", "license: mit", "configs:",
    "- config_name: sft", "  default: true", "  data_files:",
    "  - split: train", "    path: data/chats_sft-*", "  - split: test", "    path: held/out.jsonl",
    "- config_name: raw", "  data_files: raw/**/*.parquet",
    "---", "# A dataset card", "",
  ].join("\n"));
  writeParquet(join(dir, "data", "chats_sft-00001.parquet"), rows("b", 1));
  writeParquet(join(dir, "data", "chats_sft-00000.parquet"), rows("a", 2));
  writeParquet(join(dir, "data", "chats_gen-00000.parquet"), rows("gen", 5));
  writeJsonl(join(dir, "held", "out.jsonl"), [{ question: "held?", answer: "#### 1" }]);
  writeParquet(join(dir, "raw", "2024", "x.parquet"), rows("raw", 3));
  const { train, eval: ev, info } = loadDataset({ path: dir, eval_split: "test" });
  assert.deepEqual(info.train_files.map(f => f.slice(dir.length + 1)), ["data/chats_sft-00000.parquet", "data/chats_sft-00001.parquet"]);
  assert.deepEqual(train.map(e => e.question), ["a question 0?", "a question 1?", "b question 0?"]);
  assert.deepEqual(ev.map(e => e.question), ["held?"]);
  assert.equal(loadDataset({ path: dir, config: "raw" }).train.length, 3); // "**" spans folders
  assert.throws(() => loadDataset({ path: dir, config: "raw", split: "test" }), /config "raw" has no split "test" in README\.md; splits here: train/);
  assert.throws(() => loadDataset({ path: dir, config: "nope" }), /no config "nope" in README\.md's configs; configs here: sft, raw/);
});
