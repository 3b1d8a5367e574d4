/**
 * Reward-model training (TRL's RewardTrainer in shape, the middle stage of InstructGPT / ChatGPT): a transformer
 * with a scalar head (reward-model-net.ts) learns from preference pairs (prompt, chosen, rejected) to score the
 * chosen completion above the rejected one, with the Bradley–Terry loss (reward-model-loss.ts). Held-out pair
 * accuracy on prompts it never trained on, checkpoints with exact resume, and a reward-model folder that the
 * `reward_model` reward (src/rewards/reward-model.ts) scores GRPO completions with: RLHF.
 *
 * Step s reads batch (s mod batches-per-epoch) of epoch ⌊s / batches-per-epoch⌋, whose order derives from
 * (seed, epoch) alone, so a resumed run sees exactly the batches the uninterrupted run would have. The head is the
 * last parameter of the trunk's flat buffer, so one AdamW clips and steps both, and a checkpoint is the trainers' usual
 * one: model/ (the trunk and reward_model.json with the head), optimizer.safetensors (the moments of both), state.json.
 * With `lora:` the adapters and the head train on the frozen trunk, and `torch_dtype: bfloat16` keeps that trunk in
 * BF16 (as GRPO and SFT do; the adapters, the head and their moments stay F32).
 */
import { join } from "node:path";
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import type { FloatArray } from "../model/params.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { yieldToEvents, type Trainer } from "../recipes/registry.js";
import { AdamW } from "./optimizer.js";
import { lrMultiplier } from "./schedule.js";
import { loadLatestCheckpoint, saveCheckpoint, type Moments, type SavedModel } from "./checkpoint.js";
import { LoraConfigSchema, TorchDtypeSchema, adapterParams, loadAdapterFolderInto, requireLoraForBf16, saveAdapterFolder } from "./lora.js";
import type { LoraAdapters } from "../model/lora.js";
import { epochBatches } from "./sft-data.js";
import { bradleyTerry } from "./reward-model-loss.js";
import { padRows, readHeadWeights, rewardModelFrom, saveRewardModel, REWARD_MODEL_FILE, type RewardModel } from "./reward-model-net.js";
import { loadPairs, pairRows, splitPairsByPrompt, tokenizePair, type TokenizedPair } from "./reward-model-data.js";
import { BackendChoiceSchema, datasetTrainingFields } from "./trainer-config.js";

export const RewardModelConfigSchema = z.object({
  /** The Hugging Face folder whose transformer (and tokenizer) the reward model is built on. */
  model: z.string().min(1),
  /** pretrained: start from the folder's weights; random: its config, freshly initialised (a baseline). */
  init: z.enum(["pretrained", "random"]).default("pretrained"),
  /** JSONL of {prompt, chosen, rejected, margin?} pairs (`move37 prefs` writes them). */
  train_file: z.string().min(1),
  /** Held-out pairs; without it the pairs of whole prompts of train_file are held out until eval_size pairs are. */
  eval_file: z.string().min(1).optional(),
  eval_size: z.number().int().nonnegative().default(64),
  /** Tokens per sequence at most, EOS included (the start of longer ones is cut). */
  max_length: z.number().int().min(2).default(512),
  /** Pairs per step (each is two rows of the forward). */
  per_device_train_batch_size: z.number().int().positive().default(8),
  group_by_length: z.boolean().default(true),
  num_train_epochs: z.number().positive().default(1),
  /** Overrides num_train_epochs when > 0. */
  max_steps: z.number().int().nonnegative().default(0),
  /** TRL's: adds κ·mean((r_c + r_r)²) so rewards stay centred on 0 (useful when they are summed with rule rewards). */
  center_rewards_coefficient: z.number().nonnegative().default(0),
  ...datasetTrainingFields({ lr_scheduler_type: "linear" }),
  /** Where the reward-model folder is written (trunk, tokenizer files, reward_model.json). */
  output_dir: z.string().min(1).optional(),
  /** LoRA adapters on the frozen trunk (PEFT's keys, docs/lora.md), trained with the head; output_dir gets the merged trunk. */
  lora: LoraConfigSchema.optional(),
  /** The trunk's weights (TRL's ModelConfig.torch_dtype): bfloat16 keeps it frozen in BF16 (with lora: only; docs/lora.md). */
  torch_dtype: TorchDtypeSchema,
  seed: z.number().int().default(0),
  backend: BackendChoiceSchema,
}).strict();
export type RewardModelConfig = z.output<typeof RewardModelConfigSchema>;

