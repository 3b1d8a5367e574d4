import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, traceRows, writeJsonl } from "./fixtures.js";

const recipe = (root: string, over: Record<string, unknown> = {}) => ({
  model: byteModelFolder(root), train_file: writeJsonl(join(root, "traces.jsonl"), traceRows(72)), eval_size: 8,
  per_device_train_batch_size: 8, max_length: 64, optimizer: { learning_rate: 0.01 }, eval_every: 10, save_steps: 3, ...over,
});

test("SFT lowers the held-out loss of a micro model on arithmetic traces and writes a model folder with its tokenizer", async () => {
  const root = tempRoot("sft");
  const out = join(root, "out");
  const run = await runTrainer("sft", recipe(root, { max_steps: 30, output_dir: out }), { root });
  const rows = metricsOf(run);
  const evals = rows.filter(r => r.eval_loss !== undefined).map(r => r.eval_loss);
  assert.equal(rows[0].step, 0);
  assert.ok(evals.at(-1)! < evals[0] * 0.6, `eval loss should fall: ${evals.map(x => x.toFixed(3)).join(" → ")}`);
  assert.equal(rows.filter(r => r.loss !== undefined).length, 30);
  for (const k of ["grad_norm", "learning_rate", "epoch", "num_tokens", "padding_fraction", "tokens_per_second"]) assert.ok(k in rows[1], `metric ${k}`);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]) assert.ok(existsSync(join(out, f)), f);
  assert.equal(readFileSync(join(out, "tokenizer.json"), "utf8"), readFileSync(join(root, "micro", "tokenizer.json"), "utf8"));
});

test("SFT resumed from a checkpoint continues exactly as the uninterrupted run (across an epoch boundary)", async () => {
  const root = tempRoot("sft-resume");
  const r = recipe(root, { max_steps: 12 }); // 64 training rows / 8 = 8 batches per epoch
  const straight = metricsOf(await runTrainer("sft", r, { root, runName: "straight" })).filter(x => x.loss !== undefined);
  const cut = await runTrainer("sft", r, { root, runName: "cut", abortAfterLog: 7 });
  assert.equal(metricsOf(cut).filter(x => x.loss !== undefined).length, 7);
  const resumed = metricsOf(await runTrainer("sft", r, { root, resumeDir: cut.dir })).filter(x => x.loss !== undefined);
  assert.equal(resumed.length, 12);
  for (let i = 0; i < 12; i++) {
    assert.equal(resumed[i].loss, straight[i].loss, `step ${i + 1} loss`);
    assert.equal(resumed[i].grad_norm, straight[i].grad_norm, `step ${i + 1} grad_norm`);
  }
  assert.equal(resumed.at(-1)!.eval_loss, straight.at(-1)!.eval_loss);
});

test("SFT refuses a max_length beyond the model's positions, and a dataset with nothing to train on", async () => {
  const root = tempRoot("sft-errors");
  await assert.rejects(runTrainer("sft", recipe(root, { max_length: 4096 }), { root, runName: "long" }), /max_position_embeddings 128/);
  const empty = writeJsonl(join(root, "empty.jsonl"), [{ prompt: "x".repeat(80), completion: "y" }]);
  await assert.rejects(runTrainer("sft", recipe(root, { train_file: empty, eval_size: 0 }), { root, runName: "empty" }), /no row has a completion token within max_length 64/);
});
