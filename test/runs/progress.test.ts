import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createProgress, estimateRemaining, formatDuration, formatValue } from "../../src/runs/progress.js";

function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }),
    { isTTY, columns: 160, cursorTo: () => true, clearLine: () => true, moveCursor: () => true },
  );
  return { stream, text: () => chunks.join("") };
}

test("without a terminal, one plain line per step with reward, accuracy, length, KL and ETA", () => {
  const s = sink(false);
  const p = createProgress({ total: 10, stream: s.stream });
  p.update(1, { reward: 0.25, accuracy: 0.1, "completions/mean_length": 41.234, kl: 0.00012 });
  p.log("checkpoint saved");
  p.update(2, { reward: 0.5 });
  p.stop();
  const lines = s.text().trimEnd().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0], /^step 1\/10 {2}reward 0\.25 {2}acc 0\.1 {2}len 41\.23 {2}KL 1\.2e-4 {2}ETA \d+s$/);
  assert.equal(lines[1], "checkpoint saved");
  assert.match(lines[2], /^step 2\/10 {2}reward 0\.5 {2}acc - {2}len - {2}KL - {2}ETA /);
});

test("on a terminal, a cli-progress bar shows the same fields", () => {
  const s = sink(true);
  const p = createProgress({ total: 4, stream: s.stream, fields: [{ label: "loss", metric: "loss" }, { label: "tok/s", metric: "tokens_per_second" }] });
  p.update(2, { loss: 1.5, tokens_per_second: 1234.5 });
  p.stop();
  assert.match(s.text(), /step 2\/4 \| loss 1\.5 \| tok\/s 1235 \| ETA/);
});

test("number and duration formatting", () => {
  assert.equal(formatValue(0.123456), "0.1235");
  assert.equal(formatValue(1234567), "1235000");
  assert.equal(formatValue(null), "-");
  assert.equal(formatValue(Number.NaN), "-");
  assert.equal(formatValue(0), "0");
  assert.equal(formatDuration(59.4), "59s");
  assert.equal(formatDuration(125), "2m05s");
  assert.equal(formatDuration(3 * 3600 + 7 * 60), "3h07m");
});

/** A clock that moves 10 s per step: each update(step) reads it at step × 10 s. */
function fakeClock() {
  let ms = 0;
  return { clock: () => ms, advance: (s: number) => { ms += s * 1000; } };
}

test("the ETA is the time the run will take: steps at the pace so far, or the time limit when that ends it first", () => {
  // The default run: 300 steps at 10 s each would take 50 min, but max_minutes 7.5 ends it.
  const s = sink(false), t = fakeClock();
  let used = 0;
  const p = createProgress({ total: 300, stream: s.stream, clock: t.clock, fields: [], timeLimit: { seconds: 450, used: () => used, label: "max_minutes" } });
  t.advance(10); used = 10; p.update(1, {});
  t.advance(10); used = 20; p.update(2, {});
  const lines = s.text().trimEnd().split("\n");
  assert.equal(lines[0], "step 1/300  ETA 7m20s (max_minutes)");
  assert.equal(lines[1], "step 2/300  ETA 7m10s (max_minutes)");
  // Near the end of the steps, the step count ends the run first: no note.
  const s2 = sink(false), t2 = fakeClock();
  const q = createProgress({ total: 10, stream: s2.stream, clock: t2.clock, fields: [], timeLimit: { seconds: 450, used: () => 20 } });
  t2.advance(20); q.update(2, {});
  assert.equal(s2.text().trimEnd(), "step 2/10  ETA 1m20s");
  // Without a limit, steps only (the old behaviour), and before any step the limit alone answers.
  assert.deepEqual(estimateRemaining(3, 297, 30), { seconds: 2970, byLimit: false });
  assert.deepEqual(estimateRemaining(0, 300, 0, { seconds: 450, used: () => 0 }), { seconds: 450, byLimit: true });
  assert.ok(Number.isNaN(estimateRemaining(0, 300, 0).seconds));
  // A limit already used up: 0 s left.
  assert.deepEqual(estimateRemaining(5, 295, 50, { seconds: 40, used: () => 45 }), { seconds: 0, byLimit: true });
});

test("on a terminal, the bar shows the same ETA with its note", () => {
  const s = sink(true), t = fakeClock();
  const p = createProgress({ total: 300, stream: s.stream, clock: t.clock, fields: [{ label: "reward", metric: "reward" }], timeLimit: { seconds: 450, used: () => 10, label: "max_minutes" } });
  t.advance(10); p.update(1, { reward: 0.5 });
  p.stop();
  assert.match(s.text(), /step 1\/300 \| reward 0\.5 \| ETA 7m20s \(max_minutes\)/);
});
