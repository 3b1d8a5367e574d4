import type { Backend } from "../engine/backend.js";
import { AdamW } from "../train/optimizer.js";
import type { PolicyValueNetwork } from "./network.js";
import type { ReplayBuffer } from "./replay.js";
import type { Rng } from "../rng.js";

export interface TrainOptions { steps: number; batchSize: number; learningRate: number; valueWeight: number; mirror: boolean }

/**
 * The network's optimizer: the project's AdamW (src/train/optimizer.ts) over its flat buffer, betas 0.9 / 0.999,
 * ε 1e-8, weight decay on the weight matrices only (biases are not decayed, by the rule every trainer shares:
 * `decays` in src/model/params.ts), and no gradient clipping (AlphaZero's losses are bounded).
 */
export function networkOptimizer(net: PolicyValueNetwork, backend: Backend, learningRate: number, weightDecay: number): AdamW {
  return new AdamW(net, backend, { learning_rate: learningRate, weight_decay: weightDecay, max_grad_norm: 0 });
}

/** `steps` AdamW steps on minibatches sampled from the buffer; returns the mean losses. */
export function trainOnBuffer(net: PolicyValueNetwork, optimizer: AdamW, buffer: ReplayBuffer, opts: TrainOptions, rng: Rng): { policyLoss: number; valueLoss: number } {
  const B = Math.min(opts.batchSize, buffer.size);
  const pi = new Float32Array(B * buffer.game.actions), z = new Float32Array(B);
  let policyLoss = 0, valueLoss = 0;
  for (let s = 0; s < opts.steps; s++) {
    buffer.sample(B, rng, opts.mirror, net.input(B), pi, z);
    net.forward(B);
    net.flatGrads.fill(0);
    const l = net.backward(pi, z, opts.valueWeight);
    optimizer.step(opts.learningRate);
    policyLoss += l.policyLoss;
    valueLoss += l.valueLoss;
  }
  return { policyLoss: policyLoss / Math.max(1, opts.steps), valueLoss: valueLoss / Math.max(1, opts.steps) };
}
