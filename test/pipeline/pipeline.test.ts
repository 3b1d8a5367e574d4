import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { PipelineConfigSchema } from "../../src/train/pipeline.js";
import { MissingModelError } from "../../src/train/grpo-trainer.js";
import { readJsonl } from "../../src/runs/read.js";
import { runTrainer, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, DIGIT_REWARD } from "./micro.js";

const STAGES = ["1-cold-start", "2-reasoning-rl", "3-rejection-sft", "4-final-rl"];

/** R1's four stages at micro scale (recipes/r1-tiny.yaml's shape); the digit reward stands in for accuracy. */
const recipe = (model: string) => ({
  model,
  heldout: { task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 6, max_new_tokens: 8 },
  stages: [
    { name: "cold-start", trainer: "sft", config: { traces: { n: 24 }, max_steps: 3, eval_size: 4, per_device_train_batch_size: 4, max_length: 96, optimizer: { learning_rate: 0.01 } } },
    { name: "reasoning-rl", trainer: "grpo", config: { eval_size: 4, save_steps: 0, grpo: { num_generations: 4, prompts_per_step: 2, max_completion_length: 8, reward_funcs: [DIGIT_REWARD, "format", "language"], learning_rate: 0.01, max_steps: 2 } } },
    { name: "rejection-sft", trainer: "distill", config: { num_prompts: 8, num_generations: 8, max_new_tokens: 24, reward: DIGIT_REWARD, min_language: 0, non_reasoning: { documents: 4 }, sft: { max_steps: 2, eval_size: 0, max_length: 96, optimizer: { learning_rate: 0.01 } } } },
    { name: "final-rl", trainer: "grpo", config: { eval_size: 4, save_steps: 0, grpo: { num_generations: 4, prompts_per_step: 2, max_completion_length: 8, reward_funcs: [DIGIT_REWARD, "format"], reward_weights: [1, 0.5], learning_rate: 0.01, max_steps: 2 } } },
  ],
});

const weights = (stageDir: string) => readFileSync(join(stageDir, "model", "model.safetensors"));

test("a micro R1 pipeline runs all four stages, keeps each stage's run, data and model, and reports every stage", async () => {
  const root = tempRoot("pipeline");
  const base = byteModelFolder(root, "base", 32, 1, 5, true);
  const run = await runTrainer("pipeline", recipe(base), { root, runName: "micro" });

  for (const s of STAGES) {
    const dir = join(run.dir, "stages", s);
    assert.equal(readJson(join(dir, "run.json")).status, "completed", `${s} run status`);
    assert.ok(existsSync(join(dir, "model", "config.json")) && existsSync(join(dir, "config.json")) && existsSync(join(dir, "heldout.json")), `${s} artefacts`);
    assert.ok(readJsonl(join(dir, "metrics.jsonl")).length > 0 || existsSync(join(dir, "sft", "metrics.jsonl")), `${s} metrics`);
  }
  // Each stage starts from the previous stage's model, and stage 3 samples from stage 2's.
  const cfg = (s: string) => readJson(join(run.dir, "stages", s, "config.json"));
  assert.equal(cfg("1-cold-start").model, base);
  assert.equal(cfg("2-reasoning-rl").model, join(run.dir, "stages", "1-cold-start", "model"));
  assert.equal(cfg("3-rejection-sft").teacher, join(run.dir, "stages", "2-reasoning-rl", "model"));
  assert.equal(cfg("3-rejection-sft").student, join(run.dir, "stages", "2-reasoning-rl", "model"));
  assert.equal(cfg("4-final-rl").model, join(run.dir, "stages", "3-rejection-sft", "model"));
  assert.deepEqual(cfg("2-reasoning-rl").task, { type: "arithmetic", min_terms: 2, max_terms: 3, digits: cfg("2-reasoning-rl").task.digits, ops: cfg("2-reasoning-rl").task.ops, non_negative: cfg("2-reasoning-rl").task.non_negative });
  const train = readJsonl<{ prompt: string; source: Record<string, unknown> }>(join(run.dir, "stages", "3-rejection-sft", "data", "train.jsonl"));
  assert.equal(train.filter(r => typeof r.source.corpus === "string").length, 4, "non-reasoning rows mixed in");
  assert.ok(train.some(r => r.source.reward === DIGIT_REWARD), "verified samples of stage 2 in the SFT data");

  const models = [readFileSync(join(base, "model.safetensors")), ...STAGES.map(s => weights(join(run.dir, "stages", s)))];
  for (let i = 0; i < models.length; i++) for (let j = i + 1; j < models.length; j++) assert.notDeepEqual(models[i], models[j], `models ${i} and ${j} are identical`);

  const report = readJson(join(run.dir, "report.json"));
  assert.deepEqual(report.stages.map((s: { stage: string }) => s.stage), ["base", "cold-start", "reasoning-rl", "rejection-sft", "final-rl"]);
  for (const s of report.stages) {
    for (const k of ["accuracy", "format", "mean_length", "language_judged"]) assert.ok(Number.isFinite(s[k]), `${s.stage}.${k} = ${s[k]}`);
    assert.ok(s.mean_length > 0 && s.mean_length <= 8);
    assert.ok(s.language === null || (s.language >= 0 && s.language <= 1));
  }

  // --resume of a finished pipeline skips every stage: no stage's model is rewritten.
  const before = STAGES.map(s => statSync(join(run.dir, "stages", s, "model", "model.safetensors")).mtimeMs);
  await runTrainer("pipeline", recipe(base), { root, resumeDir: run.dir });
  assert.deepEqual(STAGES.map(s => statSync(join(run.dir, "stages", s, "model", "model.safetensors")).mtimeMs), before);
});

