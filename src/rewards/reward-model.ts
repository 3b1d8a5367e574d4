/**
 * Rewards computed by models on the engine, for RLHF:
 *
 *   reward_model   a learned reward model (src/train/reward-model.ts) scores prompt + completion, one batched forward
 *                  per GRPO step; its raw score (a real number, not 0/1). Its trunk loads in F32, or frozen in BF16
 *                  (half the memory) with the GRPO recipe's `reward_model_dtype: bfloat16`.
 *   kl_penalty     InstructGPT's / PPO's KL-in-reward: −Σ_t (log π(o_t) − log π_ref(o_t)) over the completion's
 *                  tokens, π the sampling policy (the sampler's log-probs at the GRPO temperature), π_ref the frozen
 *                  starting policy; weighted by β in reward_weights, e.g.
 *                    reward_funcs: [reward_model, kl_penalty]
 *                    reward_weights: [1, 0.05]
 *
 * Unlike the rule rewards they need the prompt and the tokens, so they read fields the GRPO trainer adds to each
 * example when one of them is listed (`modelRewardExamples`): prompt_text and continuation (the generated text),
 * prompt_ids, completion_ids and sampling_logprobs. Without those fields they cannot judge (null), e.g. under
 * `move37 verify`. The models are loaded once per process by `useModelRewards` (the GRPO trainer calls it at start).
 * src/rewards/registry.ts lists both among the rewards, built from `rewardModelBatch` and `klPenaltyBatch`.
 */
import { resolve } from "node:path";
import { getBackend, type BackendKind } from "../engine/index.js";
import type { CausalLM } from "../model/types.js";
import { loadPretrained, type WeightsDtype } from "../model/io/pretrained.js";
import type { Generation } from "../sample/generate.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { encodeSequence, loadRewardModel, scoreSequences, type RewardModel } from "../train/reward-model-net.js";
import type { RewardExample, RewardValue } from "./types.js";

export const REWARD_MODEL_REWARD = "reward_model";
export const KL_PENALTY_REWARD = "kl_penalty";

export class RewardModelConfigError extends Error {
  constructor(message: string) { super(message); this.name = "RewardModelConfigError"; }
}

let active: { dir: string; dtype: WeightsDtype; rm: RewardModel; tok: Tokenizer } | null = null;
let reference: { dir: string; model: CausalLM; temperature: number } | null = null;

export interface ModelRewardSetup {
  /** The reward-model folder `reward_model` scores with. */
  rewardModel?: string;
  /** Its trunk's Linear weights, LM head and embedding: float32 (default) or frozen bfloat16 (half the memory; the head stays F32). */
  rewardModelDtype?: WeightsDtype;
  /** The policy's starting folder: kl_penalty's frozen reference. */
  policy: string;
  /** The sampling temperature (the sampler's log-probs are of logits / temperature; the reference's must be too). */
  temperature: number;
  backend?: BackendKind;
}

/**
 * Loads what the listed model rewards need (once per folder). Throws when reward_model is listed without a folder:
 * every completion would otherwise score null and GRPO would learn nothing.
 */
export function useModelRewards(rewardFuncs: readonly string[], s: ModelRewardSetup): void {
  const backend = getBackend(s.backend ?? "auto");
  if (rewardFuncs.includes(REWARD_MODEL_REWARD)) {
    if (!s.rewardModel) throw new RewardModelConfigError(`reward_funcs lists "${REWARD_MODEL_REWARD}" but the recipe names no reward-model folder: set reward_model: <folder> (made by \`move37 train recipes/rm-tiny.yaml\`)`);
    const dir = resolve(s.rewardModel), dtype = s.rewardModelDtype ?? "float32";
    if (active?.dir !== dir || active.dtype !== dtype) {
      active = null; // the previous model's memory can go before the next one loads
      active = { dir, dtype, rm: loadRewardModel(s.rewardModel, backend, { dtype }).rm, tok: loadTokenizer(s.rewardModel) };
    }
  }
  if (rewardFuncs.includes(KL_PENALTY_REWARD)) {
    if (reference?.dir !== resolve(s.policy)) reference = { dir: resolve(s.policy), model: loadPretrained(s.policy, backend).model, temperature: s.temperature };
    reference.temperature = s.temperature;
  }
}

/** The text a policy generated: every sampled token, special tokens (EOS) skipped, a stop string included. */
export const generatedText = (g: Generation, tok: Tokenizer) => tok.decode(g.ids, { skipSpecialTokens: true });

