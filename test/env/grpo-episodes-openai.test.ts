// Episodes sampled by an OpenAI-compatible server (`move37 serve`): each turn is a completions request with token-id
// prompts; the trainer's log-probs match the server's on the model's tokens, and the model learns to call the tool.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { spawnServe } from "../serve/spawn-serve.js";
import { recipe, warmModel } from "./secret-env.js";

test("multi-turn GRPO with the openai rollout backend against `move37 serve` learns to call the tool", async () => {
  const root = tempRoot("grpo-env-openai");
  const model = warmModel(join(root, "warm"));
  const server = await spawnServe(model);
  let rows: Record<string, number>[];
  try {
    rows = metricsOf(await runTrainer("grpo", { ...recipe(model, "test-secret"), rollout: { backend: "openai", base_url: server.url, max_concurrency: 2 } }, { root }))
      .filter(r => r.reward !== undefined);
  } finally {
    await server.stop();
  }
  assert.equal(rows.length, 15);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const early = mean(rows.slice(0, 3).map(r => r.reward)), late = mean(rows.slice(-3).map(r => r.reward));
  assert.ok(late > early + 0.3, `reward should rise: ${early.toFixed(3)} → ${late.toFixed(3)}`);
  assert.ok(rows.some(r => r["episodes/turns"] > 1), "episodes have several turns");
  // the sampler's log-probs of the model's tokens are the trainer's (weights reloaded every step): importance weights ≈ 1
  for (const r of rows) assert.ok(r["sampling/sampling_logp_difference/max"] < 1e-3, `logp difference ${r["sampling/sampling_logp_difference/max"]}`);
});
