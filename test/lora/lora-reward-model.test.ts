/**
 * The reward model with `lora:`: adapters on the frozen trunk plus the score head, one AdamW over both; it learns
 * "contains X", its folder (merged trunk + head) scores as the trainer did, checkpoints hold an adapter, and a run
 * cut short then resumed continues exactly as the uninterrupted one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { loadRewardModel, encodeSequence, scoreSequences } from "../../src/train/reward-model-net.js";
import { readSafetensors } from "../../src/model/io/safetensors.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { containsXSetup, rewardModelRecipe } from "../rlhf/pairs.js";

const recipe = (model: string, trainFile: string, over: Record<string, unknown> = {}) =>
  rewardModelRecipe(model, trainFile, { optimizer: { learning_rate: 1e-2, weight_decay: 0, max_grad_norm: 1 }, lora: { r: 8, lora_alpha: 16, target_modules: "all-linear" }, ...over });

test("a LoRA reward model learns 'contains X', saves a merged trunk with its head, checkpoints an adapter, resumes exactly", async () => {
  const root = tempRoot("lora-rm");
  const { model, file } = containsXSetup(root);
  const out = join(root, "rm");
  const run = await runTrainer("reward-model", recipe(model, file, { output_dir: out }), { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.ok(report.after.accuracy > 0.9 && report.after.accuracy > report.before.accuracy + 0.2, `held-out pair accuracy ${report.before.accuracy} → ${report.after.accuracy}`);
  const ck = join(run.checkpointsDir, readdirSync(run.checkpointsDir).filter(n => n.startsWith("step-")).sort().at(-1)!, "model");
  assert.ok(existsSync(join(ck, "adapter_model.safetensors")) && existsSync(join(ck, "reward_model.json")) && !existsSync(join(ck, "model.safetensors")));
  const nAdapter = readSafetensors(join(ck, "adapter_model.safetensors")).reduce((s, t) => s + t.data.length, 0);
  assert.equal(readSafetensors(join(ck, "..", "optimizer.safetensors")).find(t => t.name === "m")!.data.length, nAdapter + 32, "moments: adapters and head only");

  const { rm } = loadRewardModel(out, getBackend("auto"));
  const tok = loadTokenizer(out);
  const seqs = ["Q1: abcXdef", "Q1: abcqdef", "Q2: Xzzzzz", "Q2: yzzzzz"].map(s => encodeSequence(tok, s.slice(0, 4), s.slice(4), 32).ids);
  const r = scoreSequences(rm, seqs, tok.eosId!, 2);
  assert.ok(r[0] > r[1] && r[2] > r[3], `X should score higher: ${[...r].map(x => x.toFixed(2))}`);

  const r2 = recipe(model, file, { eval_size: 16, max_steps: 6, save_steps: 2, eval_every: 3, lora: { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ["q_proj", "v_proj", "down_proj"] } });
  const straight = metricsOf(await runTrainer("reward-model", r2, { root, runName: "straight" })).filter(x => x.loss !== undefined);
  const cut = await runTrainer("reward-model", r2, { root, runName: "cut", abortAfterLog: 3 });
  const resumed = metricsOf(await runTrainer("reward-model", r2, { root, resumeDir: cut.dir })).filter(x => x.loss !== undefined);
  assert.equal(resumed.length, 6);
  for (let i = 0; i < 6; i++) for (const k of ["loss", "grad_norm"]) assert.equal(resumed[i][k], straight[i][k], `step ${i + 1} ${k}`);
});
