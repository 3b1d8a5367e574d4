/**
 * Two GRPO steps of Move37's `grpoStep` (the trainer's own step) against PyTorch doing TRL's training step
 * (fixture written by `bench/peers/torch_grpo.py fixture`: TRL's advantages, old/ref log-probs, `_compute_loss`,
 * gradient accumulation over micro-batches, clip_grad_norm_, torch.optim.AdamW), as llm.c's test_gpt2.c holds its
 * training steps to PyTorch. A tiny Llama (float32 on both sides), two cases:
 *   dapo         the default recipe's step: dapo, on-policy, β 0, two micro-batches; step 1 clips, step 2 does not
 *   grpo_kl_mu2  grpo aggregation, β 0.04 against a frozen reference, num_iterations 2 (the second pass's ratios
 *                leave the clip range), one all-right group dropped by dynamic sampling, every update clipped
 * Rows end at an EOS, are truncated at max_completion_length, or stop early without one (a stop string).
 * Tolerances (worst measured over both backends in brackets): advantages 1e-12; each update's loss 2e-6 absolute
 * [2.8e-7]; its gradient norm 1e-5 relative [2.5e-6]; the last update's gradient, per tensor, 2e-5 of its largest
 * magnitude [3.8e-6]; parameters after each step 2e-5 + 1e-3·lr absolute [9.3e-6 at lr 1e-2] (Adam divides by √v, so
 * a gradient entry near zero amplifies float noise into the update).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Backend } from "../../src/engine/backend.js";
import { getBackend, nativeAvailable, referenceBackend } from "../../src/engine/index.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { createModel } from "../../src/model/transformer.js";
import type { CausalLM } from "../../src/model/types.js";
import { AdamW } from "../../src/train/optimizer.js";
import { computeAdvantages, grpoStep, informativeGroups, type GRPOStepConfig } from "../../src/train/grpo/index.js";
import { defaultMicroBatch } from "../../src/train/grpo/step.js";
import { loadFixture } from "../model/fixture.js";

interface Step { lr: number; prompts: number[][]; rows: { prompt: number; ids: number[] }[]; rewards: number[]; advantages: number[]; keep: number[]; losses: number[]; grad_norms: number[]; clipped_tokens: number }
interface Case { name: string; config: GRPOStepConfig & { num_generations: number; max_grad_norm: number; adam_beta2: number; weight_decay: number }; steps: Step[] }

const f = loadFixture("grpo-step");
const cases = f.meta.cases as Case[];
const EOS = f.meta.model.eos_token_id as number;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function runCase(c: Case, be: Backend) {
  const model = createModel(ModelConfigSchema.parse(f.meta.model), be, 0);
  for (const p of model.params) { assert.deepEqual(f.shape("init:" + p.name), p.shape, p.name); p.data.set(f.get("init:" + p.name)); }
  let ref: CausalLM | null = null;
  if (c.config.beta > 0) { ref = createModel(model.config, be, 0); ref.flatParams.set(model.flatParams); }
  const k = c.config;
  const optimizer = new AdamW(model, be, { learning_rate: c.steps[0].lr, adam_beta2: k.adam_beta2, weight_decay: k.weight_decay, max_grad_norm: k.max_grad_norm });
  const G = k.num_generations;
  c.steps.forEach((s, i) => {
    const label = `${c.name} step ${i + 1}`;
    const adv = computeAdvantages(Float64Array.from(s.rewards), G, "group");
    assert.ok(maxAbsDiff(adv.advantages, s.advantages) < 1e-12, `${label}: advantages ${adv.advantages} vs ${s.advantages}`);
    const keep = informativeGroups(Float64Array.from(s.rewards), G).rows;
    assert.deepEqual(keep, s.keep, `${label}: dynamic sampling keeps the rows TRL's side trained on`);

    const r = grpoStep(model, optimizer, { prompts: s.prompts, rows: s.rows, advantages: adv.advantages, keep }, k, { eosIds: [EOS], lr: s.lr, ref });

    assert.equal(r.losses.length, k.num_iterations);
    r.losses.forEach((l, j) => assert.ok(Math.abs(l - s.losses[j]) < 2e-6, `${label} update ${j + 1}: loss ${l} vs torch ${s.losses[j]}`));
    r.gradNorms.forEach((n, j) => assert.ok(Math.abs(n - s.grad_norms[j]) < 1e-5 * s.grad_norms[j], `${label} update ${j + 1}: grad norm ${n} vs torch ${s.grad_norms[j]}`));
    assert.equal(r.metrics.grad_norm, r.gradNorms.at(-1));
    if (k.num_iterations > 1) assert.ok(r.metrics["clip_ratio/region_mean"] > 0 && s.clipped_tokens > 0, `${label}: the second pass clips some ratios`);

    if (i === 0) {
      // The last update's gradient: AdamW clipped it in place, so undo the clip's scale first.
      const norm = r.gradNorms.at(-1)!;
      const unclip = norm > k.max_grad_norm ? (norm + 1e-6) / k.max_grad_norm : 1;
      for (const p of model.params) {
        const want = f.get(`${c.name}.step1.grad:${p.name}`);
        const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        assert.ok(scale > 0, `${label} ${p.name}: torch gradient is zero, the comparison would prove nothing`);
        const err = maxAbsDiff(Float32Array.from(p.grad, x => x * unclip), want);
        assert.ok(err <= 2e-5 * scale, `${label} grad ${p.name}: max error ${err} vs max |grad| ${scale}`);
      }
    }
    for (const p of model.params) {
      const want = f.get(`${c.name}.step${i + 1}:${p.name}`);
      const err = maxAbsDiff(p.data, want);
      assert.ok(err < 2e-5 + 1e-3 * s.lr, `${label} ${p.name}: max |param − torch| ${err}`);
      assert.ok(maxAbsDiff(want, f.get("init:" + p.name)) > 0, `${label} ${p.name} moved`);
    }
  });
  // One step clips and one does not in the dapo case, so both branches of the clip are held to torch.
  const norms = c.steps.flatMap(s => s.grad_norms);
  if (c.name === "dapo") assert.ok(norms.some(n => n > k.max_grad_norm) && norms.some(n => n < k.max_grad_norm));
}

for (const c of cases) {
  test(`grpoStep (${c.name}) matches PyTorch/TRL over two steps on the reference backend`, () => runCase(c, referenceBackend));
  test(`grpoStep (${c.name}) matches PyTorch/TRL over two steps on the native backend`, { skip: nativeAvailable() ? false : "native addon not built" }, () => runCase(c, getBackend("native")));
}

test("the fixture has both cases", () => assert.deepEqual(cases.map(c => c.name), ["dapo", "grpo_kl_mu2"]));

test("without per_device_train_batch_size, micro-batches are equal and at most 4 rows", () => {
  assert.deepEqual([64, 48, 16, 12, 8, 6, 10, 9, 7, 1].map(defaultMicroBatch), [4, 4, 4, 4, 4, 3, 2, 3, 1, 1]);
});
