import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { tinyModel, TOKENIZER, TOKENIZER_CONFIG } from "../sample/tiny-model.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "./trainer-harness.js";
import { byteModelFolder, microRecipe as recipe } from "./grpo-micro.js";

test("GRPO raises the reward of a micro byte model, and logs TRL's metrics, samples and a report", async () => {
  const root = tempRoot("grpo");
  const run = await runTrainer("grpo", recipe(byteModelFolder(root)), { root });
  const rows = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(rows.length, 12);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const early = mean(rows.slice(0, 3).map(r => r.reward)), late = mean(rows.slice(-3).map(r => r.reward));
  assert.ok(late > early + 0.2, `reward should rise: first steps ${early.toFixed(3)}, last steps ${late.toFixed(3)}`);
  for (const k of ["reward_std", "frac_reward_zero_std", "rewards/lowercase/mean", "completions/mean_length", "completions/clipped_ratio", "grad_norm", "learning_rate", "clip_ratio/region_mean", "entropy", "time/generation"])
    assert.ok(k in rows[0], `metric ${k} missing`);
  const report = readJson(join(run.dir, "report.json"));
  assert.equal(report.task, "arithmetic");
  assert.ok(typeof report.before.accuracy === "number" && typeof report.after.mean_length === "number");
  assert.ok(report.minutes >= report.train_minutes && report.train_minutes > 0, "minutes counts the whole run, train_minutes the RL steps");
  assert.ok(existsSync(join(run.dir, "samples.jsonl")));
  const closing = run.logs.at(-1)!;
  assert.match(closing, /completions\/mean_length {2}\(steps 1–12\)\n/, "the closing report charts the completion length");
  assert.match(closing, /accuracy \(greedy\)/);
});

test("GRPO resumed from a checkpoint continues exactly as the uninterrupted run", async () => {
  const root = tempRoot("grpo-resume");
  const model = byteModelFolder(root);
  const r = recipe(model, { grpo: { ...recipe(model).grpo, max_steps: 4 } });
  const straight = metricsOf(await runTrainer("grpo", r, { root, runName: "straight" })).filter(x => x.reward !== undefined);
  const cut = await runTrainer("grpo", r, { root, runName: "cut", abortAfterLog: 2 });
  const resumed = metricsOf(await runTrainer("grpo", r, { root, resumeDir: cut.dir })).filter(x => x.reward !== undefined);
  assert.equal(resumed.length, 4);
  for (let i = 0; i < 4; i++) {
    assert.equal(resumed[i].reward, straight[i].reward, `step ${i + 1} reward`);
    assert.equal(resumed[i].loss, straight[i].loss, `step ${i + 1} loss`);
  }
});

test("GRPO runs on a Qwen2-format folder with a BPE tokenizer and chat template, with a KL reference (beta > 0)", async () => {
  const root = tempRoot("grpo-qwen2");
  const dir = join(root, "qwen2");
  savePretrained(tinyModel(getBackend("auto")), dir);
  writeTokenizerFiles(dir, TOKENIZER.json, TOKENIZER_CONFIG);
  const run = await runTrainer("grpo", recipe(dir, {
    prompt: { template: "chat" },
    grpo: { num_generations: 4, prompts_per_step: 2, max_completion_length: 6, reward_funcs: ["lowercase", "format"], reward_weights: [1, 0.5], beta: 0.04, num_iterations: 2, learning_rate: 1e-3, max_steps: 2 },
  }), { root });
  const rows = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(rows.length, 2);
  assert.ok(Number.isFinite(rows[1].kl) && rows[1].kl >= 0, `kl ${rows[1].kl}`);
  assert.ok("rewards/format/mean" in rows[0]);
});
