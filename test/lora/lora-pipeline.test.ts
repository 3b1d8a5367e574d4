/**
 * The R1 pipeline with LoRA: the cold-start SFT stage trains an adapter (lora:), and every later stage — GRPO,
 * distillation (teacher and student), GRPO — loads the previous stage's adapter folder and keeps training it; each
 * stage's model/ is a PEFT adapter over the one base, which never changes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runTrainer, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, DIGIT_REWARD } from "../pipeline/micro.js";

test("a micro R1 pipeline whose first stage adds LoRA adapters trains that adapter through every stage", async () => {
  const root = tempRoot("lora-pipeline");
  const base = byteModelFolder(root, "base", 32, 1, 5, true);
  const grpo = (lr: number) => ({ eval_size: 4, save_steps: 0, grpo: { num_generations: 4, prompts_per_step: 2, max_completion_length: 8, reward_funcs: [DIGIT_REWARD, "format"], learning_rate: lr, max_steps: 2 } });
  const run = await runTrainer("pipeline", {
    model: base,
    heldout: { task: { type: "arithmetic", min_terms: 2, max_terms: 3 }, eval_size: 6, max_new_tokens: 8 },
    stages: [
      { name: "cold-start", trainer: "sft", config: { traces: { n: 24 }, max_steps: 3, eval_size: 4, per_device_train_batch_size: 4, max_length: 96, optimizer: { learning_rate: 0.05 }, lora: { r: 4, lora_alpha: 8, target_modules: "all-linear" } } },
      { name: "reasoning-rl", trainer: "grpo", config: grpo(0.05) },
      { name: "rejection-sft", trainer: "distill", config: { num_prompts: 8, num_generations: 8, max_new_tokens: 24, reward: DIGIT_REWARD, min_language: 0, sft: { max_steps: 2, eval_size: 0, max_length: 96, optimizer: { learning_rate: 0.05 } } } },
      { name: "final-rl", trainer: "grpo", config: grpo(0.05) },
    ],
  }, { root, runName: "lora" });
  const stages = ["1-cold-start", "2-reasoning-rl", "3-rejection-sft", "4-final-rl"];
  const adapters = stages.map(s => {
    const dir = join(run.dir, "stages", s, "model");
    assert.ok(existsSync(join(dir, "adapter_config.json")) && !existsSync(join(dir, "model.safetensors")), `${s}: an adapter folder`);
    assert.equal(readJson(join(dir, "adapter_config.json")).base_model_name_or_path, base, `${s}: over the one base`);
    return readFileSync(join(dir, "adapter_model.safetensors"));
  });
  for (let i = 1; i < adapters.length; i++) assert.notDeepEqual(adapters[i], adapters[i - 1], `stage ${i + 1} trained the adapter further`);
  const report = readJson(join(run.dir, "report.json"));
  assert.deepEqual(report.stages.map((s: { stage: string }) => s.stage), ["base", "cold-start", "reasoning-rl", "rejection-sft", "final-rl"]);
  for (const s of report.stages) assert.ok(Number.isFinite(s.accuracy), `${s.stage} evaluated`);
});
