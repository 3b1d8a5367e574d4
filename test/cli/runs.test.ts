import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRun } from "../../src/runs/run.js";
import { downsample } from "../../src/runs/chart.js";
import { wrap } from "../../src/cli/recipes.js";
import { listRecipes } from "../../src/recipes/shipped.js";
import { runCli } from "./run-cli.js";

const root = mkdtempSync(join(tmpdir(), "move37-runs-cli-"));

test("runs ls tabulates runs and runs show prints a summary and terminal curves", async () => {
  const run = createRun({ trainer: "grpo", config: {}, root, name: "curve" });
  for (let s = 1; s <= 30; s++) run.logMetrics(s, { reward: s / 30, kl: 0.01 });
  run.setStatus("completed");
  const ls = await runCli(["runs", "ls", "--runs-dir", root]);
  const [head, , row] = ls.stdout.trimEnd().split("\n");
  assert.match(head, /^run +trainer +status +started +time +step +latest$/);
  assert.match(row, /^curve +grpo +completed +\d{4}-\d\d-\d\d \d\d:\d\d +\d+s +30 +reward 1$/);

  const show = await runCli(["runs", "show", "curve", "--runs-dir", root, "--width", "20"]);
  assert.equal(show.error, undefined);
  assert.match(show.stdout, /^run {6}curve/);
  assert.match(show.stdout, /\nreward +30 +0\.03333 +1 +0\.03333 +1\n/);
  assert.match(show.stdout, /\nreward {2}\(steps 1–30\)\n/);
  const chart = show.stdout.split("reward  (steps 1–30)\n")[1].split("\n\n")[0].split("\n");
  assert.equal(chart.length, 9, "8 rows of height plus one");
  assert.ok(chart.every(l => /[┤┼]/.test(l)), "asciichart axis on every line");
  const az = createRun({ trainer: "alphazero", config: {}, root, name: "az" });
  az.logMetrics(1, { "loss/policy": 2, "selfplay/games": 64 });
  az.logMetrics(2, { "loss/policy": 1.5, "selfplay/games": 64 });
  const azShow = await runCli(["runs", "show", "az", "--runs-dir", root]);
  assert.match(azShow.stdout, /\nloss\/policy {2}\(steps 1–2\)\n/, "a run without the usual metrics still gets curves");
  const missing = await runCli(["runs", "show", "curv", "--runs-dir", root]);
  assert.equal(missing.error?.name, "RunNotFoundError");
  assert.match(missing.error!.message, /curv \(did you mean "curve"\?\) is not a run directory/);
});

test("downsample averages buckets so long runs fit the terminal", () => {
  assert.deepEqual(downsample([1, 2, 3, 4, 5, 6], 3), [1.5, 3.5, 5.5]);
  assert.deepEqual(downsample([1, 2], 5), [1, 2]);
});

test("recipes ls shows each recipe's command and description; recipes cp copies and refuses to overwrite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-recipes-"));
  writeFileSync(join(dir, "baby.yaml"), "# move37 train recipes/baby.yaml\n# A baby run that learns in minutes.\n# Second line.\ntrainer: toy\n");
  writeFileSync(join(dir, "notes.txt"), "not a recipe");
  assert.deepEqual(listRecipes(dir).map(r => [r.name, r.command, r.description]), [["baby", "move37 train recipes/baby.yaml", "A baby run that learns in minutes. Second line."]]);
  const ls = await runCli(["recipes", "ls", "--dir", dir]);
  assert.equal(ls.stdout, "baby\n    $ move37 train recipes/baby.yaml\n    A baby run that learns in minutes. Second line.\n");
  assert.deepEqual(wrap("aa bb cc dd", 5), ["aa bb", "cc dd"]);
  const dest = join(dir, "copy.yaml");
  const cp = await runCli(["recipes", "cp", "baby", dest, "--dir", dir]);
  assert.equal(cp.error, undefined);
  assert.equal(readFileSync(dest, "utf8"), readFileSync(join(dir, "baby.yaml"), "utf8"));
  const again = await runCli(["recipes", "cp", "baby", dest, "--dir", dir]);
  assert.equal(again.error?.message, `${dest} already exists: pass --force to overwrite it, or give another destination`);
  const typo = await runCli(["recipes", "cp", "babby", "--dir", dir]);
  assert.match(typo.error!.message, /^recipe "babby" not found: .*\(did you mean "baby"\?\)/);
});

test("bench with an unknown name lists what exists", async () => {
  const r = await runCli(["bench", "no-such-bench-xyz"]);
  assert.equal(r.error?.name, "UnknownBenchError");
  assert.match(r.error!.message, /^no benchmark "no-such-bench-xyz": available: /);
  assert.ok(!r.error!.message.includes("common"), "the shared helpers are not a benchmark");
});

test("doctor reports node, cpu, native addon, threads, memory, torch and chromium", async () => {
  const r = await runCli(["doctor", "--json"]);
  const checks = JSON.parse(r.stdout) as { name: string; ok: boolean; detail: string }[];
  assert.deepEqual(checks.map(c => c.name), ["node", "cpu", "simd", "native addon", "threads", "memory", "python3-torch", "chromium"]);
  assert.equal(checks[0].detail, process.version);
});