interface RewardModelState {
  pairsSeen: number;
  before: PairFigures | null;
  /** Only in checkpoints written before the head joined the trunk's buffer: its weights and AdamW moments. */
  head?: { score: number[]; m: number[]; v: number[] };
}

export interface PairFigures { loss: number; accuracy: number; margin: number; chosen: number; rejected: number }

/**
 * Bradley–Terry loss of a batch of pairs and, when `train`, its gradients accumulated into the trunk's and the head's
 * grads. One forward over 2P rows: the chosen sequences, then the rejected ones.
 */
export function pairLoss<F extends FloatArray>(rm: RewardModel<F>, pairs: readonly TokenizedPair[], padId: number, centerCoefficient: number, train: boolean): PairFigures {
  const P = pairs.length, rows = padRows(pairRows(pairs), padId);
  const r = rm.forward(rows.tokens, rows.mask, rows.B, rows.T);
  const chosen = r.subarray(0, P), rejected = r.subarray(P);
  const bt = bradleyTerry(chosen, rejected, pairs.map(p => p.margin), centerCoefficient);
  if (train) {
    const d = new Float64Array(2 * P);
    d.set(bt.dchosen, 0); d.set(bt.drejected, P);
    rm.backward(d);
  }
  const mean = (xs: Float64Array) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  return { loss: bt.loss, accuracy: bt.accuracy, margin: bt.margin, chosen: mean(chosen), rejected: mean(rejected) };
}

/** Pair figures over many pairs, in batches of `batchSize` (weighted by batch size), without adapter dropout. */
export function evaluatePairs<F extends FloatArray>(rm: RewardModel<F>, pairs: readonly TokenizedPair[], padId: number, batchSize: number): PairFigures | null {
  if (pairs.length === 0) return null;
  const sum: PairFigures = { loss: 0, accuracy: 0, margin: 0, chosen: 0, rejected: 0 };
  rm.evaluating(() => {
    for (let i = 0; i < pairs.length; i += batchSize) {
      const batch = pairs.slice(i, i + batchSize), f = pairLoss(rm, batch, padId, 0, false);
      for (const k of Object.keys(sum) as (keyof PairFigures)[]) sum[k] += f[k] * batch.length;
    }
  });
  for (const k of Object.keys(sum) as (keyof PairFigures)[]) sum[k] /= pairs.length;
  return sum;
}

/**
 * Restores a checkpoint's head from its model/reward_model.json, and turns the moments of a checkpoint written before
 * the head joined the trunk's buffer (the trunk's in optimizer.safetensors, the head's in state.json) into the moments
 * of the one buffer: the head's parameter is its last, so they follow the trunk's.
 */
export function restoreHead(rm: RewardModel, dir: string, state: { trainer: RewardModelState }, moments: Moments): Moments {
  rm.score.set(readHeadWeights(join(dir, "model")));
  const old = state.trainer.head, H = rm.score.length;
  if (!old || moments.m.length !== rm.trunk.flatParams.length - H) return moments;
  const join2 = (trunk: Float32Array, head: number[]) => { const out = new Float32Array(trunk.length + H); out.set(trunk); out.set(head, trunk.length); return out; };
  return { m: join2(moments.m, old.m), v: join2(moments.v, old.v) };
}

