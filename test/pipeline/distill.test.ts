import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { readJsonl } from "../../src/runs/read.js";
import { tinyModel, TOKENIZER, TOKENIZER_CONFIG } from "../sample/tiny-model.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, DIGIT_REWARD, hasDigit } from "./micro.js";

const recipe = (teacher: string, student: string, over: Record<string, unknown> = {}) => ({
  teacher, student, task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 8, num_prompts: 12, num_generations: 8,
  max_new_tokens: 8, reward: DIGIT_REWARD, min_language: 0, sft: { max_steps: 3, eval_size: 0, per_device_train_batch_size: 4, max_length: 96 }, ...over,
});

test("distill keeps only the traces the verifier accepts and fine-tunes a student of another size and tokenizer on them", async () => {
  const root = tempRoot("distill");
  const teacher = byteModelFolder(root, "teacher", 32, 1, 5, true);
  const student = join(root, "student");
  savePretrained(tinyModel(getBackend("auto")), student);
  writeTokenizerFiles(student, TOKENIZER.json, TOKENIZER_CONFIG);
  const run = await runTrainer("distill", recipe(teacher, student), { root });

  const stats = readJson(join(run.dir, "data", "stats.json"));
  assert.equal(stats.drawn, 96);
  assert.ok(stats.dropped.unverified > 0 && stats.kept > 0, `some traces must be dropped and some kept: ${JSON.stringify(stats)}`);
  const rows = readJsonl<{ prompt: string; completion: string; source: { rewards: Record<string, number> } }>(join(run.dir, "data", "traces.jsonl"));
  assert.equal(rows.length, stats.kept);
  assert.equal(stats.kept + Object.values(stats.dropped as Record<string, number>).reduce((a, b) => a + b, 0), stats.drawn);
  for (const r of rows) {
    assert.equal(hasDigit(r.completion), 1, `kept trace fails the verifier: ${JSON.stringify(r.completion)}`);
    assert.equal(r.source.rewards[DIGIT_REWARD], 1);
    assert.match(r.prompt, /^User: .*Assistant: <think>$/);
  }
  // The student (Qwen2, BPE vocabulary of 304) was trained on the byte teacher's text and written out.
  const sftMetrics = metricsOf({ dir: join(run.dir, "sft") } as never).filter(m => m.loss !== undefined);
  assert.equal(sftMetrics.length, 3);
  const out = join(run.dir, "model");
  assert.equal(readJson(join(out, "config.json")).vocab_size, 304);
  assert.ok(existsSync(join(out, "tokenizer.json")));
  assert.notDeepEqual(readFileSync(join(out, "model.safetensors")), readFileSync(join(student, "model.safetensors")));
  assert.equal(readJson(join(run.dir, "report.json")).data.kept, stats.kept);
});

test("distill without a verifier keeps every finished trace, and mixes in non-reasoning documents", async () => {
  const root = tempRoot("distill-plain");
  const teacher = byteModelFolder(root, "teacher", 32, 1, 5, true);
  const student = byteModelFolder(root, "student", 16, 2, 9);
  const run = await runTrainer("distill", recipe(teacher, student, { reward: undefined, non_reasoning: { documents: 5 }, sft: { max_steps: 2, eval_size: 0, max_length: 96 } }), { root });
  const stats = readJson(join(run.dir, "data", "stats.json"));
  assert.equal(stats.kept + (stats.dropped.overlong ?? 0), 96);
  const train = readJsonl<{ prompt: string; source: Record<string, unknown> }>(join(run.dir, "data", "train.jsonl"));
  assert.equal(train.length, stats.kept + 5);
  assert.equal(train.filter(r => r.prompt === "" && typeof r.source.corpus === "string").length, 5);
});

test("a distill whose SFT stage fails marks the sft child run failed with the error, and writes no report", async () => {
  const root = tempRoot("distill-fail");
  const teacher = byteModelFolder(root, "teacher", 32, 1, 5, true);
  // The byte model holds 192 positions: SFT refuses a longer max_length once it has loaded the student.
  const r = recipe(teacher, teacher, { num_prompts: 4, num_generations: 4, reward: undefined, sft: { max_steps: 1, eval_size: 0, max_length: 193 } });
  await assert.rejects(runTrainer("distill", r, { root, runName: "x" }), /max_length is 193 but the model has max_position_embeddings 192/);
  const child = readJson(join(root, "x", "sft", "run.json"));
  assert.equal(child.status, "failed");
  assert.match(child.error, /max_length is 193/);
  assert.ok(!existsSync(join(root, "x", "report.json")));
});
