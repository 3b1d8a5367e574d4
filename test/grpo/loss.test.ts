import { test } from "node:test";
import assert from "node:assert/strict";
import { grpoLoss, type LossInput, type LossOptions, type LossType, type ImportanceSamplingLevel } from "../../src/train/grpo/loss.js";
import { GRPOInputError } from "../../src/train/grpo/errors.js";
import { makeRng } from "../../src/tasks/rng.js";

const base: LossOptions = {
  loss_type: "bnpo", importance_sampling_level: "token", beta: 0, epsilon: 0.2, epsilon_high: 0.2, max_completion_length: 8,
};
const one = (A: number, rho: number, o: Partial<LossOptions> = {}) =>
  grpoLoss({ B: 1, T: 1, logp: [Math.log(rho)], oldLogp: [0], mask: [1], advantages: [A] }, { ...base, ...o });

// grpo-vectors.md §4.4 "Clip" (ε = 0.2): the gradient w.r.t. ℓ is −A·ρ when it flows.
test("clip vectors: value and whether the gradient flows", () => {
  const cases: [number, number, number, number][] = [
    [+1, 1.5, -1.2, 0],
    [+1, 0.5, -0.5, -0.5],
    [-1, 1.5, +1.5, 1.5],
    [-1, 0.5, +0.8, 0],
  ];
  for (const [A, rho, L, g] of cases) {
    const r = one(A, rho);
    assert.ok(Math.abs(r.loss - L) < 1e-9, `A=${A} ρ=${rho}: loss ${r.loss} ≠ ${L}`);
    assert.ok(Math.abs(r.dlogp[0] - g) < 1e-6, `A=${A} ρ=${rho}: grad ${r.dlogp[0]} ≠ ${g}`);
  }
  // clip metrics: low = ρ < 1−ε with A < 0, high = ρ > 1+ε with A > 0
  assert.equal(one(-1, 0.5).metrics["clip_ratio/low_mean"], 1);
  assert.equal(one(+1, 1.5).metrics["clip_ratio/high_mean"], 1);
  assert.equal(one(+1, 0.5).metrics["clip_ratio/region_mean"], 0);
});

test("epsilon_high widens only the upper clip; delta caps the unclipped ratio", () => {
  assert.ok(Math.abs(one(+1, 1.25, { epsilon_high: 0.28 }).loss - -1.25) < 1e-9);
  assert.ok(Math.abs(one(+1, 1.25).loss - -1.2) < 1e-9);
  // A < 0, ρ = 3: unclipped −min(−3, −1.2) = 3; with delta = 2 the ratio is capped: 2, and no gradient
  assert.ok(Math.abs(one(-1, 3).loss - 3) < 1e-9);
  const d = one(-1, 3, { delta: 2 });
  assert.ok(Math.abs(d.loss - 2) < 1e-9);
  assert.equal(d.dlogp[0], 0);
});

test("k3 KL vector: ℓ = −1.0, ℓ_ref = −1.2 gives 0.0187308", () => {
  const r = grpoLoss({ B: 1, T: 1, logp: [-1], refLogp: [-1.2], mask: [1], advantages: [0] }, { ...base, beta: 1 });
  assert.ok(Math.abs(r.loss - 0.0187308) < 1e-7);
  assert.ok(Math.abs(r.metrics.kl! - 0.0187308) < 1e-7);
  // d/dℓ [exp(r−ℓ) − (r−ℓ) − 1] = 1 − exp(r−ℓ)
  assert.ok(Math.abs(r.dlogp[0] - (1 - Math.exp(-0.2))) < 1e-7);
});

// grpo-vectors.md §4.4 "Aggregation": row 1 token losses [1,2], row 2 [1,1,1,1], B=2, L_max=8, S=1.
// With A = −1 and ρ ≥ 1 the token loss is ρ (unclipped side of the min), so ρ sets each token's loss.
test("aggregation vectors for every loss_type", () => {
  const input: LossInput = {
    B: 2, T: 4,
    logp: [0, Math.log(2), 0, 0, 0, 0, 0, 0], oldLogp: new Array(8).fill(0),
    mask: [1, 1, 0, 0, 1, 1, 1, 1], advantages: [-1, -1],
  };
  const expected: Record<LossType, number> = { grpo: 1.25, bnpo: 7 / 6, dapo: 7 / 6, dr_grpo: 0.4375 };
  for (const lt of Object.keys(expected) as LossType[])
    assert.ok(Math.abs(grpoLoss(input, { ...base, loss_type: lt }).loss - expected[lt]) < 1e-9, lt);
  // gradient accumulation divides grpo/bnpo/dr_grpo by S; dapo uses the generation batch's token count instead
  assert.ok(Math.abs(grpoLoss(input, { ...base, loss_type: "grpo", accumulation_steps: 2 }).loss - 0.625) < 1e-9);
  assert.ok(Math.abs(grpoLoss(input, { ...base, loss_type: "dapo", num_items_in_batch: 14 }).loss - 0.5) < 1e-9);
});

