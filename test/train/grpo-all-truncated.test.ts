// A GRPO step in which every completion hits max_completion_length under mask_truncated_completions has no token
// to train on: it is a step with zero loss and zero gradient (TRL's masked loss sums nothing), not an error. Long
// thinking chains under recipes/grpo-qwen3.yaml (mask_truncated_completions: true) make such steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import { metricsOf, runTrainer, tempRoot } from "./trainer-harness.js";
import { byteModelFolder, microRecipe } from "./grpo-micro.js";

test("a GRPO step whose completions are all truncated and masked trains nothing and the run goes on", async () => {
  const root = tempRoot("grpo-all-truncated");
  const base = microRecipe(byteModelFolder(root));
  // One new token: a completion ends untruncated only when that token is EOS (1 in 258 for the random byte model).
  const recipe = { ...base, grpo: { ...base.grpo, max_completion_length: 1, mask_truncated_completions: true, max_steps: 2 } };
  const steps = metricsOf(await runTrainer("grpo", recipe, { root })).filter(m => m.reward !== undefined);
  assert.equal(steps.length, 2);
  const empty = steps.filter(m => m.loss === 0 && m.grad_norm === 0);
  assert.ok(empty.length > 0, `a step with every completion masked: ${JSON.stringify(steps.map(m => [m.loss, m.grad_norm]))}`);
});
