/**
 * AdamW against torch.optim.AdamW + clip_grad_norm_ (fixture written by bench/peers/torch_model.py adamw):
 * two parameter groups (decay off for norms, biases, embeddings), global-norm clipping on alternate steps,
 * a different learning rate each step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { createModel } from "../../src/model/transformer.js";
import { AdamW, OptimizerStateError } from "../../src/train/optimizer.js";
import { ScheduleConfigSchema, lrMultiplier } from "../../src/train/schedule.js";
import { loadFixture } from "../model/fixture.js";

test("AdamW with weight-decay groups and grad clipping matches PyTorch over 4 steps", () => {
  const f = loadFixture("adamw-torch"), hp = f.meta.hp;
  const m = createModel(ModelConfigSchema.parse(f.meta.config), referenceBackend);
  for (const p of m.params) p.data.set(f.get("init:" + p.name));
  const opt = new AdamW(m, referenceBackend, { learning_rate: hp.lr, adam_beta1: hp.betas[0], adam_beta2: hp.betas[1], adam_epsilon: hp.eps, weight_decay: hp.weight_decay, max_grad_norm: hp.max_grad_norm });
  (f.meta.lrs as number[]).forEach((lr, s) => {
    for (const p of m.params) p.grad.set(f.get(`grad${s}:${p.name}`));
    const r = opt.step(lr);
    assert.ok(r.applied);
    assert.ok(Math.abs(r.gradNorm - f.meta.grad_norms[s]) < 1e-5 * f.meta.grad_norms[s], `step ${s} norm ${r.gradNorm} vs ${f.meta.grad_norms[s]}`);
  });
  assert.ok(f.meta.grad_norms.some((n: number) => n > hp.max_grad_norm) && f.meta.grad_norms.some((n: number) => n < hp.max_grad_norm));
  for (const p of m.params) {
    const want = f.get("final:" + p.name), init = f.get("init:" + p.name);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(p.data[i] - want[i]) < 1e-6 + 1e-5 * Math.abs(want[i]), `${p.name}[${i}] ${p.data[i]} vs ${want[i]}`);
    }
    assert.ok(want.some((w, i) => w !== init[i]), `${p.name} moved`);
  }
  assert.equal(opt.t, 4);
});

test("AdamW skips a step whose gradient norm is not finite, and rejects optimizer state of another size", () => {
  const m = createModel(ModelConfigSchema.parse({ vocab_size: 8, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 6 }), referenceBackend);
  const opt = new AdamW(m, referenceBackend, { learning_rate: 0.1 });
  const before = m.flatParams.slice();
  m.flatGrads.fill(0.1); m.flatGrads[3] = NaN;
  const r = opt.step();
  assert.equal(r.applied, false);
  assert.deepEqual(m.flatParams, before);
  assert.equal(opt.t, 0);
  assert.throws(() => opt.load({ t: 1, m: new Float32Array(3), v: new Float32Array(3) }), OptimizerStateError);
});

test("model + AdamW + cosine schedule memorise a short sequence (loss falls from ~log V to near 0)", () => {
  const m = createModel(ModelConfigSchema.parse({ vocab_size: 16, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 32 }), referenceBackend, 3);
  const opt = new AdamW(m, referenceBackend, { learning_rate: 3e-2, weight_decay: 0.01 });
  const sched = ScheduleConfigSchema.parse({ lr_scheduler_type: "cosine", warmup_steps: 3 });
  const seq = [1, 5, 9, 2, 7, 3, 11, 4], T = seq.length;
  const tokens = Int32Array.from(seq), mask = new Uint8Array(T).fill(1), targets = Int32Array.from(seq, (_, i) => i + 1 < T ? seq[i + 1] : -1);
  const loss = () => -m.forward(tokens, mask, targets, 1, T).logp.reduce((a, b) => a + b, 0) / (T - 1);
  const first = loss(), steps = 60;
  for (let s = 0; s < steps; s++) {
    m.flatGrads.fill(0);
    loss();
    m.backward(Float32Array.from(targets, t => t >= 0 ? -1 / (T - 1) : 0));
    opt.step(3e-2 * lrMultiplier(sched, s, steps));
  }
  assert.ok(Math.abs(first - Math.log(16)) < 0.05, `initial loss ${first}`);
  assert.ok(loss() < 0.05, `final loss ${loss()}`);
});
