// Tool tokens carry no loss and no KL: the GRPO loss of an episode (one row, model and tool tokens, the episode mask)
// against finite differences, and against the same episode replayed as one row per model turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { AdamW } from "../../src/train/optimizer.js";
import { grpoStep, type GRPOStepConfig } from "../../src/train/grpo/step.js";
import { grpoLoss } from "../../src/train/grpo/loss.js";
import { packBatch } from "../../src/train/grpo/batch.js";
import { uniformRng } from "../../src/rng.js";

const backend = getBackend("reference");
const config = { architecture: "llama", vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1,
  intermediate_size: 24, rope_theta: 10000, rms_norm_eps: 1e-5, attention_bias: false, tie_word_embeddings: true, max_position_embeddings: 64,
  bos_token_id: 0, eos_token_id: 1 } as const;

// prompt, then: model turn 1 (ends in EOS 1), tool result, model turn 2 (ends in EOS 1)
const prompt = [0, 5, 6, 7];
const turn1 = [8, 9, 10, 1], tool = [11, 12, 13, 14, 15], turn2 = [16, 17, 1];
const episode = [...turn1, ...tool, ...turn2];
const mask = [...turn1.map(() => 1), ...tool.map(() => 0), ...turn2.map(() => 1)];

const stepConfig = (over: Partial<GRPOStepConfig> = {}): GRPOStepConfig => ({
  loss_type: "dapo", importance_sampling_level: "token", beta: 0.1, epsilon: 0.2, epsilon_high: 0.2, delta: undefined, max_completion_length: 64,
  temperature: 1, num_iterations: 1, per_device_train_batch_size: undefined, mask_truncated_completions: false, ...over,
});

test("finite differences: the loss does not depend on tool tokens' log-probs (policy and KL terms); dℓ matches on model tokens", () => {
  const packed = packBatch([prompt], [episode], [mask]);
  const T = packed.T, rng = uniformRng(5);
  const logp = Float64Array.from({ length: T }, () => -0.5 - rng());
  const refLogp = Float64Array.from({ length: T }, () => -0.5 - rng());
  const oldLogp = Float64Array.from(logp, x => x + 0.05 * (rng() - 0.5));
  const opts = { loss_type: "dapo" as const, importance_sampling_level: "token" as const, beta: 0.2, epsilon: 0.2, epsilon_high: 0.28, max_completion_length: 64 };
  const loss = (lp: Float64Array) => grpoLoss({ B: 1, T, logp: lp, oldLogp, refLogp, mask: packed.lossMask, advantages: [0.7] }, opts);
  const base = loss(logp);
  const h = 1e-4;
  let toolSlots = 0, modelSlots = 0;
  for (let t = 0; t < T; t++) {
    if (packed.targets[t] < 0) continue;
    const plus = Float64Array.from(logp), minus = Float64Array.from(logp);
    plus[t] += h; minus[t] -= h;
    const fd = (loss(plus).loss - loss(minus).loss) / (2 * h);
    const j = t - (prompt.length - 1); // completion token scored at slot t
    if (mask[j] === 0) {
      toolSlots++;
      assert.equal(base.dlogp[t], 0, `slot ${t} (tool token ${j}) has a gradient`);
      assert.equal(loss(plus).loss, base.loss, `the loss moved with tool token ${j}'s log-prob`);
    } else {
      modelSlots++;
      assert.ok(Math.abs(fd - base.dlogp[t]) < 1e-3 * Math.max(1, Math.abs(fd)), `slot ${t}: finite difference ${fd} vs dℓ ${base.dlogp[t]}`);
      assert.notEqual(base.dlogp[t], 0);
    }
  }
  assert.equal(toolSlots, tool.length);
  assert.equal(modelSlots, turn1.length + turn2.length);
});

/** The policy's gradient after one grpoStep (lr 0, no clipping), and the step's metrics. */
function gradientOf(rows: { prompt: number[]; ids: number[]; mask?: number[] }[], advantages: number[]) {
  const model = createModel(config, backend, 3);
  const ref = createModel(config, backend, 4); // a different reference, so the KL term has a gradient
  const opt = new AdamW(model, backend, { learning_rate: 0, max_grad_norm: 1e9 });
  const r = grpoStep(model, opt, { prompts: rows.map(x => x.prompt), rows: rows.map((x, i) => ({ prompt: i, ids: x.ids, mask: x.mask })), advantages },
    stepConfig(), { eosIds: [1], lr: 0, ref });
  return { grads: Float64Array.from(model.flatGrads), metrics: r.metrics };
}

test("an episode replayed through the loss equals the sum of its model turns (gradient, loss and KL)", () => {
  const whole = gradientOf([{ prompt, ids: episode, mask }], [0.8]);
  // each model turn as its own row: its context (prompt, earlier turns, tool result) as the prompt
  const turns = gradientOf([{ prompt, ids: turn1 }, { prompt: [...prompt, ...turn1, ...tool], ids: turn2 }], [0.8, 0.8]);
  let num = 0, den = 0;
  for (let i = 0; i < whole.grads.length; i++) { num += (whole.grads[i] - turns.grads[i]) ** 2; den += turns.grads[i] ** 2; }
  assert.ok(den > 0);
  assert.ok(Math.sqrt(num / den) < 1e-5, `relative gradient difference ${Math.sqrt(num / den)}`);
  assert.ok(Math.abs(whole.metrics.loss - turns.metrics.loss) < 1e-6, `loss ${whole.metrics.loss} vs ${turns.metrics.loss}`);
  assert.ok(Math.abs(whole.metrics.kl - turns.metrics.kl) < 1e-6, `kl ${whole.metrics.kl} vs ${turns.metrics.kl}`);
  // the oracle is sharp: training on the tool tokens too gives another gradient, and so does the default EOS mask
  for (const wrong of [episode.map(() => 1), undefined]) {
    const g = gradientOf([{ prompt, ids: episode, mask: wrong }], [0.8]).grads;
    let d = 0;
    for (let i = 0; i < g.length; i++) d += (g[i] - turns.grads[i]) ** 2;
    assert.ok(Math.sqrt(d / den) > 1e-2, `mask ${wrong ? "all ones" : "up to the first EOS"} should differ`);
  }
});

test("mask_truncated_completions drops an episode that hit its token limit; a mask of the wrong length is refused", () => {
  const model = createModel(config, backend, 3);
  const opt = new AdamW(model, backend, { learning_rate: 0, max_grad_norm: 1e9 });
  const run = (truncated: boolean) => grpoStep(model, opt, { prompts: [prompt], rows: [{ prompt: 0, ids: episode, mask, truncated }], advantages: [1] },
    stepConfig({ mask_truncated_completions: true, beta: 0 }), { eosIds: [1], lr: 0 });
  assert.notEqual(run(false).gradNorms[0], 0);
  assert.equal(run(true).gradNorms[0], 0);
  assert.throws(() => grpoStep(model, opt, { prompts: [prompt], rows: [{ prompt: 0, ids: episode, mask: mask.slice(1) }], advantages: [1] }, stepConfig(), { eosIds: [1], lr: 0, ref: model }), /one mask entry per completion token/);
});
