// Preference pairs for reward-model tests.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeRng } from "../../src/tasks/rng.js";
import { byteModelFolder } from "../pipeline/micro.js";

/** n pairs: a random lowercase completion with an X inserted (chosen) against one of the same length without (rejected). */
export function containsXPairs(n: number, seed: number): { prompt: string; chosen: string; rejected: string }[] {
  const rng = makeRng(seed);
  const word = (len: number) => Array.from({ length: len }, () => String.fromCharCode(97 + rng.int(0, 25))).join("");
  return Array.from({ length: n }, (_, i) => {
    const base = word(rng.int(5, 12)), at = rng.int(0, base.length);
    const chosen = base.slice(0, at) + "X" + base.slice(at);
    return { prompt: `Q${i % 97}: `, chosen, rejected: word(chosen.length) };
  });
}

/** A micro byte model and 560 contains-X pairs written under `root`: what the reward-model trainer tests start from. */
export function containsXSetup(root: string): { model: string; file: string } {
  const model = byteModelFolder(root, "micro", 32, 1, 5);
  const file = join(root, "pairs.jsonl");
  writeFileSync(file, containsXPairs(560, 1).map(p => JSON.stringify(p)).join("\n") + "\n");
  return { model, file };
}

/** The reward-model recipe those tests train (`over` replaces whole top-level keys). */
export const rewardModelRecipe = (model: string, trainFile: string, over: Record<string, unknown> = {}) => ({
  model, train_file: trainFile, eval_size: 64, max_length: 32, per_device_train_batch_size: 16, num_train_epochs: 6,
  optimizer: { learning_rate: 3e-3, weight_decay: 0, max_grad_norm: 1 }, schedule: { lr_scheduler_type: "constant" },
  eval_every: 40, save_steps: 40, seed: 3, ...over,
});
