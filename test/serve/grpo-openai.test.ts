import { test } from "node:test";
import assert from "node:assert/strict";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { spawnServe } from "./spawn-serve.js";

test("GRPO with the openai rollout backend against `move37 serve` learns the micro task as in-process GRPO does", async () => {
  const root = tempRoot("grpo-openai");
  const model = byteModelFolder(root);
  const local = metricsOf(await runTrainer("grpo", microRecipe(model), { root, runName: "local" })).filter(r => r.reward !== undefined);
  const server = await spawnServe(model);
  let remote, stale;
  try {
    remote = metricsOf(await runTrainer("grpo", microRecipe(model, { rollout: { backend: "openai", base_url: server.url, max_concurrency: 2 } }), { root, runName: "openai" }))
      .filter(r => r.reward !== undefined);
    // Without reloads the server keeps the trained weights of that run while the trainer starts afresh: the
    // sampler's log-probs are then far from the trainer's, and the correction must change the step.
    const oneStep = (correction: boolean) => microRecipe(model, {
      grpo: { ...microRecipe(model).grpo, max_steps: 1 },
      rollout: { backend: "openai", base_url: server.url, reload_endpoint: null, importance_sampling_correction: correction },
    });
    stale = await Promise.all([true, false].map(async on => metricsOf(await runTrainer("grpo", oneStep(on), { root, runName: `stale-${on}` })).find(r => r.reward !== undefined)!));
  } finally {
    await server.stop();
  }
  assert.equal(remote.length, 12);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const gain = (rows: Record<string, number>[]) => mean(rows.slice(-3).map(r => r.reward)) - mean(rows.slice(0, 3).map(r => r.reward));
  assert.ok(gain(local) > 0.2, `in-process reward gain ${gain(local).toFixed(3)}`);
  assert.ok(gain(remote) > 0.2, `openai-backend reward gain ${gain(remote).toFixed(3)}: first steps ${remote.slice(0, 3).map(r => r.reward.toFixed(3))}, last ${remote.slice(-3).map(r => r.reward.toFixed(3))}`);
  // One request per step with the step's seed, from the same weights: the first step samples exactly the in-process completions.
  assert.equal(remote[0].reward, local[0].reward);
  assert.equal(remote[0]["completions/mean_length"], local[0]["completions/mean_length"]);
  // The server's log-probs are the trainer's up to float rounding (weights reloaded after every step), so the
  // importance weights stay ≈ 1; stale weights would show as a large difference.
  for (const r of remote) {
    assert.ok(r["sampling/sampling_logp_difference/max"] < 1e-3, `step logp difference ${r["sampling/sampling_logp_difference/max"]}`);
    assert.ok(Math.abs(r["sampling/importance_sampling_ratio/mean"] - 1) < 1e-3);
  }
  assert.equal(local[0]["sampling/importance_sampling_ratio/mean"], undefined, "in-process sampling applies no correction");
  const [on, off] = stale;
  assert.equal(on.reward, off.reward);
  assert.ok(on["sampling/sampling_logp_difference/mean"] > 0.5, `stale weights: logp difference ${on["sampling/sampling_logp_difference/mean"]}`);
  assert.ok(on["sampling/importance_sampling_ratio/mean"] < 0.9);
  assert.equal(off["sampling/importance_sampling_ratio/mean"], undefined);
  assert.ok(Math.abs(on.grad_norm - off.grad_norm) > 1e-3 * off.grad_norm, `grad norm with correction ${on.grad_norm}, without ${off.grad_norm}`);
});
