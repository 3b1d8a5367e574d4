import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createProgress, formatDuration, formatValue } from "../../src/runs/progress.js";

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
