import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { grpoLoss, type LossType, type ImportanceSamplingLevel } from "../../src/train/grpo/loss.js";

// Loss and autograd gradient of TRL's _compute_loss transcribed in PyTorch (fixtures/trl_loss.py).
interface Case {
  config: { loss_type: LossType; level: ImportanceSamplingLevel; beta: number; delta: number | null; eps: number; eps_high: number; S: number; max_len: number; num_items: number };
  B: number; T: number; logp: number[]; old: number[]; ref: number[]; mask: number[]; adv: number[]; loss: number; grad: number[];
}
const golden = JSON.parse(readFileSync(new URL("./fixtures/trl_loss.json", import.meta.url), "utf8")) as { cases: Case[] };

test(`matches PyTorch TRL loss and autograd gradient on ${golden.cases.length} cases`, () => {
  assert.equal(golden.cases.length, 32);
  for (const c of golden.cases) {
    const k = c.config;
    const name = `${k.loss_type}/${k.level}/β=${k.beta}/δ=${k.delta}`;
    const r = grpoLoss(
      { B: c.B, T: c.T, logp: c.logp, oldLogp: c.old, refLogp: k.beta > 0 ? c.ref : undefined, mask: c.mask, advantages: c.adv },
      { loss_type: k.loss_type, importance_sampling_level: k.level, beta: k.beta, epsilon: k.eps, epsilon_high: k.eps_high,
        delta: k.delta ?? undefined, max_completion_length: k.max_len, accumulation_steps: k.S, num_items_in_batch: k.num_items },
    );
    assert.ok(Math.abs(r.loss - c.loss) < 1e-12 + 1e-9 * Math.abs(c.loss), `${name}: loss ${r.loss} vs torch ${c.loss}`);
    c.grad.forEach((g, j) => assert.ok(Math.abs(r.dlogp[j] - g) < 1e-7 + 1e-6 * Math.abs(g), `${name} token ${j}: ${r.dlogp[j]} vs torch ${g}`));
  }
});
