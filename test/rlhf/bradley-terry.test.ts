/**
 * The Bradley–Terry loss and its gradient against float64 central differences: first on the rewards alone, then
 * through the whole reward model (trunk + scalar head, reference backend) at a sample of parameters.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { ModelConfigSchema } from "../../src/model/config.js";
import { BackwardMismatchError } from "../../src/model/transformer.js";
import { bradleyTerry, softplus } from "../../src/train/reward-model-loss.js";
import { RewardModel, padRows } from "../../src/train/reward-model-net.js";
import { pairLoss } from "../../src/train/reward-model.js";
import type { TokenizedPair } from "../../src/train/reward-model-data.js";
import { checkGrad, rng } from "../model/finite-diff.js";

test("Bradley–Terry loss: value by hand, gradient against finite differences (margins, centring)", () => {
  // One pair, r_c = 2, r_r = 0.5, margin 1: −log σ(0.5) = 0.474077…
  assert.ok(Math.abs(bradleyTerry([2], [0.5], [1]).loss - 0.4740769841801067) < 1e-12);
  assert.ok(Math.abs(softplus(800) - 800) < 1e-9 && softplus(-800) >= 0 && softplus(-800) < 1e-300 + 1e-12);
  const rand = rng(3), P = 5;
  const x = Float64Array.from({ length: 2 * P }, () => rand() * 6 - 3), m = Float64Array.from({ length: P }, () => rand());
  for (const kappa of [0, 0.3]) {
    const loss = () => bradleyTerry(x.subarray(0, P), x.subarray(P), m, kappa).loss;
    const r = bradleyTerry(x.subarray(0, P), x.subarray(P), m, kappa);
    checkGrad(`dL/dr (κ=${kappa})`, x, loss, [...r.dchosen, ...r.drejected], { atol: 1e-9, rtol: 1e-6 });
  }
  const r = bradleyTerry([1, 0, 2, 3], [0, 1, 2, -1]);
  assert.equal(r.accuracy, (1 + 0 + 0.5 + 1) / 4);
  assert.equal(r.margin, (1 - 1 + 0 + 4) / 4);
});

test("reward model gradients (trunk and head) match finite differences of the Bradley–Terry loss", () => {
  const cfg = ModelConfigSchema.parse({
    vocab_size: 11, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2,
    intermediate_size: 12, rms_norm_eps: 1e-5, max_position_embeddings: 32, attention_bias: true, tie_word_embeddings: true,
  });
  const rm = new RewardModel(cfg, referenceBackend, Float64Array, 32, 1), trunk = rm.trunk;
  // One buffer: the head is the last H parameters of the trunk's flat memory, and its gradient the last H gradients.
  const H = cfg.hidden_size, n = trunk.flatParams.length;
  assert.equal(rm.score.buffer, trunk.flatParams.buffer);
  assert.equal(rm.score.byteOffset, (n - H) * 8);
  assert.equal(rm.scoreGrad.buffer, trunk.flatGrads.buffer);
  assert.equal(rm.trunkParams.length, trunk.params.length - 1);
  const rand = rng(101);
  for (let i = 0; i < n - H; i++) trunk.flatParams[i] = (rand() * 2 - 1) * 0.6;
  for (let i = 0; i < rm.score.length; i++) rm.score[i] = rand() * 2 - 1;
  // Rows of different lengths (right padding), a margin, and centring: every term of the loss is exercised.
  const pairs: TokenizedPair[] = [
    { chosen: [1, 2, 3, 10], rejected: [1, 2, 4, 5, 6, 10], margin: 0.5, truncated: false },
    { chosen: [7, 8, 10], rejected: [7, 9, 10], margin: 0, truncated: false },
    { chosen: [3, 3, 3, 3, 3, 10], rejected: [2, 10], margin: 1, truncated: false },
  ];
  const loss = () => pairLoss(rm, pairs, 0, 0.1, false).loss;
  trunk.flatGrads.fill(0);
  pairLoss(rm, pairs, 0, 0.1, true);
  const trunkGrad = trunk.flatGrads.slice(), headGrad = rm.scoreGrad.slice();
  // every 7th trunk parameter (embedding, attention, MLP and norm weights of both layers), and the whole head
  const indices = Array.from({ length: Math.ceil(trunk.flatParams.length / 7) }, (_, i) => i * 7);
  checkGrad("trunk", trunk.flatParams, loss, trunkGrad, { h: 1e-5, atol: 1e-8, rtol: 1e-5, indices });
  checkGrad("score head", rm.score, loss, headGrad, { h: 1e-5, atol: 1e-8, rtol: 1e-5 });
  assert.ok(indices.reduce((s, i) => s + Math.abs(trunkGrad[i]), 0) > 1e-2, "the checked trunk gradients are not all negligible");
  // padding after a row's end does not change its reward: the head reads the last real token
  const alone = padRows([pairs[1].chosen], 0), padded = padRows([pairs[1].chosen, pairs[2].chosen], 0);
  assert.ok(padded.T > alone.T);
  assert.ok(Math.abs(rm.forward(alone.tokens, alone.mask, 1, alone.T)[0] - rm.forward(padded.tokens, padded.mask, 2, padded.T)[0]) < 1e-12);
  assert.throws(() => trunk.backward(new Float64Array(3)), BackwardMismatchError);
});
