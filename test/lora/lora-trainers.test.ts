/**
 * LoRA through the trainers: GRPO with `lora:` learns the micro task with the base frozen, KL against the base with
 * adapters off, checkpoints and output_dir in PEFT's format, resume equal to the uninterrupted run; SFT likewise.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { readSafetensors } from "../../src/model/io/safetensors.js";
import { isLoraModel } from "../../src/train/lora.js";
import { runTrainer, metricsOf, readJson, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { traceRows, writeJsonl } from "../sft/fixtures.js";

/**
 * The micro byte model with embeddings 6× larger: the random model's tied head (std 0.02) can move a logit by at
 * most ~0.6 whatever the hidden state, so a frozen head would cap what any adapter can learn.
 */
function loraMicroFolder(root: string): string {
  const src = byteModelFolder(root), dir = join(root, "micro-wide");
  const { model } = loadPretrained(src, getBackend("auto"));
  const e = model.params.find(p => p.name === "model.embed_tokens.weight")!.data;
  for (let i = 0; i < e.length; i++) e[i] *= 6;
  savePretrained(model, dir, { copyFrom: src });
  return dir;
}

const lora = { r: 8, lora_alpha: 16, target_modules: "all-linear" };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("GRPO with lora: raises the reward with the base frozen, KL against adapters-off, and writes a PEFT adapter", async () => {
  const root = tempRoot("lora-grpo");
  const model = loraMicroFolder(root), out = join(root, "adapter");
  const base = microRecipe(model);
  const run = await runTrainer("grpo", microRecipe(model, { lora, output_dir: out, grpo: { ...base.grpo, max_steps: 24, learning_rate: 0.2, beta: 0.04 } }), { root });
  const rows = metricsOf(run).filter(r => r.reward !== undefined);
  assert.equal(rows.length, 24);
  const early = mean(rows.slice(0, 3).map(r => r.reward)), late = mean(rows.slice(-3).map(r => r.reward));
  assert.ok(late > early + 0.07, `reward should rise (about doubling): ${early.toFixed(3)} → ${late.toFixed(3)}`);
  assert.equal(rows[0].kl, 0, "step 1: the policy (B = 0) is the reference exactly");
  assert.ok(rows.at(-1)!.kl > 0, "later steps: the adapters moved the policy away from the base");
  // PEFT's files and key names; B moved, the shapes are [r, in] and [out, r]
  const cfg = readJson(join(out, "adapter_config.json"));
  assert.equal(cfg.peft_type, "LORA"); assert.equal(cfg.r, 8); assert.equal(cfg.lora_alpha, 16);
  assert.deepEqual(cfg.target_modules, ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]);
  const t = new Map(readSafetensors(join(out, "adapter_model.safetensors")).map(x => [x.name, x]));
  assert.equal(t.size, 14);
  assert.deepEqual(t.get("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")!.shape, [8, 32]);
  assert.deepEqual(t.get("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight")!.shape, [32, 8]);
  assert.ok(t.get("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight")!.data.some(x => x !== 0));
  assert.ok(existsSync(join(out, "tokenizer.json")));
  // the checkpoint holds the adapter and moments of the adapter's size only
  const ck = join(run.checkpointsDir, readdirSync(run.checkpointsDir).filter(n => n.startsWith("step-")).sort().at(-1)!);
  assert.ok(existsSync(join(ck, "model", "adapter_model.safetensors")) && !existsSync(join(ck, "model", "model.safetensors")));
  const nAdapter = [...t.values()].reduce((s, x) => s + x.data.length, 0);
  assert.equal(readSafetensors(join(ck, "optimizer.safetensors")).find(x => x.name === "m")!.data.length, nAdapter);
  // loading the adapter folder: its base (from adapter_config.json) untouched, the adapters attached
  const loaded = loadPretrained(out, getBackend("auto")).model, orig = loadPretrained(model, getBackend("auto")).model;
  assert.ok(isLoraModel(loaded));
  assert.deepEqual(Array.from(loaded.base.flatParams), Array.from(orig.flatParams));
  assert.deepEqual(Array.from(loaded.flatParams), [...t.values()].flatMap(x => Array.from(x.data)));
});

