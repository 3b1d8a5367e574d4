/**
 * The SFT trainer with packing and gradient accumulation, end to end on a micro model: accumulation over N
 * micro-batches trains like one N× batch, packing removes padding, a run cut and resumed ends bit-identical to
 * the uninterrupted one (weights, AdamW moments, step, data position), and the evaluation loss is the mean NLL
 * of the held-out rows, which training never sees.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadAddon } from "../../src/engine/native.js";
import { loadPretrained } from "../../src/model/io/pretrained.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { makeBatch, splitRows, tokenizeRow } from "../../src/train/sft-data.js";
import { sftLoss } from "../../src/train/sft.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, mixedRows, writeJsonl } from "./fixtures.js";

// Packed batches need an addon with segment attention; an older shared build falls back to the reference backend.
const backend = loadAddon()?.segmentAttention ? "auto" : "reference";

const recipe = (root: string, over: Record<string, unknown> = {}) => ({
  model: byteModelFolder(root), train_file: writeJsonl(join(root, "mixed.jsonl"), mixedRows(72)), eval_size: 8,
  per_device_train_batch_size: 8, max_length: 128, optimizer: { learning_rate: 0.01 }, eval_every: 3, save_steps: 2, backend, ...over,
});
const trainRows = (rows: Record<string, number>[]) => rows.filter(r => r.loss !== undefined);

test("gradient accumulation: 2 micro-batches of 4 train exactly like batches of 8 (same examples per step)", async () => {
  const root = tempRoot("sft-accum");
  const common = { max_steps: 5, group_by_length: false }; // random batches: micro-batches 2s, 2s+1 of 4 are batch s of 8
  const big = trainRows(metricsOf(await runTrainer("sft", recipe(root, { ...common }), { root, runName: "big" })));
  const acc = trainRows(metricsOf(await runTrainer("sft", recipe(root, { ...common, per_device_train_batch_size: 4, gradient_accumulation_steps: 2 }), { root, runName: "acc" })));
  assert.equal(acc.length, 5);
  for (let i = 0; i < 5; i++) {
    for (const k of ["loss", "grad_norm", "num_tokens", "epoch"]) {
      assert.ok(Math.abs(acc[i][k] - big[i][k]) <= 1e-4 * Math.abs(big[i][k]), `step ${i + 1} ${k}: ${acc[i][k]} vs ${big[i][k]}`);
    }
  }
  assert.ok(Math.abs(acc.at(-1)!.eval_loss - big.at(-1)!.eval_loss) < 1e-4, "same weights at the end");
  assert.ok(acc[0].loss !== acc[4].loss, "training moved");
});

test("packing: far fewer padded slots than one example per row, the same tokens trained, and the loss falls", async () => {
  const root = tempRoot("sft-pack");
  const plain = metricsOf(await runTrainer("sft", recipe(root, { num_train_epochs: 2 }), { root, runName: "plain" }));
  const packed = metricsOf(await runTrainer("sft", recipe(root, { num_train_epochs: 2, packing: true, per_device_train_batch_size: 2 }), { root, runName: "packed" }));
  const pad = (rows: Record<string, number>[]) => trainRows(rows).reduce((s, r) => s + r.padding_fraction, 0) / trainRows(rows).length;
  assert.ok(pad(packed) < pad(plain) / 2, `padding ${pad(packed)} packed vs ${pad(plain)}`);
  assert.equal(trainRows(packed).at(-1)!.num_tokens, trainRows(plain).at(-1)!.num_tokens, "two epochs train every completion token twice either way");
  const evals = packed.filter(r => r.eval_loss !== undefined).map(r => r.eval_loss);
  assert.ok(evals.at(-1)! < evals[0] * 0.8, `eval loss ${evals.map(x => x.toFixed(3)).join(" → ")}`);
});

test("packing + accumulation resumed after an interruption ends bit-identical to the uninterrupted run", async () => {
  const root = tempRoot("sft-pack-resume");
  const r = recipe(root, { max_steps: 10, packing: true, per_device_train_batch_size: 2, gradient_accumulation_steps: 2, save_steps: 4 });
  const straight = await runTrainer("sft", r, { root, runName: "straight" });
  const cut = await runTrainer("sft", r, { root, runName: "cut", abortAfterLog: 6 }); // Ctrl-C after step 6 checkpoints step 6
  assert.equal(trainRows(metricsOf(cut)).length, 6);
  const resumed = await runTrainer("sft", r, { root, resumeDir: cut.dir });
  const [a, b] = [trainRows(metricsOf(straight)), trainRows(metricsOf(resumed))];
  assert.equal(b.length, 10);
  assert.ok(a[5].epoch < 1 && a[9].epoch > 1, `the resumed part crosses an epoch boundary (epochs ${a[5].epoch} → ${a[9].epoch})`);
  for (let i = 0; i < 10; i++) for (const k of ["loss", "grad_norm", "num_tokens", "learning_rate"]) assert.equal(b[i][k], a[i][k], `step ${i + 1} ${k}`);
  assert.equal(b.at(-1)!.eval_loss, a.at(-1)!.eval_loss);
  const last = (dir: string) => join(dir, "checkpoints", readJson(join(dir, "checkpoints", "latest.json")).dir);
  for (const f of ["model/model.safetensors", "optimizer.safetensors"]) assert.ok(readFileSync(join(last(resumed.dir), f)).equals(readFileSync(join(last(straight.dir), f))), `${f} identical`);
  const [sa, sb] = [readJson(join(last(straight.dir), "state.json")), readJson(join(last(resumed.dir), "state.json"))];
  assert.deepEqual([sb.step, sb.optimizerT, sb.trainer], [sa.step, sa.optimizerT, sa.trainer]);
  assert.equal(sb.step, 10);
  assert.equal(sb.trainer.microBatches, 20, "the data position (micro-batches consumed) is saved");
});

test("the evaluation loss is the mean NLL of the held-out split's completion tokens, disjoint from training", async () => {
  const root = tempRoot("sft-eval");
  const r = recipe(root, { max_steps: 1, packing: true });
  const first = metricsOf(await runTrainer("sft", r, { root }))[0];
  assert.equal(first.step, 0);
  const rows = mixedRows(72), split = splitRows(rows, 8, 0);
  const key = (x: object) => JSON.stringify(x);
  assert.equal(split.eval.length, 8);
  assert.ok(!split.eval.some(e => split.train.map(key).includes(key(e))), "no held-out row is trained on");
  // The untrained model's loss over the held-out rows, computed here one row at a time and weighted by tokens.
  const { model } = loadPretrained(r.model, getBackend(backend));
  const tok = new ByteTokenizer();
  let sum = 0, n = 0;
  for (const row of split.eval) {
    const b = makeBatch(tokenizeRow(tok, row, 128), tok.padId!);
    sum += sftLoss(model, b, false) * b.numTokens;
    n += b.numTokens;
  }
  assert.ok(Math.abs(first.eval_loss - sum / n) < 1e-5, `eval_loss ${first.eval_loss} vs ${sum / n}`);
});
