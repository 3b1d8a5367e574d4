/**
 * The reward-model trainer on a micro byte model: it learns a synthetic preference ("the completion contains X")
 * to > 95% accuracy on held-out prompts, writes a reward-model folder that loads back with the same scores, and a
 * run cut short then resumed continues exactly as the uninterrupted one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadTokenizer } from "../../src/tokenizer/load.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { checkpointDirs } from "../../src/train/checkpoint.js";
import { readSafetensors, writeSafetensors } from "../../src/model/io/safetensors.js";
import { loadRewardModel, encodeSequence, scoreSequences, rewardModelFrom, RewardModelFolderError } from "../../src/train/reward-model-net.js";
import { parsePairs, PreferenceDataError, splitPairsByPrompt } from "../../src/train/reward-model-data.js";
import { byteModelFolder } from "../pipeline/micro.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { containsXPairs, containsXSetup, rewardModelRecipe } from "./pairs.js";


test("the reward model learns 'contains X' to > 95% held-out pair accuracy and its folder scores the same after loading", async () => {
  const root = tempRoot("rm");
  const { model, file } = containsXSetup(root);
  const out = join(root, "rm");
  const run = await runTrainer("reward-model", rewardModelRecipe(model, file, { output_dir: out }), { root });
  const report = readJson(join(run.dir, "report.json"));
  assert.ok(report.eval_pairs >= 64 && report.train_pairs + report.eval_pairs === 560);
  assert.ok(report.before.accuracy < 0.8, `an untrained head should be near chance, got ${report.before.accuracy}`);
  assert.ok(report.after.accuracy > 0.95, `held-out pair accuracy ${report.after.accuracy}`);
  const rows = metricsOf(run);
  for (const k of ["loss", "accuracy", "margin", "grad_norm", "learning_rate", "rewards/chosen"]) assert.ok(k in rows[1], `metric ${k} missing`);
  assert.ok(rows.some(r => typeof r.eval_accuracy === "number" && r.step > 0));

  // the written folder: same scores as the trainer's held-out figures imply (chosen above rejected)
  const { rm, file: info } = loadRewardModel(out, getBackend("auto"));
  assert.equal(info.max_length, 32);
  const tok = loadTokenizer(out);
  const seqs = ["Q1: abcXdef", "Q1: abcqdef", "Q2: Xzzzzz", "Q2: yzzzzz"].map(s => encodeSequence(tok, s.slice(0, 4), s.slice(4), 32).ids);
  const r = scoreSequences(rm, seqs, tok.eosId!, 2);
  assert.ok(r[0] > r[1] && r[2] > r[3], `X should score higher: ${[...r].map(x => x.toFixed(2))}`);
  assert.throws(() => loadRewardModel(model, getBackend("auto")), RewardModelFolderError);
});

/** A 6-step reward-model recipe run straight through, and the same run cut after its third log line (checkpoints every 2 steps). */
async function straightAndCut(root: string) {
  const model = byteModelFolder(root, "micro", 16, 1, 5);
  const file = join(root, "pairs.jsonl");
  writeFileSync(file, containsXPairs(120, 2).map(p => JSON.stringify(p)).join("\n") + "\n");
  const r = rewardModelRecipe(model, file, { eval_size: 16, max_steps: 6, save_steps: 2, eval_every: 3, optimizer: { learning_rate: 1e-3, weight_decay: 0.1, max_grad_norm: 0.5 } });
  const straight = metricsOf(await runTrainer("reward-model", r, { root, runName: "straight" })).filter(x => x.loss !== undefined);
  const cut = await runTrainer("reward-model", r, { root, runName: "cut", abortAfterLog: 3 });
  return { r, straight, cut };
}

test("reward-model training resumed from a checkpoint continues exactly as the uninterrupted run", async () => {
  const root = tempRoot("rm-resume");
  const { r, straight, cut } = await straightAndCut(root);
  const resumed = metricsOf(await runTrainer("reward-model", r, { root, resumeDir: cut.dir })).filter(x => x.loss !== undefined);
  assert.equal(resumed.length, 6);
  for (let i = 0; i < 6; i++) {
    assert.equal(resumed[i].loss, straight[i].loss, `step ${i + 1} loss`);
    assert.equal(resumed[i].grad_norm, straight[i].grad_norm, `step ${i + 1} grad norm`);
  }
});

