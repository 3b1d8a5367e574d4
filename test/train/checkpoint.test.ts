import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { AdamW } from "../../src/train/optimizer.js";
import { checkpointDirs, loadLatestCheckpoint, saveCheckpoint } from "../../src/train/checkpoint.js";
import { tempRoot } from "./trainer-harness.js";

const config = { architecture: "llama" as const, vocab_size: 20, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 2,
  intermediate_size: 24, rope_theta: 10000, rms_norm_eps: 1e-6, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 32, bos_token_id: null, eos_token_id: null };

function trained(seed: number) {
  const be = getBackend("reference");
  const model = createModel(config, be, seed);
  const opt = new AdamW(model, be, { learning_rate: 1e-2 });
  model.flatGrads.forEach((_, i) => (model.flatGrads[i] = Math.sin(i + seed)));
  opt.step();
  return { be, model, opt };
}

test("a checkpoint restores weights, AdamW moments, step and trainer state exactly", () => {
  const dir = join(tempRoot("ckpt"), "checkpoints");
  const a = trained(1);
  saveCheckpoint(dir, 7, a.model, a.opt, { cursor: 42 });
  const b = trained(2);
  const state = loadLatestCheckpoint<{ cursor: number }>(dir, b.model, b.opt);
  assert.ok(state);
  assert.equal(state.step, 7);
  assert.deepEqual(state.trainer, { cursor: 42 });
  assert.equal(b.opt.t, a.opt.t);
  assert.deepEqual(b.model.flatParams, a.model.flatParams);
  assert.deepEqual(b.opt.m, a.opt.m);
  assert.deepEqual(b.opt.v, a.opt.v);
});

test("a damaged newest checkpoint is skipped for the previous good one; staging folders are ignored", () => {
  const dir = join(tempRoot("ckpt-damaged"), "checkpoints");
  const a = trained(1);
  saveCheckpoint(dir, 1, a.model, a.opt, { cursor: 1 });
  const good = Float32Array.from(a.model.flatParams);
  a.opt.step();
  saveCheckpoint(dir, 2, a.model, a.opt, { cursor: 2 });
  // Flip one byte of the newest weights, and leave a half-written staging folder as a killed save would.
  const weights = join(dir, "step-00000002", "model", "model.safetensors");
  const bytes = readFileSync(weights);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(weights, bytes);
  mkdirSync(join(dir, ".step-00000003.tmp-999"));
  const warnings: string[] = [];
  const b = trained(3);
  const state = loadLatestCheckpoint<{ cursor: number }>(dir, b.model, b.opt, w => warnings.push(w));
  assert.equal(state?.step, 1);
  assert.deepEqual(b.model.flatParams, good);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /step-00000002.*checksum/);
  assert.deepEqual(checkpointDirs(dir), ["step-00000002", "step-00000001"]);
});

test("keep limits the number of checkpoints kept, newest first", () => {
  const dir = join(tempRoot("ckpt-keep"), "checkpoints");
  const a = trained(1);
  for (const s of [1, 2, 3]) saveCheckpoint(dir, s, a.model, a.opt, {}, { keep: 2 });
  assert.deepEqual(checkpointDirs(dir), ["step-00000003", "step-00000002"]);
  assert.ok(!existsSync(join(dir, "step-00000001")));
  assert.equal(JSON.parse(readFileSync(join(dir, "latest.json"), "utf8")).step, 3);
});
