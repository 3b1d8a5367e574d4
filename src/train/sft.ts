/**
 * Supervised fine-tuning (TRL's SFTTrainer in shape): next-token loss on the completion tokens of JSONL rows
 * (prompt/completion or chat messages, see sft-data.ts), length-grouped batches, AdamW with a schedule, a
 * held-out loss, checkpoints with exact resume, and a final Hugging Face folder with the tokenizer files.
 * R1 uses it twice: the cold start before reasoning RL, and the rejection-sampling stage after it.
 *
 * With packing, short examples share rows of max_length positions (best-fit decreasing, segment-masked so each
 * example attends only to itself). With gradient_accumulation_steps = N the optimizer steps once per N
 * micro-batches, the loss normalised over all completion tokens of the N, so a step equals one N× larger batch.
 *
 * Steps read micro-batches in sequence (the count consumed is the data position, saved in checkpoints);
 * micro-batch m is batch (m mod batches-per-epoch) of epoch ⌊m / batches-per-epoch⌋, whose order derives from
 * (seed, epoch) alone, so a resumed run sees exactly the batches the uninterrupted run would have (SFT draws no
 * other randomness).
 */
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import type { CausalLM } from "../model/types.js";
import { loadPretrained } from "../model/io/pretrained.js";
import { LoraConfigSchema, TorchDtypeSchema, isLoraModel, requireLoraForBf16, saveModel, withLora } from "./lora.js";
import { loadTokenizer } from "../tokenizer/load.js";
import { yieldToEvents, type Trainer } from "../recipes/registry.js";
import { AdamW } from "./optimizer.js";
import { lrMultiplier } from "./schedule.js";
import { loadLatestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { traceRows, TracesConfigSchema } from "./sft-traces.js";
import { DatasetConfigSchema, loadDataset } from "../data/dataset.js";
import { problemSource } from "../eval/problems.js";
import { loadSftJsonl, sftRowOf, makeBatch, splitRows, tokenizeRow, trainingBatches, SFTDataError, type SFTBatch, type SFTExample } from "./sft-data.js";
import { BackendChoiceSchema, datasetTrainingFields } from "./trainer-config.js";

export const SFTConfigSchema = z.object({
  /** The Hugging Face model folder to fine-tune. */
  model: z.string().min(1),
  /** JSONL of {prompt, completion} or {messages} rows (or `traces`). */
  train_file: z.string().min(1).nullish(),
  /** Instead of train_file: generated worked arithmetic solutions or countdown searches (sft-traces.ts). */
  traces: TracesConfigSchema.nullish(),
  /**
   * Instead of train_file: a dataset file or folder (docs/datasets.md) with TRL's SFT columns: `messages` (a chat
   * ending in assistant turns), or `prompt` + `completion` (strings or chat lists). Its own eval rows, when it names
   * them (eval_path, eval_split, eval_fraction, eval_size), are the held-out rows.
   */
  dataset: DatasetConfigSchema.nullish(),
  /** Held-out rows; without it (or a dataset's eval rows) `eval_size` training rows are held out. */
  eval_file: z.string().min(1).optional(),
  eval_size: z.number().int().nonnegative().default(32),
  /** Chat template for messages rows: "model" (tokenizer_config.json's), "r1", or a Jinja string; default the model's, else r1. */
  chat_template: z.string().min(1).optional(),
  /** Variables for the chat template (as GRPO's prompt.chat_template_kwargs), e.g. Qwen3's {enable_thinking: false}. */
  chat_template_kwargs: z.record(z.string(), z.unknown()).optional(),
  /** Tokens per example at most (longer ones are cut, and counted in `truncated`); with packing, positions per packed row. */
  max_length: z.number().int().min(2).default(512),
  /** Rows per micro-batch: examples, or packed rows of several examples with packing. */
  per_device_train_batch_size: z.number().int().positive().default(8),
  /** Micro-batches per optimizer step; the loss is normalised over all their completion tokens (one N× batch). */
  gradient_accumulation_steps: z.number().int().positive().default(1),
  /** Pack whole examples into rows of max_length positions, each attending only to itself (TRL's packing, "bfd"). */
  packing: z.boolean().default(false),
  /** Batch rows of similar length together (less padding; with packing it orders the packed rows). */
  group_by_length: z.boolean().default(true),
  num_train_epochs: z.number().positive().default(1),
  /** Overrides num_train_epochs when > 0. */
  max_steps: z.number().int().nonnegative().default(0),
  ...datasetTrainingFields({ lr_scheduler_type: "cosine", warmup_ratio: 0.05 }),
  /** Where the fine-tuned model is written as a Hugging Face folder (tokenizer files copied from `model`). */
  output_dir: z.string().min(1).optional(),
  /** Train LoRA adapters on a frozen base (PEFT's keys, docs/lora.md); output_dir then holds the adapter in PEFT's format. */
  lora: LoraConfigSchema.optional(),
  /** The model's weights (TRL's ModelConfig.torch_dtype): bfloat16 keeps the base frozen in BF16 (with lora: only; docs/lora.md). */
  torch_dtype: TorchDtypeSchema,
  seed: z.number().int().default(0),
  backend: BackendChoiceSchema,
}).strict().superRefine((c, ctx) => {
  const given = (["train_file", "traces", "dataset"] as const).filter(k => c[k] != null);
  if (given.length !== 1)
    ctx.addIssue({ code: "custom", path: [given[1] ?? "train_file"], message: `give exactly one of train_file, traces and dataset${given.length ? ` (this recipe gives ${given.join(" and ")}; --traces=null drops a recipe's traces)` : ""}` });
});
export type SFTConfig = z.output<typeof SFTConfigSchema>;

interface SFTState {
  tokensSeen: number;
  /** Micro-batches consumed: the data position, so a resume may change gradient_accumulation_steps (absent in older checkpoints: step·N). */
  microBatches?: number;
}

/**
 * Negative log-likelihood of the batch's trained targets (lossMask = 1) divided by `per` (default: their count,
 * the mean) and, when `train`, its gradient accumulated into model.flatGrads: dL/dlogp = −1/per on trained
 * positions, 0 on prompt and padding.
 */
export function sftLoss(model: CausalLM, b: SFTBatch, train: boolean, per = b.numTokens): number {
  const { logp } = model.forward(b.tokens, b.mask, b.targets, b.B, b.T, 1, b.segments);
  const n = Math.max(1, per);
  const dlogp = new Float32Array(b.B * b.T);
  let sum = 0;
  for (let i = 0; i < logp.length; i++) if (b.lossMask[i]) { sum -= logp[i]; dlogp[i] = -1 / n; }
  if (train) model.backward(dlogp);
  return sum / n;
}

/**
 * Gradient accumulation: the mean NLL over every trained token of the micro-batches, its gradient accumulated
 * into model.flatGrads. Each micro-batch is weighted by its token count, so the result is that of one batch
 * holding them all (TRL normalises by the tokens of the whole accumulated batch the same way).
 */
export function accumulateSftLoss(model: CausalLM, micro: readonly SFTBatch[]): number {
  const total = micro.reduce((n, b) => n + b.numTokens, 0);
  return micro.reduce((loss, b) => loss + sftLoss(model, b, true, total), 0);
}

export const sft: Trainer<typeof SFTConfigSchema> = {
  name: "sft",
  description: "supervised fine-tuning on prompt/completion or chat JSONL, loss on completion tokens only (R1 cold start, rejection-sampling SFT)",
  schema: SFTConfigSchema,
  async run(c, run, ctx) {
    const backend = getBackend(c.backend);
    requireLoraForBf16(c.torch_dtype, c.lora, c.model);
    const model = withLora(loadPretrained(c.model, backend, { dtype: c.torch_dtype }).model, c.lora, c.model);
    const tok = loadTokenizer(c.model);
    const padId = tok.padId ?? tok.eosId ?? 0;
    if (c.max_length > model.config.max_position_embeddings)
      throw new RangeError(`max_length is ${c.max_length} but the model has max_position_embeddings ${model.config.max_position_embeddings}: set max_length to at most that`);
    const loaded = c.dataset ? loadDataset(c.dataset) : null;
    const rows = c.train_file ? loadSftJsonl(c.train_file) : loaded ? loaded.train.map(sftRowOf) : traceRows(c.traces!);
    const source = c.train_file ?? (c.dataset ? problemSource({ dataset: c.dataset }) : "traces");
    const split = c.eval_file ? { train: rows, eval: loadSftJsonl(c.eval_file) }
      : loaded && loaded.eval.length > 0 ? { train: rows, eval: loaded.eval.map(sftRowOf) }
      : c.eval_size > 0 ? splitRows(rows, c.eval_size, c.seed) : { train: rows, eval: [] };
    let truncated = 0;
    const encode = (r: (typeof rows)[number]): SFTExample[] => {
      const seqs = tokenizeRow(tok, r, c.max_length, c.chat_template, c.chat_template_kwargs);
      if (seqs.some(e => e.truncated)) truncated++;
      return seqs;
    };
    const train = split.train.flatMap(encode).filter(e => e.loss.some(x => x));
    const evalSet = split.eval.flatMap(encode);
    if (train.length === 0) throw new SFTDataError(`${source}: no row has a completion token within max_length ${c.max_length}: raise max_length`);
    if (truncated > 0) ctx.log(`warning: ${truncated} rows are longer than max_length ${c.max_length} tokens and were cut`);

    const B = c.per_device_train_batch_size, N = c.gradient_accumulation_steps;
    const data = trainingBatches(train, { batchSize: B, packing: c.packing, maxLength: c.max_length, groupByLength: c.group_by_length, seed: c.seed, padId });
    const perEpoch = data.perEpoch;
    const maxSteps = c.max_steps > 0 ? c.max_steps : Math.ceil(c.num_train_epochs * perEpoch / N);
    // Held-out batches in length order: least padding, and the same batches at every evaluation.
    const evalBatches: SFTBatch[] = [];
    const byLength = evalSet.map((_, i) => i).sort((a, b) => evalSet[a].ids.length - evalSet[b].ids.length);
    for (let i = 0; i < byLength.length; i += B) evalBatches.push(makeBatch(byLength.slice(i, i + B).map(j => evalSet[j]), padId));
    const evalLoss = () => {
      const n = evalBatches.reduce((s, b) => s + b.numTokens, 0);
      const sum = () => evalBatches.reduce((s, b) => s + sftLoss(model, b, false) * b.numTokens, 0);
      return n === 0 ? null : (isLoraModel(model) ? model.evaluating(sum) : sum()) / n;
    };

    const optimizer = new AdamW(model, backend, c.optimizer);
    let step = 0;
    let state: Required<SFTState> = { tokensSeen: 0, microBatches: 0 };
    if (ctx.resume) {
      const restored = loadLatestCheckpoint<SFTState>(run.checkpointsDir, model, optimizer, ctx.log);
      if (restored) { step = restored.step; state = { microBatches: step * N, ...restored.trainer }; run.rewind(step); ctx.log(`resumed at step ${step}`); }
    }
    const folder = { copyFrom: c.model };
    const save = () => saveCheckpoint(run.checkpointsDir, step, model, optimizer, state, { keep: c.save_total_limit, model: folder });
    const packed = c.packing ? `, packed into ${data.rows} rows of ≤ ${c.max_length} positions` : "";
    ctx.log(`SFT: ${train.length} training examples${packed} (${perEpoch} batches of ${B} per epoch, ${N} per step), ${evalSet.length} held out, ${maxSteps} steps`);
    if (step === 0 && evalBatches.length > 0) run.logMetrics(0, { eval_loss: evalLoss() });

    const bar = ctx.progress({ total: maxSteps, startStep: step, fields: [
      { label: "loss", metric: "loss" }, { label: "eval", metric: "eval_loss" }, { label: "tok/s", metric: "tokens_per_second" }] });
    while (step < maxSteps && !ctx.signal.aborted) {
      await yieldToEvents(); // lets Ctrl-C reach ctx.signal
      const t0 = performance.now();
      const micro = Array.from({ length: N }, (_, i) => data.at(state.microBatches + i));
      model.flatGrads.fill(0);
      const loss = accumulateSftLoss(model, micro);
      const lr = c.optimizer.learning_rate * lrMultiplier(c.schedule, step, maxSteps);
      const { gradNorm } = optimizer.step(lr);
      step++;
      state.tokensSeen += micro.reduce((n, b) => n + b.numTokens, 0);
      state.microBatches += N;
      const real = micro.reduce((n, b) => n + b.mask.reduce((s, x) => s + x, 0), 0), slots = micro.reduce((n, b) => n + b.B * b.T, 0);
      const metrics: Record<string, number | null> = {
        loss, grad_norm: gradNorm, learning_rate: lr, epoch: state.microBatches / perEpoch, num_tokens: state.tokensSeen,
        padding_fraction: 1 - real / slots, tokens_per_second: real / ((performance.now() - t0) / 1000),
      };
      if (evalBatches.length > 0 && c.eval_every > 0 && (step % c.eval_every === 0 || step === maxSteps)) metrics.eval_loss = evalLoss();
      run.logMetrics(step, metrics);
      bar.update(step, metrics);
      if (c.save_steps > 0 && step % c.save_steps === 0) save();
    }
    bar.stop();
    save();
    if (step >= maxSteps && c.output_dir) {
      saveModel(model, c.output_dir, folder);
      const e = evalLoss();
      ctx.log(`fine-tuned model written to ${c.output_dir}${e === null ? "" : ` (eval loss ${e.toFixed(4)})`}`);
    }
  },
};