test("an interrupted pipeline resumes at the interrupted stage, skipping the finished ones", async () => {
  const root = tempRoot("pipeline-resume");
  const base = byteModelFolder(root, "base", 32, 1, 5, true);
  const r = recipe(base);
  r.stages = r.stages.slice(0, 2);
  // Progress updates: 3 SFT steps, then the first GRPO step stops the run.
  const cut = await runTrainer("pipeline", r, { root, runName: "cut", abortAfterLog: 4 });
  const rl = join(cut.dir, "stages", "2-reasoning-rl");
  assert.equal(readJson(join(rl, "run.json")).status, "interrupted");
  assert.ok(!existsSync(join(cut.dir, "report.json")));
  const sftModel = statSync(join(cut.dir, "stages", "1-cold-start", "model", "model.safetensors")).mtimeMs;
  await runTrainer("pipeline", r, { root, resumeDir: cut.dir });
  assert.equal(statSync(join(cut.dir, "stages", "1-cold-start", "model", "model.safetensors")).mtimeMs, sftModel);
  assert.equal(readJson(join(rl, "run.json")).status, "completed");
  assert.equal(readJsonl<{ step: number; reward?: number }>(join(rl, "metrics.jsonl")).filter(m => m.reward !== undefined).map(m => m.step).join(), "1,2");
  assert.equal(readJson(join(cut.dir, "report.json")).stages.length, 3);
});

test("a pipeline recipe is checked before any work: stage configs by their trainer's schema, names and @references", () => {
  const base = recipe("models/x");
  const bad = { ...base, stages: [
    { ...base.stages[0], config: { ...base.stages[0].config, max_step: 3 } },
    { ...base.stages[1], config: { ...base.stages[1].config, model: "@final-rl" } },
    { ...base.stages[2], name: "cold-start" },
  ] };
  const r = PipelineConfigSchema.safeParse(bad);
  assert.ok(!r.success);
  const paths = r.error.issues.map(i => i.path.join("."));
  assert.ok(paths.includes("stages.0.config.max_step"), paths.join(" | "));
  assert.ok(paths.includes("stages.1.config.model"), paths.join(" | "));
  assert.ok(paths.includes("stages.2.name"), paths.join(" | "));
  assert.ok(PipelineConfigSchema.safeParse(base).success);
});

test("a pipeline from a folder without config.json fails with MissingModelError before measuring or running any stage", async () => {
  const root = tempRoot("pipeline-no-model");
  const missing = join(root, "no-model");
  await assert.rejects(runTrainer("pipeline", recipe(missing), { root, runName: "x" }), (e: Error) => e instanceof MissingModelError && e.message.startsWith(`${missing} holds no model (no config.json)`));
  assert.ok(!existsSync(join(root, "x", "heldout-base.json")) && !existsSync(join(root, "x", "stages")));
});
