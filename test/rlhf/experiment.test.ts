/**
 * The rlhf-vs-rl experiment at a tiny budget on a micro model: preference pairs from the base labelled by a
 * length-loving annotator, a reward model fitted to them, GRPO on the rule reward and GRPO on the reward model from
 * the same base, every checkpoint measured on the same held-out set. The full recipe
 * (recipes/experiments/rlhf-vs-rl.yaml) is this with the tiny base model and a real budget.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { rankingAuc } from "../../src/train/reward-model-experiment.js";
import { MissingModelError } from "../../src/train/grpo-trainer.js";
import { byteModelFolder, DIGIT_REWARD } from "../pipeline/micro.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";

const recipe = (model: string, over: Record<string, unknown> = {}) => ({
  model,
  heldout: { task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 16, accuracy_reward: DIGIT_REWARD, max_new_tokens: 10 },
  prefs: { num_prompts: 32, num_generations: 4, labeller: { type: "annotator", accuracy_weight: 1, length_weight: 10, error_rate: 0.1 } },
  reward_model: { eval_size: 16, max_length: 96, per_device_train_batch_size: 16, num_train_epochs: 4, optimizer: { learning_rate: 3e-3, weight_decay: 0 }, eval_every: 0, save_steps: 0 },
  grpo: { num_generations: 8, prompts_per_step: 4, learning_rate: 0.02, max_steps: 12, seed: 7 },
  eval_every: 6,
  kl_coef: 0.01,
  ...over,
});

test("rlhf-vs-rl at a tiny budget: both arms from one base, measured at every checkpoint on one held-out set; resume reuses it all", async () => {
  const root = tempRoot("rlhf-vs-rl");
  const model = byteModelFolder(root, "micro", 32, 1, 5, true);
  const run = await runTrainer("rlhf-vs-rl", recipe(model), { root, runName: "exp" });
  const report = readJson(join(run.dir, "report.json"));
  assert.ok(report.prefs.pairs > 20, `${report.prefs.pairs} pairs`);
  assert.ok(report.prefs.chosen_longer > 0.8, "the annotator's length bias shows in its labels");
  assert.equal(typeof report.reward_model_pair_accuracy, "number");
  for (const arm of ["rl", "rlhf"]) {
    assert.deepEqual(report[arm].map((f: { step: number }) => f.step), [0, 6, 12], `${arm} measured at base, 6 and 12`);
    assert.ok(existsSync(join(run.dir, arm, "checkpoints", "step-00000006", "model", "config.json")));
  }
  assert.deepEqual(report.rl[0], report.rlhf[0], "both arms start from the same measured base");
  // the RLHF arm optimises the learned reward: its held-out RM score rises, above the rule-trained arm's
  const [b, rl, rlhf] = [report.rlhf[0].rm_score, report.rl.at(-1).rm_score, report.rlhf.at(-1).rm_score];
  assert.ok(rlhf > b + 0.1 && rlhf > rl, `RM score: base ${b}, rl ${rl}, rlhf ${rlhf}`);
  // the rlhf arm trained on the reward model and logged the rule reward beside it (weight 0), and the rl arm the reverse
  const rlhfRows = metricsOf({ dir: join(run.dir, "rlhf") } as never).filter(r => r.reward !== undefined);
  assert.ok(`rewards/${DIGIT_REWARD}/mean` in rlhfRows[0] && "rewards/kl_penalty/mean" in rlhfRows[0]);
  for (const r of rlhfRows) assert.ok(Math.abs(r.reward - (r["rewards/reward_model/mean"] + 0.01 * r["rewards/kl_penalty/mean"])) < 1e-9, "rlhf reward = RM + β·KL penalty");
  const rows = metricsOf(run);
  for (const k of ["rl/accuracy", "rl/rm_score", "rl/mean_length", "rlhf/accuracy", "rlhf/rm_score", "rlhf/mean_length"]) assert.ok(rows.some(r => k in r), `metric ${k}`);

  const again = await runTrainer("rlhf-vs-rl", recipe(model), { root, resumeDir: run.dir });
  assert.deepEqual(readJson(join(again.dir, "report.json")), report);
  assert.equal(metricsOf(again).length, rows.length);
  assert.equal(readFileSync(join(run.dir, "prefs", "prefs.jsonl"), "utf8").trim().split("\n").length, report.prefs.pairs);
});

test("rlhf-vs-rl with a cold start: SFT on worked traces first, and everything starts from its model", async () => {
  const root = tempRoot("rlhf-vs-rl-cold");
  const model = byteModelFolder(root, "micro", 32, 1, 5, true);
  const run = await runTrainer("rlhf-vs-rl", recipe(model, {
    cold_start: { traces: { n: 16 }, eval_size: 0, max_length: 96, per_device_train_batch_size: 8, num_train_epochs: 1, save_steps: 0, eval_every: 0 },
    grpo: { num_generations: 4, prompts_per_step: 2, learning_rate: 0.01, max_steps: 2, seed: 7 }, eval_every: 2, prefs: { num_prompts: 8, num_generations: 4 },
  }), { root });
  const start = join(run.dir, "cold-start", "model");
  const report = readJson(join(run.dir, "report.json"));
  assert.equal(report.start_model, start);
  assert.ok(metricsOf({ dir: join(run.dir, "cold-start") } as never).some(r => typeof r.loss === "number"), "the cold start trained");
  assert.equal(readJson(join(run.dir, "rl", "config.json")).model, start);
  assert.equal(JSON.parse(readFileSync(join(run.dir, "prefs", "prefs.jsonl"), "utf8").split("\n")[0]).source.model, start);
});

test("rlhf-vs-rl from a folder without config.json fails with MissingModelError before sampling any preference pair", async () => {
  const root = tempRoot("rlhf-vs-rl-no-model");
  const missing = join(root, "no-model");
  await assert.rejects(runTrainer("rlhf-vs-rl", recipe(missing), { root, runName: "x" }), (e: Error) => e instanceof MissingModelError && e.message.startsWith(`${missing} holds no model (no config.json)`));
  assert.ok(!existsSync(join(root, "x", "prefs")));
});

test("rankingAuc: share of (correct, wrong) pairs the scores order correctly", () => {
  assert.equal(rankingAuc([3, 1, 2], [true, false, false]), 1);
  assert.equal(rankingAuc([1, 3, 4], [true, false, true]), 0.5);
  assert.equal(rankingAuc([1, 3, 2], [true, false, true]), 0);
  assert.equal(rankingAuc([1, 1], [true, false]), 0.5);
  assert.equal(rankingAuc([1, 2], [true, true]), null);
});
