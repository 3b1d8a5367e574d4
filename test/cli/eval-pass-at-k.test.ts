// `move37 eval --pass-at-k 1,4,16`: the unbiased pass@k curve of any model on any problem set, per subset for
// countdown with held-out targets; and the estimator the curve rests on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { registerReward } from "../../src/rewards/registry.js";
import { runCli } from "./run-cli.js";
import { tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder } from "../train/grpo-micro.js";
import { parseKs, passAtK, passAtKCurve, passAtKCurves } from "../../src/train/pass-at-k.js";

// About half of a random model's completions: those of even length.
registerReward({ name: "test_even_pk", description: "test: 1 for an even-length completion", timeLimitMs: 50, sync: c => (c.length % 2 === 0 ? 1 : 0) });

test("passAtKCurve is the mean over problems of the unbiased estimator, per k; per subset when problems carry one", () => {
  const correct = [[true, false, false, false], [false, false, false, false], [true, true, false, false]];
  const curve = passAtKCurve(correct, [1, 2, 4]);
  assert.deepEqual(Object.keys(curve), ["1", "2", "4"]);
  for (const k of [1, 2, 4]) assert.equal(curve[String(k)], (passAtK(4, 1, k) + passAtK(4, 0, k) + passAtK(4, 2, k)) / 3);
  assert.equal(curve["1"], (0.25 + 0 + 0.5) / 3);
  assert.equal(curve["4"], 2 / 3);
  const bySubset = passAtKCurves(correct, [1, 4], ["seen_target", "unseen_target", "seen_target"]);
  assert.deepEqual(bySubset.subsets, { seen_target: { 1: 0.375, 4: 1 }, unseen_target: { 1: 0, 4: 0 } });
  assert.equal(passAtKCurves(correct, [1]).subsets, undefined);
  assert.deepEqual(parseKs("64, 1,4,16,4"), [1, 4, 16, 64]);
  assert.throws(() => parseKs("1,0"), /positive integers/);
  assert.throws(() => passAtKCurve([[true]], [2]), /1 ≤ k ≤ n/);
});

test("move37 eval --pass-at-k prints the curve (table and chart) and gives it in JSON, per subset for countdown", async () => {
  const root = tempRoot("eval-pass-at-k");
  const model = byteModelFolder(root);
  const countdown = ["--task", "countdown", "--task-options", '{"min_numbers":3,"max_numbers":3,"max_number":20,"min_target":10,"max_target":40,"generation":"target_first","held_out_targets":0.1,"eval_unseen_share":0.5}',
    "--max-new-tokens", "5", "--n", "6", "--reward", "test_even_pk"];
  const json = await runCli(["eval", model, ...countdown, "--pass-at-k", "1,2,8", "--json"]);
  assert.equal(json.error, undefined, json.error?.message);
  const r = JSON.parse(json.stdout);
  assert.equal(r.samples, 6 * 8, "max(k) samples per problem");
  assert.deepEqual(Object.keys(r.pass_at_k), ["1", "2", "8"]);
  // the curve's ends are the summary's pass@1 and pass@max(k), from the same samples
  assert.ok(Math.abs(r.pass_at_k["1"] - r.pass1) < 1e-12 && Math.abs(r.pass_at_k["8"] - r.passK) < 1e-12);
  assert.ok(r.pass_at_k["1"] > 0.2 && r.pass_at_k["1"] < 0.8, `a mixed reward: pass@1 ${r.pass_at_k["1"]}`);
  assert.ok(r.pass_at_k["1"] <= r.pass_at_k["2"] && r.pass_at_k["2"] <= r.pass_at_k["8"]);
  assert.deepEqual(Object.keys(r.subsets).sort(), ["seen_target", "unseen_target"]);

  const table = await runCli(["eval", model, ...countdown, "--pass-at-k", "1,2,8"]);
  assert.match(table.stdout, /k\s+pass@k %\s+seen_target %\s+unseen_target %/);
  assert.match(table.stdout, new RegExp(`\\n\\s*8\\s+${(100 * r.pass_at_k["8"]).toFixed(1)}\\s`));
  assert.match(table.stdout, /pass@k % over k = 1, 2, 8\n/);

  const few = await runCli(["eval", model, ...countdown, "--pass-at-k", "1,8", "--samples", "4"]);
  assert.equal(few.error?.name, "PassAtKError");
});
