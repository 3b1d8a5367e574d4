/**
 * The reward model with `lora:`: adapters on the frozen trunk plus the score head, one AdamW over both; it learns
 * "contains X", its folder (merged trunk + head) scores as the trainer did, checkpoints hold an adapter, and a run
 * cut short then resumed continues exactly as the uninterrupted one. All of it with the trunk in F32 and, with
 * `torch_dtype: bfloat16`, frozen in BF16 (the adapters, the head and their moments F32; the saved trunk is the BF16
 * base widened exactly, plus s·B·A).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { loadRewardModel, encodeSequence, rewardModelFrom, scoreSequences } from "../../src/train/reward-model-net.js";
import { evaluatePairs, pairLoss } from "../../src/train/reward-model.js";
import { tokenizePair } from "../../src/train/reward-model-data.js";
import { LoraConfigSchema } from "../../src/model/lora.js";
import { uniformRng } from "../../src/rng.js";
import { byteModelFolder } from "../pipeline/micro.js";
import { readSafetensors } from "../../src/model/io/safetensors.js";
import { bf16ToF32, f32ToBf16 } from "../../src/model/io/half.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { containsXPairs, containsXSetup, rewardModelRecipe } from "../rlhf/pairs.js";

/**
 * How far the checkpoint (base + adapter, unmerged) may score from output_dir (the merged F32 trunk), relative to the
 * largest reward: F32 sums in another order (measured 1.6e-7); on a BF16 trunk the native AVX512-BF16 kernel, where it
 * is chosen, also rounds activations to BF16 (2⁻⁸ per product; measured 1.2e-5 here, where the kernel widens).
 */
const CHECKPOINT_TOLERANCE = { float32: 1e-5, bfloat16: 2 ** -6 };

const recipe = (model: string, trainFile: string, over: Record<string, unknown> = {}) =>
  rewardModelRecipe(model, trainFile, { optimizer: { learning_rate: 1e-2, weight_decay: 0, max_grad_norm: 1 }, lora: { r: 8, lora_alpha: 16, target_modules: "all-linear" }, ...over });

for (const dtype of ["float32", "bfloat16"] as const)
test(`a LoRA reward model on a ${dtype} trunk learns 'contains X', saves a merged trunk with its head, checkpoints an adapter, resumes exactly`, async () => {
  const root = tempRoot("lora-rm");
  const { model, file } = containsXSetup(root);
  const out = join(root, "rm");
  const run = await runTrainer("reward-model", recipe(model, file, { output_dir: out, torch_dtype: dtype }), { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.ok(report.after.accuracy > 0.9 && report.after.accuracy > report.before.accuracy + 0.2, `held-out pair accuracy ${report.before.accuracy} → ${report.after.accuracy}`);
  assert.ok(report.after.loss < 0.5 * report.before.loss, `held-out loss ${report.before.loss} → ${report.after.loss}`);
  // the embedding has no adapter: the saved trunk holds the base's, rounded to BF16 on a BF16 trunk (what was trained on)
  const embed = (dir: string) => readSafetensors(join(dir, "model.safetensors")).find(t => t.name === "model.embed_tokens.weight")!.data as Float32Array;
  const want = embed(model).slice();
  if (dtype === "bfloat16") { const h = new Uint16Array(want.length); f32ToBf16(want, h); bf16ToF32(h, want); }
  assert.deepEqual(Array.from(embed(out)), Array.from(want));
  const ck = join(run.checkpointsDir, readdirSync(run.checkpointsDir).filter(n => n.startsWith("step-")).sort().at(-1)!, "model");
  assert.ok(existsSync(join(ck, "adapter_model.safetensors")) && existsSync(join(ck, "reward_model.json")) && !existsSync(join(ck, "model.safetensors")));
  const nAdapter = readSafetensors(join(ck, "adapter_model.safetensors")).reduce((s, t) => s + t.data.length, 0);
  assert.equal(readSafetensors(join(ck, "..", "optimizer.safetensors")).find(t => t.name === "m")!.data.length, nAdapter + 32, "moments: adapters and head only");

  const { rm } = loadRewardModel(out, getBackend("auto"));
  const tok = loadTokenizer(out);
  const seqs = ["Q1: abcXdef", "Q1: abcqdef", "Q2: Xzzzzz", "Q2: yzzzzz"].map(s => encodeSequence(tok, s.slice(0, 4), s.slice(4), 32).ids);
  const r = scoreSequences(rm, seqs, tok.eosId!, 2);
  assert.ok(r[0] > r[1] && r[2] > r[3], `X should score higher: ${[...r].map(x => x.toFixed(2))}`);
  // the last checkpoint's model/ (adapter + reward_model.json) scores too: its base in the run's dtype, the adapter unmerged
  const rc = scoreSequences(loadRewardModel(ck, getBackend("auto"), { dtype }).rm, seqs, tok.eosId!, 2);
  const top = Math.max(...r.map(Math.abs)), tol = CHECKPOINT_TOLERANCE[dtype] * top;
  for (let i = 0; i < r.length; i++) assert.ok(Math.abs(rc[i] - r[i]) <= tol, `checkpoint vs output_dir, sequence ${i}: ${rc[i]} vs ${r[i]} (tolerance ${tol})`);

  const r2 = recipe(model, file, { eval_size: 16, max_steps: 6, save_steps: 2, eval_every: 3, torch_dtype: dtype, lora: { r: 4, lora_alpha: 8, lora_dropout: 0.1, target_modules: ["q_proj", "v_proj", "down_proj"] } });
  const straight = metricsOf(await runTrainer("reward-model", r2, { root, runName: "straight" })).filter(x => x.loss !== undefined);
  const cut = await runTrainer("reward-model", r2, { root, runName: "cut", abortAfterLog: 3 });
  const resumed = metricsOf(await runTrainer("reward-model", r2, { root, resumeDir: cut.dir })).filter(x => x.loss !== undefined);
  assert.equal(resumed.length, 6);
  for (let i = 0; i < 6; i++) for (const k of ["loss", "grad_norm"]) assert.equal(resumed[i][k], straight[i][k], `step ${i + 1} ${k}`);
});

test("a LoRA reward model's held-out figures run without adapter dropout and leave the dropout stream where it was", () => {
  const root = tempRoot("lora-rm-eval");
  const model = byteModelFolder(root, "micro", 16, 1, 5), tok = loadTokenizer(model), pad = tok.eosId!;
  const rm = rewardModelFrom(model, getBackend("auto"), { init: "pretrained", maxLength: 32, seed: 1 });
  rm.attachLora(LoraConfigSchema.parse({ r: 4, lora_alpha: 8, lora_dropout: 0.5, target_modules: "all-linear" }));
  const rand = uniformRng(3); // B ≠ 0, so the adapters (and their dropout) change the scores
  for (const a of rm.lora!.adapters) for (let i = 0; i < a.B.length; i++) a.B[i] = (rand() * 2 - 1) * 0.5;
  const pairs = containsXPairs(8, 4).map(p => tokenizePair(tok, p, 32));
  const calls = rm.lora!.ctl.dropoutCalls;
  const a = evaluatePairs(rm, pairs, pad, 8), b = evaluatePairs(rm, pairs, pad, 8);
  assert.deepEqual(a, b);
  assert.equal(rm.lora!.ctl.dropoutCalls, calls);
  // a training forward of the same batch draws dropout masks, and scores differently
  assert.notEqual(pairLoss(rm, pairs, pad, 0, false).loss, a!.loss);
  assert.ok(rm.lora!.ctl.dropoutCalls > calls);
});