/** The examples the rewards see for each generation: the problem, plus what the listed model rewards read. */
export function modelRewardExamples<E extends object>(rewardFuncs: readonly string[], gens: readonly Generation[], examples: readonly E[],
  fmt: { text(ex: E): string; encode(ex: E): number[] }, tok: Tokenizer): E[] {
  const rm = rewardFuncs.includes(REWARD_MODEL_REWARD), kl = rewardFuncs.includes(KL_PENALTY_REWARD);
  if (!rm && !kl) return gens.map(g => examples[g.prompt]);
  const promptIds = kl ? examples.map(ex => fmt.encode(ex)) : [];
  return gens.map(g => ({
    ...examples[g.prompt],
    ...(rm ? { prompt_text: fmt.text(examples[g.prompt]), continuation: generatedText(g, tok) } : {}),
    ...(kl ? { prompt_ids: promptIds[g.prompt], completion_ids: g.ids, sampling_logprobs: g.logprobs } : {}),
  }));
}

/** Reward-model scores of (prompt, continuation) texts, batched on the engine. */
export function scoreTexts(rm: RewardModel, tok: Tokenizer, items: readonly { prompt: string; continuation: string }[], batchSize = 32): Float64Array {
  const seqs = items.map(x => encodeSequence(tok, x.prompt, x.continuation, rm.maxLength).ids);
  return scoreSequences(rm, seqs, tok.padId ?? tok.eosId ?? 0, batchSize);
}

/** The `reward_model` reward: the loaded reward model's score of each example's prompt_text + continuation (null without them). */
export async function rewardModelBatch(_completions: string[], examples: RewardExample[]): Promise<RewardValue[]> {
  if (!active) return examples.map(() => null);
  const { rm, tok } = active;
  const judged = examples.map((e, i) => ({ i, prompt: e.prompt_text, continuation: e.continuation }))
    .filter((x): x is { i: number; prompt: string; continuation: string } => typeof x.prompt === "string" && typeof x.continuation === "string");
  const out: RewardValue[] = examples.map(() => null);
  scoreTexts(rm, tok, judged).forEach((r, j) => { out[judged[j].i] = r; });
  return out;
}

const KL_BATCH_ROWS = 32;
const intArray = (v: unknown): v is number[] => Array.isArray(v) && v.every(x => Number.isInteger(x));

/**
 * −Σ_t (sampling_logprobs[t] − log π_ref(completion_ids[t] | prompt, completion_ids[<t])) for each example, the
 * reference's log-probs from one forward per batch of rows (prompt + completion, right-padded) at the sampling temperature.
 */
export async function klPenaltyBatch(_completions: string[], examples: RewardExample[]): Promise<RewardValue[]> {
  const out: RewardValue[] = examples.map(() => null);
  if (!reference) return out;
  const { model, temperature } = reference;
  const rows = examples.map((e, i) => ({ i, p: e.prompt_ids, c: e.completion_ids, lp: e.sampling_logprobs }))
    .filter((x): x is { i: number; p: number[]; c: number[]; lp: number[] } => intArray(x.p) && intArray(x.c) && Array.isArray(x.lp) && x.lp.length === x.c.length && x.p.length > 0);
  for (let s = 0; s < rows.length; s += KL_BATCH_ROWS) {
    const batch = rows.slice(s, s + KL_BATCH_ROWS), B = batch.length, T = Math.max(1, ...batch.map(r => r.p.length + r.c.length - 1));
    const tokens = new Int32Array(B * T), mask = new Uint8Array(B * T), targets = new Int32Array(B * T).fill(-1);
    batch.forEach((r, b) => {
      const seq = [...r.p, ...r.c];
      for (let t = 0; t < seq.length - 1; t++) { tokens[b * T + t] = seq[t]; mask[b * T + t] = 1; }
      // position p−1+j predicts completion token j
      for (let j = 0; j < r.c.length; j++) targets[b * T + r.p.length - 1 + j] = r.c[j];
    });
    const { logp } = model.forward(tokens, mask, targets, B, T, temperature);
    batch.forEach((r, b) => {
      let kl = 0;
      for (let j = 0; j < r.c.length; j++) kl += r.lp[j] - logp[b * T + r.p.length - 1 + j];
      out[r.i] = -kl;
    });
  }
  return out;
}
