/**
 * LoRA GRPO with rollouts from `move37 serve` (a real child process): after every step the merged policy reaches the
 * server through the reload folder, so the server's log-probs of the sampled completions equal the trainer's (the
 * policy being trained), not the base's. A run without reloads shows what the stale-policy bug looks like.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { spawnServe } from "../serve/spawn-serve.js";

test("LoRA GRPO through move37 serve: the server samples from the adapted policy of every step, not the base", async () => {
  const root = tempRoot("lora-serve");
  const src = byteModelFolder(root), model = join(root, "micro-wide");
  const { model: m } = loadPretrained(src, getBackend("auto"));
  const e = m.params.find(p => p.name === "model.embed_tokens.weight")!.data;
  for (let i = 0; i < e.length; i++) e[i] *= 6; // as lora-trainers.test.ts: a head the adapters can move
  savePretrained(m, model, { copyFrom: src });
  const recipe = (rollout: Record<string, unknown>) => microRecipe(model, {
    lora: { r: 8, lora_alpha: 16, target_modules: "all-linear" },
    grpo: { ...microRecipe(model).grpo, max_steps: 5, learning_rate: 0.2 },
    rollout: { backend: "openai", max_concurrency: 2, ...rollout },
  });
  const server = await spawnServe(model);
  let stale, synced;
  try {
    // first, no reloads: the server keeps the base while the adapters move
    stale = metricsOf(await runTrainer("grpo", recipe({ base_url: server.url, reload_endpoint: null }), { root, runName: "stale" })).filter(r => r.reward !== undefined);
    synced = metricsOf(await runTrainer("grpo", recipe({ base_url: server.url }), { root, runName: "synced" })).filter(r => r.reward !== undefined);
  } finally {
    await server.stop();
  }
  const diff = (r: Record<string, number>) => r["sampling/sampling_logp_difference/max"];
  assert.equal(synced.length, 5);
  // step 1: B = 0, the policy is the base, so both agree with the server
  assert.ok(diff(stale[0]) < 1e-3 && diff(synced[0]) < 1e-3);
  for (const r of synced.slice(1)) assert.ok(diff(r) < 1e-3, `synced step ${r.step}: server vs trainer log-prob difference ${diff(r)}`);
  for (const r of stale.slice(2)) assert.ok(diff(r) > 0.05, `stale step ${r.step}: the base's log-probs should differ from the policy's, got ${diff(r)}`);
});
