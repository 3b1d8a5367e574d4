import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { registerReward } from "../../src/rewards/registry.js";
import { runCli } from "../cli/run-cli.js";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { distinctExamples, makeTask, tinyR1Prompt } from "../../src/tasks/index.js";
import { byteModelFolder, traceRows, writeJsonl } from "./fixtures.js";

registerReward({ name: "test_always", description: "test: 1", timeLimitMs: 50, sync: () => 1 });
registerReward({ name: "test_never", description: "test: 0", timeLimitMs: 50, sync: () => 0 });
// About half of a random model's completions: those of even length.
registerReward({ name: "test_even", description: "test: 1 for an even-length completion", timeLimitMs: 50, sync: c => (c.length % 2 === 0 ? 1 : 0) });

/** A run directory whose latest checkpoint (step 3) holds the micro model. */
function runDirWithCheckpoint(root: string, model: string): string {
  const run = join(root, "run"), ckpt = join(run, "checkpoints", "step-00000003");
  mkdirSync(ckpt, { recursive: true });
  cpSync(model, join(ckpt, "model"), { recursive: true });
  writeFileSync(join(ckpt, "state.json"), JSON.stringify({ step: 3, optimizerT: 3, trainer: {}, files: {} }));
  writeFileSync(join(run, "checkpoints", "latest.json"), JSON.stringify({ step: 3, dir: "step-00000003" }));
  return run;
}

const common = ["--task", "arithmetic", "--task-options", '{"min_terms":2,"max_terms":3}', "--max-new-tokens", "6", "--n", "4"];

test("move37 eval: pass@1, pass@k and maj@k as a table or JSON, for a model folder, a checkpoint or a run", async () => {
  const root = tempRoot("eval-cli");
  const model = byteModelFolder(root);
  const always = await runCli(["eval", model, ...common, "--k", "3", "--reward", "test_always", "--json"]);
  assert.equal(always.error, undefined, always.error?.message);
  const a = JSON.parse(always.stdout);
  assert.deepEqual([a.problems, a.samples, a.k, a.pass1, a.passK, a.step, a.reward], [4, 12, 3, 1, 1, null, "test_always"]);
  const wider = JSON.parse((await runCli(["eval", model, ...common, "--k", "2", "--samples", "5", "--reward", "test_always", "--json"])).stdout);
  assert.deepEqual([wider.samples, wider.k, wider.passK], [20, 2, 1]);
  assert.equal((await runCli(["eval", model, ...common, "--k", "4", "--samples", "2", "--reward", "test_always"])).error?.name, "PassAtKError");
  const never = JSON.parse((await runCli(["eval", model, ...common, "--k", "3", "--reward", "test_never", "--json"])).stdout);
  assert.deepEqual([never.pass1, never.passK, never.majK], [0, 0, 0]);

  const run = runDirWithCheckpoint(root, model);
  const fromRun = JSON.parse((await runCli(["eval", run, ...common, "--k", "2", "--reward", "test_always", "--json"])).stdout);
  assert.equal(fromRun.step, 3);
  assert.match(fromRun.model, /step-00000003\/model$/);
  const table = await runCli(["eval", join(run, "checkpoints", "step-00000003"), ...common, "--k", "2", "--reward", "test_never"]);
  assert.match(table.stdout, /\(step 3\)/);
  assert.match(table.stdout, /pass@1\s+0\.0\n.*pass@2\s+0\.0\n.*maj@2\s+0\.0/s);
  const bad = await runCli(["eval", root, ...common, "--reward", "test_always"]);
  assert.equal(bad.error?.name, "PolicyFolderError");
});

test("move37 sample writes only verified samples with provenance, and SFT trains on its output", async () => {
  const root = tempRoot("sample-cli");
  // A policy that answers briefly and stops (EOS): SFT the micro model on one-to-three-letter completions.
  const short = traceRows(64).map((r, i) => ({ prompt: r.prompt, completion: ["x", "yy", "zzz"][i % 3] }));
  const policy = await runTrainer("sft", { model: byteModelFolder(root), train_file: writeJsonl(join(root, "short.jsonl"), short), eval_size: 0,
    max_steps: 20, max_length: 64, optimizer: { learning_rate: 0.03 }, save_steps: 0 }, { root });
  const out = join(root, "rs.jsonl");
  const r = await runCli(["sample", policy.dir, ...common, "--n", "12", "--k", "4", "--reward", "test_even", "--out", out]);
  assert.equal(r.error, undefined, r.error?.message);
  const rows = readFileSync(out, "utf8").trim().split("\n").map(l => JSON.parse(l));
  const count = (label: string) => Number(new RegExp(`${label}\\s+(\\d+)`).exec(r.stdout)![1]);
  assert.equal(count("drawn"), 48);
  assert.ok(rows.length > 4 && count("unverified") > 4, `a mixed sample: ${rows.length} kept, ${count("unverified")} unverified`);
  assert.equal(count("kept"), rows.length);
  for (const row of rows) {
    assert.equal(row.source.rewards.test_even, 1);
    assert.equal(`<think>${row.completion}`.length % 2, 0, "the verifier saw the completion as written");
    assert.ok(row.prompt.startsWith("User: ") && row.prompt.endsWith("Assistant: <think>"));
    assert.equal(row.source.step, 20);
    assert.equal(row.source.reward, "test_even");
    assert.ok(row.source.rewards.language === null || row.source.rewards.language >= 0.95);
  }
  assert.equal(new Set(rows.map(x => x.prompt + "\0" + x.completion)).size, rows.length, "no duplicates");
  // Training data never holds a problem of the held-out set `move37 eval` uses (eval_seed 2, 256 problems).
  const heldOut = distinctExamples(makeTask({ type: "arithmetic", min_terms: 2, max_terms: 3 }), 2, 256).map(e => tinyR1Prompt(e.question));
  assert.ok(rows.every(row => !heldOut.includes(row.prompt)));

  const sft = await runTrainer("sft", { model: byteModelFolder(join(root, "student")), train_file: out, eval_size: 0, per_device_train_batch_size: 4, max_steps: 2, max_length: 64 }, { root });
  assert.equal(metricsOf(sft).filter(m => m.loss !== undefined).length, 2);
});
