import type { Network } from "./network.js";
import type { ReplayBuffer } from "./replay.js";
import type { Rng } from "./rng.js";

export interface TrainOptions { steps: number; batchSize: number; learningRate: number; weightDecay: number; valueWeight: number; mirror: boolean }

/** `steps` AdamW steps on minibatches sampled from the buffer; returns the mean losses. */
export function trainOnBuffer(net: Network, buffer: ReplayBuffer, opts: TrainOptions, rng: Rng): { policyLoss: number; valueLoss: number } {
  const B = Math.min(opts.batchSize, buffer.size);
  const pi = new Float32Array(B * buffer.game.actions), z = new Float32Array(B);
  let policyLoss = 0, valueLoss = 0;
  for (let s = 0; s < opts.steps; s++) {
    buffer.sample(B, rng, opts.mirror, net.input(B), pi, z);
    net.forward(B);
    const l = net.backward(pi, z, opts.valueWeight);
    net.adamw(opts.learningRate, opts.weightDecay);
    policyLoss += l.policyLoss;
    valueLoss += l.valueLoss;
  }
  return { policyLoss: policyLoss / Math.max(1, opts.steps), valueLoss: valueLoss / Math.max(1, opts.steps) };
}
