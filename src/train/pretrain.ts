/**
 * Pretraining: next-token loss on the generated corpus (src/corpus), producing the tiny base model that the
 * R1-Zero run starts from. nanoGPT's train.py in shape: batches of packed text, AdamW with warmup and decay,
 * a held-out loss every `eval_every` steps, checkpoints, resume, and a final Hugging Face folder.
 *
 * Step s reads documents from a corpus stream seeded by (seed, s), so the data position is the step itself and
 * a resumed run sees exactly the batches the uninterrupted run would have.
 */
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import { ModelConfigSchema } from "../model/config.js";
import { createModel } from "../model/transformer.js";
import type { CausalLM } from "../model/types.js";
import { savePretrained } from "../model/io/pretrained.js";
import { readHfConfig, readHfWeights } from "../model/io/hf.js";
import { CorpusConfigSchema, corpusDocuments } from "../corpus/corpus.js";
import { ByteTokenizer } from "../tokenizer/byte.js";
import { tokenizerFileMap } from "../tokenizer/load.js";
import { yieldToEvents, type Trainer } from "../recipes/registry.js";
import { AdamW, AdamWConfigSchema } from "./optimizer.js";
import { lrMultiplier, ScheduleConfigSchema } from "./schedule.js";
import { loadLatestCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { mixSeed } from "../tasks/rng.js";
import { BackendChoiceSchema, checkpointFields } from "./trainer-config.js";

export const PretrainConfigSchema = z.object({
  model: ModelConfigSchema,
  /**
   * Continued pretraining: start from this model folder's weights instead of a random initialisation (its config must
   * have the shapes of `model`). recipes/base-bilingual.yaml teaches models/base-tiny a second language this way.
   */
  init_from: z.string().min(1).optional(),
  corpus: CorpusConfigSchema.default(CorpusConfigSchema.parse({})),
  seq_len: z.number().int().positive().default(256),
  batch_size: z.number().int().positive().default(16),
  max_steps: z.number().int().positive().default(1000),
  optimizer: AdamWConfigSchema.default(AdamWConfigSchema.parse({ learning_rate: 1e-3, weight_decay: 0.1 })),
  schedule: ScheduleConfigSchema.default(ScheduleConfigSchema.parse({ lr_scheduler_type: "cosine", warmup_steps: 50 })),
  eval_every: z.number().int().nonnegative().default(100),
  eval_batches: z.number().int().positive().default(4),
  ...checkpointFields(200),
  /** Where the final model is written as a Hugging Face folder (with the byte tokenizer). */
  output_dir: z.string().min(1),
  seed: z.number().int().default(0),
  backend: BackendChoiceSchema,
}).strict();

export type PretrainConfig = z.output<typeof PretrainConfigSchema>;

interface PretrainState { tokensSeen: number }

const EVAL_SEED_OFFSET = 0x5eed;

/** Tokens [B*(T+1)] packed from documents of the stream seeded `seed`, each followed by EOS. */
export function packedBatch(tok: ByteTokenizer, corpus: PretrainConfig["corpus"], seed: number, B: number, T: number): Int32Array {
  const need = B * (T + 1);
  const out = new Int32Array(need);
  let n = 0;
  for (const doc of corpusDocuments({ ...corpus, seed })) {
    for (const id of [...tok.encode(doc.text), tok.eosId!]) {
      if (n === need) return out;
      out[n++] = id;
    }
  }
  return out;
}

/** tokenizer.json and tokenizer_config.json of the byte tokenizer, for a model folder. */
export const byteTokenizerFiles = (tok: ByteTokenizer) =>
  tokenizerFileMap(tok.toTokenizerJson(), { bos_token: tok.bosToken, eos_token: tok.eosToken, pad_token: tok.padToken });

/** Mean next-token loss of `rows` [B*(T+1)] and, when `train`, the gradients it leaves in model.flatGrads. */
export function languageModelLoss(model: CausalLM, rows: Int32Array, B: number, T: number, train: boolean): number {
  const tokens = new Int32Array(B * T), targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    tokens.set(rows.subarray(b * (T + 1), b * (T + 1) + T), b * T);
    targets.set(rows.subarray(b * (T + 1) + 1, (b + 1) * (T + 1)), b * T);
  }
  const { logp } = model.forward(tokens, new Uint8Array(B * T).fill(1), targets, B, T);
  let sum = 0;
  for (let i = 0; i < logp.length; i++) sum -= logp[i];
  if (train) model.backward(new Float32Array(B * T).fill(-1 / (B * T)));
  return sum / (B * T);
}

