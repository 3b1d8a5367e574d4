import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { datasetSplit, loadDataset } from "../../src/data/dataset.js";
import type { Example } from "../../src/tasks/types.js";
import { tempDir, writeJsonl, writeParquet } from "./write.js";

const problems = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ question: `What is ${i + from} + 1?`, answer: String(i + from + 1) }));

function assertDisjoint(train: Example[], ev: Example[]) {
  const ids = new Set(ev.map(e => e.id)), texts = new Set(ev.map(e => e.question));
  for (const e of train) {
    assert.ok(!ids.has(e.id), `train row ${e.id} has an eval id`);
    assert.ok(!texts.has(e.question), `train row "${e.question}" is an eval problem`);
  }
}

test("eval_fraction: seeded, deterministic, disjoint, duplicates of an eval problem leave training too", () => {
  const dir = tempDir();
  const rows = [...problems(100), ...problems(10)]; // problems 0..9 appear twice
  const file = writeJsonl(join(dir, "d.jsonl"), rows);
  const a = loadDataset({ path: file, eval_fraction: 0.2, seed: 7 });
  assert.equal(a.eval.length, 20); // of 100 distinct problems
  assert.equal(new Set(a.eval.map(e => e.id)).size, 20);
  assertDisjoint(a.train, a.eval);
  const dupEval = a.eval.filter(e => Number(e.answer) <= 10).length; // eval problems that had a second row
  assert.equal(a.train.length, 110 - 20 - dupEval);
  assert.equal(a.info.dropped_overlap, 20 + dupEval);
  const b = loadDataset({ path: file, eval_fraction: 0.2, seed: 7 });
  assert.deepEqual(b.eval.map(e => e.id), a.eval.map(e => e.id));
  const c = loadDataset({ path: file, eval_fraction: 0.2, seed: 8 });
  assert.notDeepEqual(c.eval.map(e => e.id), a.eval.map(e => e.id));
  // training keeps the file's order
  assert.deepEqual(a.train.map(e => e.question), rows.map(r => r.question).filter(q => !a.eval.some(e => e.question === q)));
});

test("eval_size carves that many distinct problems; too many is refused", () => {
  const dir = tempDir();
  const file = writeParquet(join(dir, "d.parquet"), { question: problems(30).map(p => p.question), answer: problems(30).map(p => p.answer) });
  const { train, eval: ev } = loadDataset({ path: file, eval_size: 5 });
  assert.equal(ev.length, 5);
  assert.equal(train.length, 25);
  assertDisjoint(train, ev);
  assert.throws(() => loadDataset({ path: file, eval_size: 30 }), /30 eval problems asked of 30 distinct problems .*nothing would be left to train on/);
  assert.throws(() => loadDataset({ path: file, eval_size: 3, eval_fraction: 0.1 }), /eval_fraction and eval_size both set/);
});

test("eval_path: a separate file; training rows that are eval problems (by prompt text or by id) are dropped", () => {
  const dir = tempDir();
  const train = writeJsonl(join(dir, "train.jsonl"), [
    ...problems(10).map((p, i) => ({ ...p, id: `t${i}` })),
    { id: "t-dup-text", question: "  What is 3 +   1?", answer: "4" }, // same problem as eval's, other id, other spacing
    { id: "e-shared", question: "A different question?", answer: "0" }, // shares an id with an eval row
  ]);
  const evalFile = writeJsonl(join(dir, "eval.jsonl"), [
    { id: "e3", question: "What is 3 + 1?", answer: "4" },
    { id: "e-shared", question: "What is 50 + 1?", answer: "51" },
  ]);
  const { train: tr, eval: ev, info } = loadDataset({ path: train, eval_path: evalFile });
  assert.deepEqual(ev.map(e => e.id), ["e3", "e-shared"]);
  assertDisjoint(tr, ev);
  assert.equal(tr.length, 12 - 3); // t3 (text), t-dup-text (text after whitespace), e-shared (id)
  assert.ok(!tr.some(e => e.id === "t3" || e.id === "t-dup-text" || e.id === "e-shared"));
  assert.equal(info.dropped_overlap, 3);
  assert.deepEqual(info.eval_files, [evalFile]);
  // eval_size with a separate eval file: a seeded sample
  const s = loadDataset({ path: train, eval_path: evalFile, eval_size: 1, seed: 3 });
  assert.equal(s.eval.length, 1);
  assert.deepEqual(loadDataset({ path: train, eval_path: evalFile, eval_size: 1, seed: 3 }).eval, s.eval);
  assert.throws(() => loadDataset({ path: train, eval_path: evalFile, eval_fraction: 0.5 }), /cannot be combined with eval_path/);
  assert.throws(() => loadDataset({ path: train, eval_path: train }), /eval rows would come from the training file/);
});

test("eval_split equal to the training split, or an eval file holding every training problem, is refused", () => {
  const dir = tempDir();
  const file = writeJsonl(join(dir, "train.jsonl"), problems(4));
  const copy = writeJsonl(join(dir, "copy.jsonl"), problems(4));
  assert.throws(() => loadDataset({ path: dir, eval_split: "train" }), /eval_split "train" is the training split/);
  assert.throws(() => loadDataset({ path: dir, eval_path: `${dir}/`, eval_split: "train" }), /the eval rows would come from the training file .*train\.jsonl/);
  assert.throws(() => loadDataset({ path: file, eval_path: copy }), /every training row \(4\) is also an eval problem/);
});

test("ids: the file's id column when present, else the problem text (equal problems, equal ids)", () => {
  const dir = tempDir();
  const { train } = loadDataset(writeJsonl(join(dir, "d.jsonl"), [
    { id: 17, question: "a?", answer: "1" },
    { question: "b?", answer: "2" },
    { messages: [{ role: "system", content: "s" }, { role: "user", content: "c?" }], answer: "3" },
  ]));
  assert.deepEqual(train.map(e => e.id), ["17", "data:b?", `data:${JSON.stringify([{ role: "system", content: "s" }, { role: "user", content: "c?" }])}`]);
  // columns: {id: null} ignores an id column that is only a per-split index
  assert.equal(loadDataset({ path: join(dir, "d.jsonl"), columns: { id: null } }).train[0].id, "data:a?");
});

test("datasetSplit: train(i) walks every row once per epoch, each epoch in its own seeded order, reproducibly", () => {
  const dir = tempDir();
  const ds = loadDataset({ path: writeJsonl(join(dir, "d.jsonl"), problems(12)), eval_size: 2, seed: 1 });
  const a = datasetSplit(ds, { seed: 5 }), b = datasetSplit(ds, { seed: 5 });
  const epoch = (s: typeof a, e: number) => Array.from({ length: 10 }, (_, k) => s.train(e * 10 + k).id);
  const e0 = epoch(a, 0), e1 = epoch(a, 1);
  assert.deepEqual([...e0].sort(), ds.train.map(x => x.id).sort()); // a permutation of the training rows
  assert.deepEqual([...e1].sort(), [...e0].sort());
  assert.notDeepEqual(e1, e0); // a new order per epoch
  assert.deepEqual(epoch(b, 1), e1); // position-addressable: no replay of epoch 0 needed
  assert.deepEqual(epoch(b, 0), e0);
  assert.notDeepEqual(epoch(datasetSplit(ds, { seed: 6 }), 0), e0);
  assert.deepEqual(epoch(datasetSplit(ds, { shuffle: false }), 3), ds.train.map(x => x.id));
  assert.deepEqual(a.eval, ds.eval);
  assertDisjoint(Array.from({ length: 40 }, (_, i) => a.train(i)), a.eval);
});
