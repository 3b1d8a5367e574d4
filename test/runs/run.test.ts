import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../../src/runs/atomic.js";
import { createRun, RunExistsError, RunNotFoundError, type RunInfo } from "../../src/runs/run.js";
import { listRunDirs, liveStatus, metricNames, readJsonl, readMetrics } from "../../src/runs/read.js";

const root = mkdtempSync(join(tmpdir(), "move37-runs-"));

test("createRun lays out the run directory and records status, git and machine", () => {
  const run = createRun({ trainer: "grpo", config: { trainer: "grpo", beta: 0.04 }, root, name: "a" });
  assert.equal(run.dir, join(root, "a"));
  assert.ok(statSync(run.checkpointsDir).isDirectory());
  assert.deepEqual(JSON.parse(readFileSync(join(run.dir, "config.json"), "utf8")), { trainer: "grpo", beta: 0.04 });
  const info = JSON.parse(readFileSync(join(run.dir, "run.json"), "utf8")) as RunInfo;
  assert.equal(info.status, "running");
  assert.equal(info.ended, null);
  assert.equal(info.pid, process.pid);
  assert.match(info.git?.commit ?? "", /^[0-9a-f]{40}$/);
  assert.ok(info.machine.cores >= 1 && info.machine.memoryBytes > 0 && info.machine.cpu.length > 0);
  assert.equal(liveStatus(info), "running");
  assert.equal(liveStatus({ ...info, pid: 2 ** 22 + 12345 }), "killed", "a running run whose process is gone was killed");

  run.setStatus("completed");
  const done = JSON.parse(readFileSync(join(run.dir, "run.json"), "utf8")) as RunInfo;
  assert.equal(done.status, "completed");
  assert.ok(done.ended !== null && Date.parse(done.ended) >= Date.parse(done.started));
  assert.throws(() => createRun({ trainer: "grpo", config: {}, root, name: "a" }), RunExistsError);
  assert.throws(() => createRun({ trainer: "grpo", config: {}, resumeDir: join(root, "nope") }), RunNotFoundError);
});

test("default names carry the prefix and a timestamp, and never collide", () => {
  const a = createRun({ trainer: "sft", config: {}, root, prefix: "baby" });
  const b = createRun({ trainer: "sft", config: {}, root, prefix: "baby" });
  assert.match(a.name, /^baby-\d{8}-\d{6}$/);
  assert.notEqual(a.name, b.name);
});

test("metrics and samples append as JSONL; rewind drops what a resumed run will redo", () => {
  const run = createRun({ trainer: "grpo", config: {}, root, name: "m" });
  for (let s = 1; s <= 5; s++) run.logMetrics(s, { reward: s / 10, kl: null });
  run.logSamples([{ step: 2, prompt: "p", completion: "c", reward: 1, rewards: { format: 1, accuracy: null }, advantage: 0.5 }]);
  run.logSamples([{ step: 5, prompt: "q", completion: "d", reward: 0 }]);
  run.logSamples([]);
  const rows = readMetrics(run.dir);
  assert.deepEqual(rows.map(r => [r.step, r.reward, r.kl]), [[1, 0.1, null], [2, 0.2, null], [3, 0.3, null], [4, 0.4, null], [5, 0.5, null]]);
  assert.ok(typeof rows[0].time === "number" && Math.abs(rows[0].time - Date.now() / 1000) < 60);
  assert.deepEqual(metricNames(rows), ["reward"]);

  run.rewind(3);
  assert.deepEqual(readMetrics(run.dir).map(r => r.step), [1, 2, 3]);
  assert.deepEqual(readJsonl<{ step: number }>(join(run.dir, "samples.jsonl")).map(r => r.step), [2]);

  // resuming reopens the same directory and keeps its start time
  const resumed = createRun({ trainer: "grpo", config: { changed: true }, resumeDir: run.dir });
  resumed.logMetrics(4, { reward: 0.9 });
  assert.deepEqual(readMetrics(run.dir).map(r => r.reward), [0.1, 0.2, 0.3, 0.9]);
  assert.equal(resumed.info().started, run.info().started);
  assert.equal(resumed.info().resumed.length, 1);
});

test("readJsonl skips a torn last line and the last row of a repeated step wins", () => {
  const dir = join(root, "torn");
  createRun({ trainer: "x", config: {}, root, name: "torn" });
  writeFileSync(join(dir, "metrics.jsonl"), '{"step":1,"loss":2}\n{"step":2,"loss":1}\n{"step":2,"loss":0.5}\n{"step":3,"lo');
  assert.deepEqual(readMetrics(dir).map(r => [r.step, r.loss]), [[1, 2], [2, 0.5]]);
  assert.ok(listRunDirs(root).includes(dir));
});

test("atomic writes replace the file by rename and leave the old file whole when the write fails", () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-atomic-"));
  const p = join(dir, "state.json");
  writeJsonAtomic(p, { step: 1 });
  const ino = statSync(p).ino;
  writeJsonAtomic(p, { step: 2, big: "x".repeat(100_000) });
  assert.equal(JSON.parse(readFileSync(p, "utf8")).step, 2);
  assert.notEqual(statSync(p).ino, ino, "a new file renamed over the old one, not an in-place rewrite");
  // a write that fails midway (bad data type) must not touch the existing file nor leave temp files behind
  assert.throws(() => writeFileAtomic(p, 42 as unknown as string));
  assert.equal(JSON.parse(readFileSync(p, "utf8")).step, 2);
  assert.deepEqual(readdirSync(dir), ["state.json"]);
  // a missing folder is an error, not a silent partial write
  assert.throws(() => writeFileAtomic(join(dir, "no", "x.json"), "{}"), { code: "ENOENT" });
  assert.equal(existsSync(join(dir, "no")), false);
  appendFileSync(p, ""); // still a regular, readable file
});
