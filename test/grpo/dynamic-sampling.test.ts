/**
 * DAPO dynamic sampling with resampling (grpo.dynamic_sampling_max_rounds): the data positions and seeds of each
 * round, and the trainer on a micro byte model with a reward most groups agree on, so steps resample.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import "../../src/train/grpo-trainer.js";
import { registerReward } from "../../src/rewards/registry.js";
import { mixSeed } from "../../src/tasks/rng.js";
import { dataPosition, healthWarnings, informativeGroups, MAX_SAMPLING_ROUNDS, samplingSeed } from "../../src/train/grpo/index.js";
import { GRPOConfigSchema } from "../../src/train/grpo/config.js";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";

// 1 when the completion starts with a lowercase letter: a random byte model does so ~10% of the time, so with two
// samples per prompt most groups are all 0 and carry no signal.
registerReward({ name: "first_lower", description: "test: first character is a-z", timeLimitMs: 50, sync: c => (/^[a-z]/.test(c.replace(/^<think>/, "")) ? 1 : 0) });
registerReward({ name: "always_zero", description: "test: 0", timeLimitMs: 50, sync: () => 0 });

test("round 1 reads the positions and seed of a step without dynamic sampling; later rounds never share a position", () => {
  const P = 4, seen = new Set<number>();
  for (let step = 0; step < 50; step++) {
    for (let i = 0; i < P; i++) assert.equal(dataPosition(step, 1, i, P), step * P + i);
    for (let r = 1; r <= MAX_SAMPLING_ROUNDS; r++) for (let i = 0; i < P; i++) {
      const at = dataPosition(step, r, i, P);
      assert.ok(!seen.has(at) && at < 2 ** 32, `step ${step} round ${r} prompt ${i}: position ${at}`);
      seen.add(at);
    }
    assert.equal(samplingSeed(42, step, 1), mixSeed(42, step));
    assert.notEqual(samplingSeed(42, step, 2), samplingSeed(42, step, 1));
  }
  assert.throws(() => dataPosition(0, MAX_SAMPLING_ROUNDS + 1, 0, P));
  assert.throws(() => GRPOConfigSchema.parse({ reward_funcs: ["format"], dynamic_sampling_max_rounds: MAX_SAMPLING_ROUNDS + 1 }));
  // The first `limit` informative groups only.
  assert.deepEqual(informativeGroups([0, 0, 1, 0, 0, 1, 1, 1, 1, 0], 2, 2), { groups: [1, 2], rows: [2, 3, 4, 5] });
});

test("the frac_reward_zero_std warning says what is true with dynamic sampling on and off", () => {
  const m = { frac_reward_zero_std: 1, "completions/clipped_ratio": 0, "dynamic_sampling/rounds": 3, "dynamic_sampling/groups_kept": 0 };
  const off = healthWarnings({ frac_reward_zero_std: 1, "completions/clipped_ratio": 0 });
  assert.match(off[0], /turn on dynamic_sampling/);
  const on = healthWarnings(m, { dynamicSampling: { groups: 4, maxRounds: 3 } });
  assert.equal(on.length, 1);
  assert.doesNotMatch(on[0], /turn on dynamic_sampling/);
  assert.match(on[0], /over 3 sampling rounds: dynamic sampling found 0 of the 4 informative groups .*step was skipped.*raise dynamic_sampling_max_rounds \(now 3\)/);
  // Resampling filled the batch: the groups it trained on all carry signal, so there is nothing to warn about.
  assert.deepEqual(healthWarnings({ ...m, "dynamic_sampling/groups_kept": 4 }, { dynamicSampling: { groups: 4, maxRounds: 3 } }), []);
});

const dynamicRecipe = (model: string, over: Record<string, unknown> = {}) => microRecipe(model, {
  grpo: { ...microRecipe(model).grpo, num_generations: 2, prompts_per_step: 4, reward_funcs: ["first_lower"], dynamic_sampling: true, dynamic_sampling_max_rounds: 4, max_steps: 4, ...over },
});

test("GRPO resamples until prompts_per_step groups are informative or the rounds run out, logs it, and resumes exactly", async () => {
  const root = tempRoot("grpo-dynamic");
  const model = byteModelFolder(root);
  const straight = metricsOf(await runTrainer("grpo", dynamicRecipe(model), { root, runName: "straight" })).filter(x => x.reward !== undefined);
  assert.equal(straight.length, 4);
  for (const r of straight) {
    const rounds = r["dynamic_sampling/rounds"], kept = r["dynamic_sampling/groups_kept"];
    assert.equal(r["dynamic_sampling/groups_sampled"], 4 * rounds);
    assert.ok(kept <= 4 && rounds >= 1 && rounds <= 4);
    assert.ok(kept === 4 || rounds === 4, `a step stops early only with a full batch (rounds ${rounds}, kept ${kept})`);
    assert.equal(r.frac_groups_kept, kept / (4 * rounds));
  }
  assert.ok(straight.some(r => r["dynamic_sampling/rounds"] > 1), "this reward leaves round 1 short of informative groups");

  const cut = await runTrainer("grpo", dynamicRecipe(model), { root, runName: "cut", abortAfterLog: 2 });
  const resumed = metricsOf(await runTrainer("grpo", dynamicRecipe(model), { root, resumeDir: cut.dir })).filter(x => x.reward !== undefined);
  assert.equal(resumed.length, 4);
  for (let i = 0; i < 4; i++)
    for (const k of ["reward", "loss", "dynamic_sampling/rounds", "dynamic_sampling/groups_kept"])
      assert.equal(resumed[i][k], straight[i][k], `step ${i + 1} ${k}`);
});

test("with no informative group after every round, the step is skipped and the warning names the rounds", async () => {
  const root = tempRoot("grpo-dynamic-none");
  const run = await runTrainer("grpo", dynamicRecipe(byteModelFolder(root), { reward_funcs: ["always_zero"], dynamic_sampling_max_rounds: 2, max_steps: 2 }), { root });
  const rows = metricsOf(run).filter(x => x.reward !== undefined);
  assert.deepEqual(rows.map(r => [r["dynamic_sampling/rounds"], r["dynamic_sampling/groups_kept"], "loss" in r]), [[2, 0, false], [2, 0, false]]);
  const warnings = run.logs.filter(l => l.startsWith("warning: frac_reward_zero_std"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /over 2 sampling rounds: dynamic sampling found 0 of the 4 informative groups/);
});
