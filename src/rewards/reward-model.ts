/**
 * The `reward_model` reward (RLHF): a learned reward model (src/train/reward-model.ts) scores each completion with
 * one batched forward on the engine. Unlike the rule rewards it needs the prompt, so it reads two fields the GRPO
 * trainer adds to each example when this reward is listed (`rewardModelExamples`): `prompt_text`, the prompt as the
 * policy saw it, and `continuation`, every generated token as text. It returns the raw score (a real number, not
 * 0/1), or null when those fields are missing (e.g. `move37 verify`, which has no prompt).
 *
 *   reward_funcs: [reward_model]          # with `reward_model: <folder>` in the GRPO recipe
 *
 * The folder is loaded once per process by `useRewardModel` (the GRPO trainer calls it at start).
 */
import { resolve } from "node:path";
import { getBackend, type BackendKind } from "../engine/index.js";
import type { Generation } from "../sample/generate.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { encodeSequence, loadRewardModel, scoreSequences, type RewardModel } from "../train/reward-model-net.js";
import { registerReward } from "./registry.js";
import type { RewardExample, RewardValue } from "./types.js";

export const REWARD_MODEL_REWARD = "reward_model";

export class RewardModelConfigError extends Error {
  constructor(message: string) { super(message); this.name = "RewardModelConfigError"; }
}

let active: { dir: string; rm: RewardModel; tok: Tokenizer } | null = null;

/**
 * Loads the reward-model folder the `reward_model` reward scores with (once per folder). Throws when the reward is
 * listed without a folder: every completion would otherwise score null and GRPO would learn nothing.
 */
export function useRewardModel(dir: string | undefined, rewardFuncs: readonly string[], backend: BackendKind = "auto"): void {
  if (!rewardFuncs.includes(REWARD_MODEL_REWARD)) return;
  if (!dir) throw new RewardModelConfigError(`reward_funcs lists "${REWARD_MODEL_REWARD}" but the recipe names no reward-model folder: set reward_model: <folder> (made by \`move37 train recipes/rm-tiny.yaml\`)`);
  if (active?.dir === resolve(dir)) return;
  const { rm } = loadRewardModel(dir, getBackend(backend));
  active = { dir: resolve(dir), rm, tok: loadTokenizer(dir) };
}

/** The text a policy generated: every sampled token, special tokens (EOS) skipped, a stop string included. */
export const generatedText = (g: Generation, tok: Tokenizer) => tok.decode(g.ids, { skipSpecialTokens: true });

/**
 * The examples the rewards see for each generation: the problem, plus prompt_text and continuation when the
 * reward model is among `rewardFuncs`.
 */
export function rewardModelExamples<E extends object>(rewardFuncs: readonly string[], gens: readonly Generation[], examples: readonly E[],
  promptText: (ex: E) => string, tok: Tokenizer): (E | E & { prompt_text: string; continuation: string })[] {
  if (!rewardFuncs.includes(REWARD_MODEL_REWARD)) return gens.map(g => examples[g.prompt]);
  return gens.map(g => ({ ...examples[g.prompt], prompt_text: promptText(examples[g.prompt]), continuation: generatedText(g, tok) }));
}

/** Reward-model scores of (prompt, continuation) texts, batched on the engine. */
export function scoreTexts(rm: RewardModel, tok: Tokenizer, items: readonly { prompt: string; continuation: string }[], batchSize = 32): Float64Array {
  const seqs = items.map(x => encodeSequence(tok, x.prompt, x.continuation, rm.maxLength).ids);
  return scoreSequences(rm, seqs, tok.padId ?? tok.eosId ?? 0, batchSize);
}

async function scoreBatch(_completions: string[], examples: RewardExample[]): Promise<RewardValue[]> {
  if (!active) return examples.map(() => null);
  const { rm, tok } = active;
  const judged = examples.map((e, i) => ({ i, prompt: e.prompt_text, continuation: e.continuation }))
    .filter((x): x is { i: number; prompt: string; continuation: string } => typeof x.prompt === "string" && typeof x.continuation === "string");
  const out: RewardValue[] = examples.map(() => null);
  scoreTexts(rm, tok, judged).forEach((r, j) => { out[judged[j].i] = r; });
  return out;
}

registerReward({
  name: REWARD_MODEL_REWARD,
  description: "learned reward model's score of prompt + completion (RLHF); needs reward_model: <folder> in the GRPO recipe",
  timeLimitMs: 120_000,
  batch: scoreBatch,
});
