import { test } from "node:test";
import assert from "node:assert/strict";
import { parseGRPOConfig, lossOptionsOf, rewardWeightsOf } from "../../src/train/grpo/config.js";

test("defaults follow TRL and epsilon_high falls back to epsilon", () => {
  const c = parseGRPOConfig({ reward_funcs: ["accuracy"] });
  assert.equal(c.loss_type, "dapo");
  assert.equal(c.scale_rewards, "group");
  assert.equal(c.beta, 0);
  assert.equal(c.num_iterations, 1);
  assert.equal(lossOptionsOf(c).epsilon_high, 0.2);
  assert.deepEqual(rewardWeightsOf(c), [1]);
});

test("typos and inconsistent settings fail naming the field", () => {
  assert.throws(() => parseGRPOConfig({ reward_funcs: ["a"], num_generation: 8 }), /num_generation/);
  assert.throws(() => parseGRPOConfig({ reward_funcs: ["a"], loss_type: "ppo" }), /loss_type/);
  assert.throws(() => parseGRPOConfig({ reward_funcs: ["a"], num_generations: 1 }), /num_generations/);
  assert.throws(() => parseGRPOConfig({ reward_funcs: ["a", "b"], reward_weights: [1] }), /one weight per reward function/);
  assert.throws(() => parseGRPOConfig({ reward_funcs: ["a"], prompts_per_step: 3, num_generations: 4, per_device_train_batch_size: 5 }), /must divide/);
});