test("a checkpoint in the layout from before the head joined the trunk's buffer (head and its moments in state.json) resumes exactly", async () => {
  const root = tempRoot("rm-old-ckpt");
  const { r, straight, cut } = await straightAndCut(root);
  // Rewrite every checkpoint as the old trainer wrote it: optimizer.safetensors holds the trunk's moments only,
  // state.json the head's weights and moments as JSON arrays (with its checksums updated).
  const H = 16, dirs = checkpointDirs(cut.checkpointsDir);
  assert.ok(dirs.length >= 1);
  for (const name of dirs) {
    const ckpt = join(cut.checkpointsDir, name), state = readJson(join(ckpt, "state.json"));
    const [m, v] = ["m", "v"].map(n => readSafetensors(join(ckpt, "optimizer.safetensors")).find(t => t.name === n)!.data as Float32Array);
    assert.ok(!("head" in state.trainer), "a new checkpoint keeps no head in state.json");
    state.trainer.head = { score: readJson(join(ckpt, "model", "reward_model.json")).score, m: Array.from(m.subarray(m.length - H)), v: Array.from(v.subarray(v.length - H)) };
    writeSafetensors(join(ckpt, "optimizer.safetensors"), [
      { name: "m", shape: [m.length - H], data: m.slice(0, m.length - H) }, { name: "v", shape: [v.length - H], data: v.slice(0, v.length - H) }]);
    state.files["optimizer.safetensors"] = createHash("sha256").update(readFileSync(join(ckpt, "optimizer.safetensors"))).digest("hex");
    writeFileSync(join(ckpt, "state.json"), JSON.stringify(state));
  }
  const latest = readJson(join(cut.checkpointsDir, "latest.json")).step;
  const resumed = await runTrainer("reward-model", r, { root, resumeDir: cut.dir });
  assert.ok(resumed.logs.some(l => l === `resumed at step ${latest}`), resumed.logs.join("\n"));
  assert.ok(!resumed.logs.some(l => /skipping checkpoint/.test(l)), resumed.logs.join("\n"));
  const rows = metricsOf(resumed).filter(x => x.loss !== undefined);
  assert.equal(rows.length, 6);
  for (let i = 0; i < 6; i++) assert.equal(rows[i].loss, straight[i].loss, `step ${i + 1} loss`);
});

test("preference data: named errors for bad rows, prompts held out whole", () => {
  assert.throws(() => parsePairs('{"prompt": "a", "chosen": "b"}\n', "x.jsonl"), (e: Error) => e instanceof PreferenceDataError && /x\.jsonl:1/.test(e.message));
  assert.throws(() => parsePairs("\n"), PreferenceDataError);
  const pairs = containsXPairs(300, 4);
  const { train, eval: held } = splitPairsByPrompt(pairs, 40, 0);
  assert.ok(held.length >= 40 && train.length + held.length === 300);
  const heldPrompts = new Set(held.map(p => p.prompt));
  assert.ok(train.every(p => !heldPrompts.has(p.prompt)), "a held-out prompt also appears in training");
  assert.throws(() => splitPairsByPrompt(pairs, 1000, 0), PreferenceDataError);
});

test("init: pretrained starts from the folder's weights, random from a fresh initialisation of its config; long sequences keep their end", () => {
  const root = tempRoot("rm-init");
  const model = byteModelFolder(root, "micro", 16, 1, 5);
  const be = getBackend("auto");
  const pre = rewardModelFrom(model, be, { init: "pretrained", maxLength: 8, seed: 9 }), rnd = rewardModelFrom(model, be, { init: "random", maxLength: 8, seed: 9 });
  const { model: lm } = loadPretrained(model, be);
  // The trunk's weights are the folder's; the head (score.weight) follows them in the same buffer.
  assert.deepEqual(pre.trunk.flatParams.subarray(0, lm.flatParams.length), lm.flatParams);
  assert.equal(pre.trunk.flatParams.length, lm.flatParams.length + pre.score.length);
  assert.notDeepEqual(rnd.trunk.flatParams.subarray(0, lm.flatParams.length), lm.flatParams);
  const tok = loadTokenizer(model);
  const long = encodeSequence(tok, "a long prompt", "tail", 8);
  assert.ok(long.truncated && long.ids.length === 8 && long.ids.at(-1) === tok.eosId);
  assert.equal(tok.decode(long.ids.slice(0, -1)), "mpttail");
});