test("GRPO with lora: and beta > 0 resumed from a checkpoint continues exactly as the uninterrupted run", async () => {
  const root = tempRoot("lora-grpo-resume");
  const model = loraMicroFolder(root);
  const base = microRecipe(model);
  const r = microRecipe(model, { lora: { ...lora, lora_dropout: 0.1 }, grpo: { ...base.grpo, max_steps: 4, learning_rate: 0.05, beta: 0.04 } });
  const straight = metricsOf(await runTrainer("grpo", r, { root, runName: "straight" })).filter(x => x.reward !== undefined);
  const cut = await runTrainer("grpo", r, { root, runName: "cut", abortAfterLog: 2 });
  const resumed = metricsOf(await runTrainer("grpo", r, { root, resumeDir: cut.dir })).filter(x => x.reward !== undefined);
  assert.equal(resumed.length, 4);
  for (let i = 0; i < 4; i++) for (const k of ["reward", "loss", "grad_norm", "kl"]) assert.equal(resumed[i][k], straight[i][k], `step ${i + 1} ${k}`);
  assert.ok(straight[3].kl > 0);
});

test("SFT with lora: lowers the held-out loss and resumes exactly", async () => {
  const root = tempRoot("lora-sft");
  const r = (over: Record<string, unknown>) => ({
    model: loraMicroFolder(root), train_file: writeJsonl(join(root, "traces.jsonl"), traceRows(72)), eval_size: 8,
    per_device_train_batch_size: 8, max_length: 64, optimizer: { learning_rate: 0.1 }, eval_every: 4, save_steps: 3,
    lora: { r: 4, lora_alpha: 8, target_modules: ["q_proj", "v_proj", "up_proj", "down_proj"] }, max_steps: 12, ...over,
  });
  const straight = metricsOf(await runTrainer("sft", r({}), { root, runName: "straight" }));
  const evals = straight.filter(x => x.eval_loss !== undefined).map(x => x.eval_loss);
  assert.ok(evals.at(-1)! < evals[0] * 0.9, `eval loss should fall: ${evals.map(x => x.toFixed(3)).join(" → ")}`);
  const cut = await runTrainer("sft", r({}), { root, runName: "cut", abortAfterLog: 7 });
  const resumed = metricsOf(await runTrainer("sft", r({}), { root, resumeDir: cut.dir })).filter(x => x.loss !== undefined);
  const s = straight.filter(x => x.loss !== undefined);
  assert.equal(resumed.length, 12);
  for (let i = 0; i < 12; i++) assert.equal(resumed[i].loss, s[i].loss, `step ${i + 1} loss`);
});

test("a new lora: on an adapter folder is refused naming the merge; without lora: the adapter keeps training", async () => {
  const root = tempRoot("lora-twice");
  const model = loraMicroFolder(root), out = join(root, "adapter");
  const base = microRecipe(model), grpo = { ...base.grpo, max_steps: 1 };
  await runTrainer("grpo", microRecipe(model, { lora, output_dir: out, grpo }), { root, runName: "first" });
  await assert.rejects(runTrainer("grpo", microRecipe(out, { lora, grpo }), { root, runName: "again" }), /is a LoRA adapter folder.*move37 export .* --merge --format hf/);
  const more = join(root, "more");
  await runTrainer("grpo", microRecipe(out, { output_dir: more, grpo }), { root, runName: "continued" });
  assert.ok(existsSync(join(more, "adapter_config.json")));
  assert.notDeepEqual(readFileSync(join(more, "adapter_model.safetensors")), readFileSync(join(out, "adapter_model.safetensors")));
});
