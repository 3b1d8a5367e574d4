import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readJsonl } from "../../src/runs/read.js";
import { runCli } from "../cli/run-cli.js";
import { tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, DIGIT_REWARD, hasDigit } from "./micro.js";

test("move37 distill with flags runs a distillation into a run directory (flags and --key=value overrides become recipe keys)", async () => {
  const root = tempRoot("distill-cli");
  const teacher = byteModelFolder(root, "teacher", 32, 1, 5, true);
  const student = byteModelFolder(root, "student", 16, 2, 9);
  const r = await runCli(["distill", "--teacher", teacher, "--student", student, "--task", "arithmetic", "--reward", DIGIT_REWARD, "--n", "12", "--k", "8",
    "--max-new-tokens", "8", "--min_language=0", "--sft.max_steps=2", "--sft.eval_size=0", "--sft.max_length=96", "--runs-dir", root, "--name", "d"]);
  assert.equal(r.error, undefined, r.error?.message);
  const dir = join(root, "d");
  assert.equal(JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).status, "completed");
  assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).num_generations, 8);
  const rows = readJsonl<{ completion: string }>(join(dir, "data", "traces.jsonl"));
  assert.ok(rows.length > 0 && rows.every(x => hasDigit(x.completion) === 1));
  assert.ok(existsSync(join(dir, "model", "model.safetensors")));
});

test("move37 pipeline validates the shipped pipeline recipes and refuses a recipe of another trainer", async () => {
  for (const f of ["recipes/r1-tiny.yaml", "recipes/experiments/r1-pipeline.yaml", "recipes/experiments/distill-vs-rl.yaml"]) {
    const r = await runCli(["pipeline", f, "--dry-run"]);
    assert.equal(r.error, undefined, `${f}: ${r.error?.message}`);
    assert.match(r.stdout, /trainer: pipeline/);
  }
  const d = await runCli(["distill", "recipes/experiments/distill-tiny.yaml", "--dry-run"]);
  assert.equal(d.error, undefined, d.error?.message);
  const wrong = await runCli(["pipeline", "recipes/sft-tiny.yaml", "--dry-run"]);
  assert.equal(wrong.error?.name, "NotAPipelineError");
  const missing = await runCli(["distill", "--teacher", "x"]);
  assert.equal(missing.error?.name, "DistillArgumentsError");
});