export const pretrain: Trainer<typeof PretrainConfigSchema> = {
  name: "pretrain",
  description: "next-token pretraining on the generated corpus (makes the tiny base model)",
  schema: PretrainConfigSchema,
  async run(c, run, ctx) {
    const tok = new ByteTokenizer();
    if (c.model.vocab_size < tok.vocabSize)
      throw new RangeError(`model.vocab_size is ${c.model.vocab_size} but the byte tokenizer has ${tok.vocabSize} ids: set model.vocab_size to at least ${tok.vocabSize}`);
    const backend = getBackend(c.backend);
    const model = createModel({ ...c.model, eos_token_id: tok.eosId, bos_token_id: tok.bosId }, backend, c.seed);
    if (c.init_from) {
      const from = readHfConfig(c.init_from);
      for (const k of ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size", "vocab_size"] as const)
        if (from[k] !== model.config[k]) throw new RangeError(`init_from ${c.init_from} has ${k} ${from[k]} but the recipe's model has ${model.config[k]}: make model match the folder's config.json`);
      readHfWeights(c.init_from, from, model.params, model.bf16Params);
      ctx.log(`initialised from ${c.init_from}`);
    }
    const optimizer = new AdamW(model, backend, c.optimizer);
    let step = 0;
    let state: PretrainState = { tokensSeen: 0 };
    if (ctx.resume) {
      const restored = loadLatestCheckpoint<PretrainState>(run.checkpointsDir, model, optimizer, ctx.log);
      if (restored) { step = restored.step; state = restored.trainer; run.rewind(step); ctx.log(`resumed at step ${step}`); }
    }
    const folder = { files: byteTokenizerFiles(tok) };
    const save = () => saveCheckpoint(run.checkpointsDir, step, model, optimizer, state, { keep: c.save_total_limit, model: folder });

    const { batch_size: B, seq_len: T } = c;
    const evalRows = Array.from({ length: c.eval_batches }, (_, i) => packedBatch(tok, c.corpus, mixSeed(c.seed + EVAL_SEED_OFFSET, i), B, T));
    const evalLoss = () => evalRows.reduce((s, rows) => s + languageModelLoss(model, rows, B, T, false), 0) / evalRows.length;

    const bar = ctx.progress({ total: c.max_steps, startStep: step, fields: [
      { label: "loss", metric: "loss" }, { label: "eval", metric: "eval_loss" }, { label: "tok/s", metric: "tokens_per_second" }] });
    while (step < c.max_steps && !ctx.signal.aborted) {
      await yieldToEvents(); // lets Ctrl-C reach ctx.signal
      const t0 = performance.now();
      const rows = packedBatch(tok, c.corpus, mixSeed(c.seed, step), B, T);
      model.flatGrads.fill(0);
      const loss = languageModelLoss(model, rows, B, T, true);
      const lr = c.optimizer.learning_rate * lrMultiplier(c.schedule, step, c.max_steps);
      const { gradNorm } = optimizer.step(lr);
      step++;
      state.tokensSeen += B * T;
      const seconds = (performance.now() - t0) / 1000;
      const metrics: Record<string, number | null> = { loss, grad_norm: gradNorm, learning_rate: lr, tokens_per_second: (B * T) / seconds, tokens_seen: state.tokensSeen };
      if (c.eval_every > 0 && (step % c.eval_every === 0 || step === c.max_steps)) metrics.eval_loss = evalLoss();
      run.logMetrics(step, metrics);
      bar.update(step, metrics);
      if (c.save_steps > 0 && step % c.save_steps === 0) save();
    }
    bar.stop();
    save();
    if (step >= c.max_steps) {
      savePretrained(model, c.output_dir, folder);
      ctx.log(`base model written to ${c.output_dir} (eval loss ${evalLoss().toFixed(4)})`);
    }
  },
};
