import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readArrowRows } from "../../src/data/arrow.js";
import { DatasetError, loadDataset } from "../../src/data/dataset.js";
import { arrowStream, writeSaveToDisk, type ArrowField } from "./arrow-write.js";
import { tempDir } from "./write.js";

/** verl's countdown rows as TinyZero's preprocessing saves them (datasets features of its dataset_info.json). */
const FIELDS: ArrowField[] = [
  { name: "target", type: "int64" },
  { name: "nums", type: { list: "int64" } },
  { name: "data_source", type: "utf8" },
  { name: "prompt", type: { list: { struct: [{ name: "content", type: "utf8" }, { name: "role", type: "utf8" }] } } },
  { name: "ability", type: "utf8" },
  { name: "reward_model", type: { struct: [{ name: "ground_truth", type: { struct: [{ name: "numbers", type: { list: "int64" } }, { name: "target", type: "int64" }] } }, { name: "style", type: "utf8" }] } },
  { name: "extra_info", type: { struct: [{ name: "index", type: "int64" }, { name: "split", type: "utf8" }] } },
];

const row = (i: number, split = "train") => {
  const nums = [i % 7 + 1, i % 5 + 2, 3];
  const target = nums[0] + nums[1] * nums[2];
  return {
    target, nums, data_source: "countdown",
    prompt: [{ content: `Using the numbers [${nums.join(", ")}], create an equation that equals ${target}. (${split} ${i})`, role: "user" }],
    ability: "math",
    reward_model: { ground_truth: { numbers: nums, target }, style: "rule" },
    extra_info: { index: i, split },
  };
};

test("Arrow IPC stream: nested list<struct>, struct<struct<list>>, int64 read back as the rows written (several batches, zstd bodies)", () => {
  const rows = Array.from({ length: 25 }, (_, i) => row(i));
  for (const zstd of [false, true]) {
    const bytes = arrowStream(FIELDS, [rows.slice(0, 10), rows.slice(10)], { zstd });
    const got = readArrowRows(bytes, "t.arrow");
    assert.deepEqual(got.columns, FIELDS.map(f => f.name));
    assert.deepEqual(got.rows, rows);
    assert.deepEqual(readArrowRows(bytes, "t.arrow", 12).rows, rows.slice(0, 12));
    assert.deepEqual(readArrowRows(bytes, "t.arrow", undefined, ["nums"]).rows[3], { nums: rows[3].nums });
  }
});

test("Arrow IPC: nulls, int32, float64, bool, null columns", () => {
  const fields: ArrowField[] = [
    { name: "s", type: "utf8" }, { name: "i", type: "int32" }, { name: "f", type: "float64" }, { name: "b", type: "bool" },
    { name: "n", type: "null" }, { name: "l", type: { list: "utf8" } }, { name: "st", type: { struct: [{ name: "x", type: "int64" }] } },
  ];
  const rows = [
    { s: "a", i: -5, f: 0.5, b: true, n: null, l: ["x", "y"], st: { x: 1 } },
    { s: null, i: null, f: null, b: null, n: null, l: null, st: null },
    { s: "", i: 2147483647, f: -1e300, b: false, n: null, l: [], st: { x: null } },
  ];
  assert.deepEqual(readArrowRows(arrowStream(fields, [rows]), "t.arrow").rows, rows);
});

test("Arrow IPC: large_string, large_list, fixed-size list, float32, uint8, date32, timestamp[ms]", () => {
  const fields: ArrowField[] = [
    { name: "ls", type: "large_utf8" }, { name: "ll", type: { large_list: "utf8" } }, { name: "fl", type: { fixed_list: "int32", size: 2 } },
    { name: "f", type: "float32" }, { name: "u", type: "uint8" }, { name: "d", type: "date32" }, { name: "ts", type: "timestamp_ms" },
  ];
  const rows = [
    { ls: "long ünïcode", ll: ["a", "bc"], fl: [1, -2], f: 0.5, u: 255, d: "2024-02-29", ts: "2024-02-29T12:00:00.000Z" },
    { ls: null, ll: [], fl: null, f: null, u: null, d: null, ts: null },
  ];
  const got = readArrowRows(arrowStream(fields, [rows]), "t.arrow").rows;
  assert.deepEqual(got[0], { ...rows[0], ts: Date.parse("2024-02-29T12:00:00.000Z") }); // timestamps come back as their number
  assert.deepEqual(got[1], rows[1]);
});

test("save_to_disk DatasetDict folder: splits, shards in state.json order, verl countdown rows become examples", () => {
  const dir = writeSaveToDisk(join(tempDir(), "countdown"), FIELDS, {
    train: [Array.from({ length: 6 }, (_, i) => row(i)), Array.from({ length: 4 }, (_, i) => row(6 + i))],
    test: [Array.from({ length: 3 }, (_, i) => row(100 + i, "test"))],
  }, { zstd: true });
  const { train, eval: ev, info } = loadDataset({ path: dir, eval_split: "test" });
  assert.equal(train.length, 10);
  assert.deepEqual(info.train_files.map(f => f.slice(dir.length + 1)), ["train/data-00000-of-00002.arrow", "train/data-00001-of-00002.arrow"]);
  assert.deepEqual(train.map(e => e.extra_info!.index), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([train[4].numbers, train[4].target, train[4].data_source], [row(4).nums, row(4).target, "countdown"]);
  assert.deepEqual(train[4].messages, [{ role: "user", content: row(4).prompt[0].content }]);
  assert.equal(ev.length, 3);
  assert.throws(() => loadDataset({ path: dir, split: "validation" }), /no split "validation" in this save_to_disk folder; splits here: train, test/);
  rmSync(join(dir, "train", "data-00001-of-00002.arrow"));
  assert.throws(() => loadDataset(dir), /state\.json lists data-00001-of-00002\.arrow, which is missing/);
});

test("a single saved Dataset (state.json beside the shards) and a lone .arrow file", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "data-00000-of-00001.arrow"), arrowStream(FIELDS, [[row(1), row(2)]]));
  writeFileSync(join(dir, "state.json"), JSON.stringify({ _data_files: [{ filename: "data-00000-of-00001.arrow" }], _split: "train" }));
  assert.equal(loadDataset(dir).train.length, 2);
  assert.throws(() => loadDataset({ path: dir, split: "test" }), /this saved Dataset is the "train" split, not "test"/);
  assert.equal(loadDataset(join(dir, "data-00000-of-00001.arrow")).train[1].target, row(2).target);
});

test("a truncated or foreign .arrow file is a DatasetError naming it", () => {
  const dir = tempDir();
  const full = arrowStream(FIELDS, [[row(1)]]);
  const cut = join(dir, "cut.arrow");
  writeFileSync(cut, full.subarray(0, 40));
  assert.throws(() => loadDataset(cut), e => e instanceof DatasetError && e.message.includes(cut) && /not a readable Arrow IPC file/.test(e.message));
  const junk = join(dir, "junk.arrow");
  writeFileSync(junk, "PAR1 this is not arrow");
  assert.throws(() => loadDataset(junk), e => e instanceof DatasetError && e.message.includes(junk));
});
