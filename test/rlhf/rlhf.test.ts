/**
 * RLHF on a micro model: a reward model learns "more lowercase letters is better" from preference pairs, then GRPO
 * with `reward_model` as its only trained reward raises the learned reward, and with it the true lowercase share
 * (logged through a weight-0 rule reward), and with `reward_model_dtype: bfloat16` scores the same samples within BF16
 * rounding. Also: the reward's guards (no folder → a named error, no prompt → null).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { getReward, scoreBatch } from "../../src/rewards/registry.js";
import { RewardModelConfigError, useModelRewards, modelRewardExamples } from "../../src/rewards/reward-model.js";
import { makeRng } from "../../src/tasks/rng.js";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { generate } from "../../src/sample/generate.js";
import { tinyR1Prompt } from "../../src/tasks/index.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";

const OTHER = "0123456789+-=<>/ ABCXYZ.,!\uFFFD";

/** Pairs of 8-character completions: lowercase letters with probability 0.7 (chosen) against 0.1 (rejected). */
function lowercasePairs(n: number, seed: number) {
  const rng = makeRng(seed);
  const text = (p: number) => Array.from({ length: 8 }, () => (rng.next() < p ? String.fromCharCode(97 + rng.int(0, 25)) : OTHER[rng.int(0, OTHER.length - 1)])).join("");
  return Array.from({ length: n }, () => ({ prompt: tinyR1Prompt(`${rng.int(0, 9)}+${rng.int(0, 9)}=?`), chosen: text(0.7), rejected: text(0.1) }));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("GRPO with the learned reward model raises the learned reward (and here the true lowercase share)", async () => {
  const root = tempRoot("rlhf");
  const policy = byteModelFolder(root);
  const pairs = join(root, "pairs.jsonl");
  writeFileSync(pairs, lowercasePairs(400, 1).map(p => JSON.stringify(p)).join("\n") + "\n");
  const rmDir = join(root, "rm");
  const rmRun = await runTrainer("reward-model", {
    model: policy, train_file: pairs, eval_size: 48, max_length: 64, per_device_train_batch_size: 16, num_train_epochs: 4,
    optimizer: { learning_rate: 3e-3, weight_decay: 0, max_grad_norm: 1 }, schedule: { lr_scheduler_type: "constant" }, center_rewards_coefficient: 0.01,
    eval_every: 0, save_steps: 0, seed: 1, output_dir: rmDir,
  }, { root });
  assert.ok(readJson(join(rmRun.dir, "report.json")).after.accuracy > 0.9);

  const run = await runTrainer("grpo", microRecipe(policy, {
    reward_model: rmDir,
    grpo: { ...microRecipe(policy).grpo, reward_funcs: ["reward_model", "lowercase"], reward_weights: [1, 0], max_steps: 12 },
  }), { root });
  const rows = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(rows.length, 12);
  const early = (k: string) => mean(rows.slice(0, 3).map(r => r[k])), late = (k: string) => mean(rows.slice(-3).map(r => r[k]));
  const rm = "rewards/reward_model/mean", truth = "rewards/lowercase/mean";
  assert.ok(late(rm) > early(rm) + 0.5, `learned reward should rise: ${early(rm).toFixed(3)} → ${late(rm).toFixed(3)}`);
  assert.ok(late(truth) > early(truth) + 0.1, `lowercase share should rise with it: ${early(truth).toFixed(3)} → ${late(truth).toFixed(3)}`);
  // the total reward is the reward model's alone (weight 0 on the rule reward)
  assert.ok(Math.abs(rows[0].reward - rows[0][rm]) < 1e-9);

  // reward_model_dtype: bfloat16 scores step 1's samples (the same policy, the same seeds) with the trunk in BF16:
  // the same learned reward up to BF16 rounding, not bit for bit
  const bf = await runTrainer("grpo", microRecipe(policy, {
    reward_model: rmDir, reward_model_dtype: "bfloat16",
    grpo: { ...microRecipe(policy).grpo, reward_funcs: ["reward_model", "lowercase"], reward_weights: [1, 0], max_steps: 1 },
  }), { root, runName: "rm-bf16" });
  // (each score moves by a few 1e-4 of Σ|score·h|, test/rlhf/reward-model-bf16.test.ts; 1% of the scores' size is ample)
  const first = metricsOf(bf).filter(r => r.reward !== undefined)[0];
  assert.equal(first[truth], rows[0][truth], "the same samples");
  const d = Math.abs(first[rm] - rows[0][rm]), size = Math.abs(rows[0][rm]) + rows[0]["rewards/reward_model/std"];
  assert.ok(d > 0 && d < 0.01 * size, `BF16 vs F32 reward model, step 1 mean: ${first[rm]} vs ${rows[0][rm]}`);
});

test("reward_model: listed without a folder is a named error; without prompt fields it cannot judge (null)", async () => {
  assert.throws(() => useModelRewards(["reward_model"], { policy: "unused", temperature: 1 }), RewardModelConfigError);
  useModelRewards(["math"], { policy: "unused", temperature: 1 }); // not listed: nothing to load
  assert.ok(getReward("reward_model").batch);
  assert.deepEqual(await scoreBatch("reward_model", ["<think>x</think><answer>1</answer>"], [{ answer: "1" }]), [null]);
  assert.deepEqual(await scoreBatch("kl_penalty", ["x"], [{ answer: "1" }]), [null]);
});

test("kl_penalty: zero for samples of the reference itself, the same alone as in a batch, and negative once GRPO moves the policy", async () => {
  const root = tempRoot("kl");
  const policy = byteModelFolder(root);
  useModelRewards(["kl_penalty"], { policy, temperature: 0.9 });
  const { model } = loadPretrained(policy, getBackend("auto"));
  const tok = loadTokenizer(policy);
  const problems = [{ question: "1+2=?" }, { question: "3+4+5=?" }];
  const fmt = { text: (ex: { question: string }) => tinyR1Prompt(ex.question), encode: (ex: { question: string }) => tok.encode(tinyR1Prompt(ex.question), { addSpecialTokens: false }) };
  const gens = generate(model, tok, problems.map(fmt.encode), { maxNewTokens: 12, temperature: 0.9, numReturnSequences: 3, seed: 4 });
  const examples = modelRewardExamples(["kl_penalty"], gens, problems, fmt, tok);
  const all = await scoreBatch("kl_penalty", gens.map(g => g.text), examples);
  for (const v of all) assert.ok(v !== null && Math.abs(v) < 1e-3, `KL of the reference against itself: ${v}`);
  // a completion scored alone equals its score in the batch (offsets and padding)
  const tampered = examples.map((e, i) => ({ ...e, sampling_logprobs: ((e as Record<string, unknown>).sampling_logprobs as number[]).map((x, j) => x + (i === 4 ? 0.1 * j : 0)) }));
  const n = gens[4].ids.length;
  const batch = await scoreBatch("kl_penalty", gens.map(g => g.text), tampered), alone = await scoreBatch("kl_penalty", [gens[4].text], [tampered[4]]);
  assert.ok(Math.abs(batch[4]! - alone[0]!) < 1e-6 && Math.abs(batch[4]! - (all[4]! - 0.1 * n * (n - 1) / 2)) < 1e-3, `${batch[4]} vs ${alone[0]}`);

  const run = await runTrainer("grpo", microRecipe(policy, {
    grpo: { ...microRecipe(policy).grpo, reward_funcs: ["lowercase", "kl_penalty"], reward_weights: [1, 0.02], max_steps: 10 },
  }), { root });
  const rows = metricsOf(run).filter(r => r.reward !== undefined), kl = "rewards/kl_penalty/mean";
  assert.ok(Math.abs(rows[0][kl]) < 1e-3, `step 1 samples the reference: ${rows[0][kl]}`);
  assert.ok(rows.at(-1)![kl] < -0.05, `the policy has moved away from the reference: ${rows.at(-1)![kl]}`);
});