/** A LoRA reward model's checkpoint: the adapter folder (PEFT's format) with reward_model.json beside it. */
function loraSaved(rm: RewardModel, base: string, head: () => string): SavedModel {
  const ad = rm.lora as LoraAdapters<Float32Array>, params = adapterParams(ad);
  return {
    config: rm.config, params,
    saveAdapter: (dir, opts) => saveAdapterFolder(dir, ad, params, base, { copyFrom: opts.copyFrom, files: { [REWARD_MODEL_FILE]: head() } }),
    loadAdapterWeights: dir => loadAdapterFolderInto(dir, params, ad),
  };
}

export const rewardModel: Trainer<typeof RewardModelConfigSchema> = {
  name: "reward-model",
  description: "reward model from preference pairs (prompt, chosen, rejected): scalar head on the transformer, Bradley–Terry loss, held-out pair accuracy (RLHF's reward model)",
  schema: RewardModelConfigSchema,
  async run(c, run, ctx) {
    requireLoraForBf16(c.torch_dtype, c.lora, c.model); // before loading anything: a BF16 trunk without adapters has nothing to train
    const backend = getBackend(c.backend);
    const tok = loadTokenizer(c.model);
    const padId = tok.padId ?? tok.eosId ?? 0;
    const rm = rewardModelFrom(c.model, backend, { init: c.init, maxLength: c.max_length, seed: c.seed, dtype: c.torch_dtype });
    if (c.max_length > rm.config.max_position_embeddings)
      throw new RangeError(`max_length is ${c.max_length} but the model has max_position_embeddings ${rm.config.max_position_embeddings}: set max_length to at most that`);
    const all = loadPairs(c.train_file);
    const split = c.eval_file ? { train: all, eval: loadPairs(c.eval_file) } : c.eval_size > 0 ? splitPairsByPrompt(all, c.eval_size, c.seed) : { train: all, eval: [] };
    const train = split.train.map(p => tokenizePair(tok, p, c.max_length)), evalSet = split.eval.map(p => tokenizePair(tok, p, c.max_length));
    const truncated = [...train, ...evalSet].filter(p => p.truncated).length;
    if (truncated > 0) ctx.log(`warning: ${truncated} pairs are longer than max_length ${c.max_length} tokens; their prompts were cut from the start`);
    const same = train.filter(p => p.chosen.join() === p.rejected.join()).length;
    if (same > 0) ctx.log(`warning: ${same} training pairs have identical chosen and rejected completions (they teach nothing)`);

    const B = c.per_device_train_batch_size;
    const perEpoch = Math.ceil(train.length / B);
    const maxSteps = c.max_steps > 0 ? c.max_steps : Math.ceil(c.num_train_epochs * perEpoch);
    const lengths = train.map(p => Math.max(p.chosen.length, p.rejected.length));
    const epochs = new Map<number, number[][]>();
    const batchAt = (step: number): TokenizedPair[] => {
      const epoch = Math.floor(step / perEpoch);
      if (!epochs.has(epoch)) { epochs.clear(); epochs.set(epoch, epochBatches(lengths, B, c.seed, epoch, c.group_by_length)); }
      return epochs.get(epoch)![step % perEpoch].map(i => train[i]);
    };
    // Held-out pairs in length order: least padding, the same batches at every evaluation.
    const evalSorted = [...evalSet].sort((a, b) => Math.max(a.chosen.length, a.rejected.length) - Math.max(b.chosen.length, b.rejected.length));
    const evalFigures = () => evaluatePairs(rm, evalSorted, padId, B);
    const evalMetrics = () => {
      const f = evalFigures();
      return f ? { eval_loss: f.loss, eval_accuracy: f.accuracy, eval_margin: f.margin } : {};
    };

    if (c.lora) rm.attachLora(c.lora); // adapters on the frozen trunk; the head joins the adapters' buffer
    const trainable = rm.trainable;
    const optimizer = new AdamW(trainable, backend, c.optimizer); // trunk (or adapters) and head: one buffer, one clip, one update
    // model/: the trunk (or its LoRA adapter); the head goes in its reward_model.json
    const saved: SavedModel = rm.lora ? loraSaved(rm, c.model, () => JSON.stringify(rm.fileContent(info()))) : { config: rm.config, params: rm.trunkParams };
    let step = 0;
    let state: RewardModelState = { pairsSeen: 0, before: null };
    if (ctx.resume) {
      const restored = loadLatestCheckpoint<RewardModelState>(run.checkpointsDir, saved, optimizer, ctx.log, (dir, st, moments) => restoreHead(rm, dir, st, moments));
      if (restored) {
        step = restored.step; state = { pairsSeen: restored.trainer.pairsSeen, before: restored.trainer.before }; run.rewind(step);
        ctx.log(`resumed at step ${step}`);
      }
    }
    const info = () => ({ base: c.model, init: c.init, torch_dtype: c.torch_dtype, train_file: c.train_file, train_pairs: train.length, eval_pairs: evalSet.length, step });
    const save = () => {
      saveCheckpoint(run.checkpointsDir, step, saved, optimizer, state, {
        keep: c.save_total_limit, model: { copyFrom: c.model, files: { [REWARD_MODEL_FILE]: JSON.stringify(rm.fileContent(info())) } },
      });
    };
    ctx.log(`reward model: ${train.length} training pairs (${perEpoch} batches of ${B} per epoch), ${evalSet.length} held out, ${maxSteps} steps`);
    if (step === 0) {
      state.before = evalFigures();
      const b = state.before;
      if (b) run.logMetrics(0, { eval_loss: b.loss, eval_accuracy: b.accuracy, eval_margin: b.margin });
    }

    const bar = ctx.progress({ total: maxSteps, startStep: step, fields: [
      { label: "loss", metric: "loss" }, { label: "acc", metric: "accuracy" }, { label: "eval acc", metric: "eval_accuracy" }] });
    while (step < maxSteps && !ctx.signal.aborted) {
      await yieldToEvents(); // lets Ctrl-C reach ctx.signal
      const t0 = performance.now();
      const batch = batchAt(step);
      trainable.flatGrads.fill(0); // the head's grads too
      const f = pairLoss(rm, batch, padId, c.center_rewards_coefficient, true);
      const lr = c.optimizer.learning_rate * lrMultiplier(c.schedule, step, maxSteps);
      const { gradNorm } = optimizer.step(lr);
      step++;
      state.pairsSeen += batch.length;
      const tokens = batch.reduce((s, p) => s + p.chosen.length + p.rejected.length, 0);
      const metrics: Record<string, number | null> = {
        loss: f.loss, accuracy: f.accuracy, margin: f.margin, "rewards/chosen": f.chosen, "rewards/rejected": f.rejected,
        grad_norm: gradNorm, learning_rate: lr, epoch: step / perEpoch, pairs_seen: state.pairsSeen, tokens_per_second: tokens / ((performance.now() - t0) / 1000),
      };
      if (c.eval_every > 0 && (step % c.eval_every === 0 || step === maxSteps)) Object.assign(metrics, evalMetrics());
      run.logMetrics(step, metrics);
      bar.update(step, metrics);
      if (c.save_steps > 0 && step % c.save_steps === 0) save();
    }
    bar.stop();
    save();
    if (step < maxSteps) return;
    const after = evalFigures();
    const pct = (x: number | undefined) => (x === undefined ? "-" : `${(100 * x).toFixed(1)}%`);
    run.writeJson("report.json", { train_pairs: train.length, eval_pairs: evalSet.length, before: state.before, after, steps: step });
    if (after) ctx.log(`held-out pair accuracy: ${pct(state.before?.accuracy)} before, ${pct(after.accuracy)} after (${evalSet.length} pairs; loss ${after.loss.toFixed(4)}, margin ${after.margin.toFixed(3)})`);
    if (c.output_dir) {
      saveRewardModel(rm, c.output_dir, { copyFrom: c.model, info: { ...info(), eval_accuracy: after?.accuracy ?? null } });
      ctx.log(`reward model written to ${c.output_dir}`);
    }
  },
};