test("on-policy μ=1, β=0: loss ≈ −mean(A) ≈ 0 but the gradient is −A/norm per token", () => {
  const A = [1.4997, -0.4999, -0.4999, -0.4999];
  const logp = [-0.5, -1, -2, -0.1, -0.7, -3, -1.1, -0.2];
  const r = grpoLoss({ B: 4, T: 2, logp, mask: new Array(8).fill(1), advantages: A }, { ...base, loss_type: "grpo" });
  assert.ok(Math.abs(r.loss) < 1e-3, `loss ${r.loss}`);
  assert.ok(Math.abs(r.loss - -(A.reduce((a, b) => a + b) / 4)) < 1e-12);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(r.dlogp[i] - -A[i >> 1] / 8) < 1e-6, `token ${i}`);
});

test("beta > 0 without reference log-probs is refused", () => {
  assert.throws(() => grpoLoss({ B: 1, T: 1, logp: [0], mask: [1], advantages: [1] }, { ...base, beta: 0.04 }), GRPOInputError);
  assert.throws(() => grpoLoss({ B: 1, T: 2, logp: [0], mask: [1, 1], advantages: [1] }, base), /logp has 1 entries/);
});

// Finite differences: the returned dlogp must be the derivative of the returned loss.
function fdCase(level: ImportanceSamplingLevel, lt: LossType, beta: number, regime: "clipped" | "unclipped" | "delta", seed: number) {
  const rng = makeRng(seed);
  const B = 4, T = 5;
  const logp = Array.from({ length: B * T }, () => -0.1 - 2.9 * rng.next());
  const mask = Array.from({ length: B * T }, (_, j) => (j % T < 2 + (j / T | 0) % 3 ? 1 : 0)); // rows of 2,3,4,2 tokens
  const advantages = [1.3, -0.7, 0.4, -1.1];
  const rowSign = [1, -1, -1, 1];
  const oldLogp = logp.map((l, j) => {
    const u = 0.3 + 0.3 * rng.next();
    const shift = regime === "unclipped" ? 0.2 * rng.next() - 0.1 : rowSign[j / T | 0] * (regime === "delta" ? u + 0.6 : u);
    return l - shift;
  });
  const refLogp = logp.map(l => l + rng.next() - 0.5);
  const opts: LossOptions = { loss_type: lt, importance_sampling_level: level, beta, epsilon: 0.2, epsilon_high: 0.28,
    max_completion_length: 6, delta: regime === "delta" ? 1.6 : undefined, accumulation_steps: 2 };
  const f = (lp: number[]) => grpoLoss({ B, T, logp: lp, oldLogp, refLogp: beta > 0 ? refLogp : undefined, mask, advantages }, opts);
  const r = f(logp);
  const h = 1e-5;
  let nonzero = 0;
  for (let j = 0; j < B * T; j++) {
    const up = logp.slice(); up[j] += h;
    const dn = logp.slice(); dn[j] -= h;
    const fd = (f(up).loss - f(dn).loss) / (2 * h);
    assert.ok(Math.abs(fd - r.dlogp[j]) <= 1e-6 + 1e-4 * Math.abs(fd),
      `${lt}/${level}/β=${beta}/${regime} token ${j}: analytic ${r.dlogp[j]} vs finite difference ${fd}`);
    if (Math.abs(r.dlogp[j]) > 1e-8) nonzero++;
    if (!mask[j]) assert.equal(r.dlogp[j], 0);
  }
  return { r, nonzero };
}

for (const level of ["token", "sequence"] as const)
  for (const lt of ["grpo", "bnpo", "dr_grpo", "dapo"] as const)
    test(`gradient matches finite differences: ${lt}, ${level} level, β 0 and 0.04, clipped/unclipped/delta`, () => {
      let seed = 1;
      for (const beta of [0, 0.04]) {
        const un = fdCase(level, lt, beta, "unclipped", seed++);
        assert.equal(un.nonzero, 11, "unclipped: every masked token carries gradient");
        assert.equal(un.r.metrics["clip_ratio/region_mean"], 0);
        const cl = fdCase(level, lt, beta, "clipped", seed++);
        assert.ok(cl.r.metrics["clip_ratio/region_mean"] > 0, "the clipped regime must clip something");
        if (beta === 0) assert.ok(cl.nonzero > 0 && cl.nonzero < 11, `clipped: some tokens flow, some are cut (${cl.nonzero}/11)`);
        const d = fdCase(level, lt, beta, "delta", seed++);
        // row 3 (A < 0, ρ ≈ e^1 > δ = 1.6): the cap cuts its policy gradient
        if (beta === 0) assert.deepEqual([d.r.dlogp[15], d.r.dlogp[16]], [0, 0]);
      }
    });

test("sequence level (GSPO) uses one ratio per row: the mean log-ratio over masked tokens", () => {
  // row log-ratios [0.5, −0.1] average to 0.2 → ρ = e^0.2 ≈ 1.2214 > 1.2, A > 0 → clipped to 1.2
  const r = grpoLoss({ B: 1, T: 3, logp: [0.5, -0.1, 7], oldLogp: [0, 0, 0], mask: [1, 1, 0], advantages: [1] },
    { ...base, importance_sampling_level: "sequence" });
  assert.ok(Math.abs(r.loss - -1.2) < 1e-9);
  assert.deepEqual(Array.from(r.dlogp), [0, 0, 0]);
  assert.equal(r.metrics["clip_ratio/high_mean"], 1);
});

test("entropy metric is the masked mean", () => {
  const r = grpoLoss({ B: 1, T: 3, logp: [0, 0, 0], mask: [1, 1, 0], advantages: [0], entropy: [1, 2, 100] }, base);
  assert.equal(r.metrics.entropy, 1.5);
});
