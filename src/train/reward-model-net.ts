/**
 * A reward model: the project's transformer with a scalar head (Hugging Face's LlamaForSequenceClassification with
 * num_labels = 1): r = score · xf[last], the final-normed hidden state of each row's last real token, no bias
 * (the Bradley–Terry loss only sees differences of rewards). Every sequence ends with EOS (appended by
 * `encodeSequence`, as OpenRLHF does), so the head always reads the state of the same token.
 *
 * Shapes: B rows, T tokens per row, H hidden.
 *   tokens, mask [B*T] (right padding)   xf [B*T, H]   last [B] index of each row's last real token
 *   score, scoreGrad [H]   rewards, drewards [B]   dxf [B*T, H] (non-zero only at the last rows)
 *
 * In memory the head is one more parameter, score.weight [1, H], at the end of the transformer's flat buffer (llm.c's
 * one allocation), so training has one AdamW, one clip and one checkpoint. On disk a reward-model folder is a Hugging
 * Face folder of the trunk alone (config.json, model.safetensors, tokenizer files) plus reward_model.json with the
 * head's weights and how sequences are encoded: the layout every reward-model folder has had, so old ones load as they are.
 *
 * Trunk dtype (`weights`): float32, or bfloat16, whose Linear weights, LM head and embedding are frozen BF16
 * (Transformer's `weights: "bfloat16"`, docs/engine.md); the head stays F32 in the flat buffer either way. A BF16 trunk
 * trains only with LoRA adapters (the reward-model trainer's `torch_dtype: bfloat16` with `lora:`) or scores (a GRPO
 * recipe's `reward_model_dtype: bfloat16`).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Backend } from "../engine/backend.js";
import type { ModelConfig } from "../model/config.js";
import { BackwardBeforeForwardError, Transformer } from "../model/transformer.js";
import { normalRng } from "../rng.js";
import { widenedTensors, type FloatArray, type FloatArrayCtor, type ParamView } from "../model/params.js";
import { readHfConfig, readHfWeights, saveHfFolder } from "../model/io/hf.js";
import { createAdapters, peftKey, type LoraAdapters, type LoraConfig } from "../model/lora.js";
import type { WeightsDtype } from "../model/io/pretrained.js";
import { adapterBaseDir, adapterParams, isAdapterFolder, loadAdapterFolderInto, mergedTensorsOf, readAdapterConfig } from "./lora.js";
import type { Tokenizer } from "../tokenizer/types.js";

export const REWARD_MODEL_FILE = "reward_model.json";

const RewardModelFileSchema = z.object({
  format: z.literal("move37.reward_model"),
  /** score.weight [1, H] of LlamaForSequenceClassification, row-major. */
  score: z.array(z.number()),
  /** Tokens per sequence at most (the start of longer ones is cut). */
  max_length: z.number().int().positive(),
  /** What it was trained on and how well it did (free-form, for people). */
  info: z.record(z.string(), z.unknown()).default({}),
}).strict();
export type RewardModelFile = z.output<typeof RewardModelFileSchema>;

export class RewardModelFolderError extends Error {
  constructor(dir: string, why: string) {
    super(`${dir} is not a reward-model folder: ${why}. Train one with \`move37 train recipes/rm-tiny.yaml\` (its output_dir, or a checkpoint's model/ folder)`);
    this.name = "RewardModelFolderError";
  }
}

/** The head's parameter: Hugging Face's LlamaForSequenceClassification `score` Linear, [num_labels = 1, H]. */
export const SCORE_WEIGHT = "score.weight";

export class RewardModel<F extends FloatArray = Float32Array> {
  /** The transformer, whose flat buffer ends with score.weight: one AdamW, one clip, one zero-grad for trunk and head. */
  readonly trunk: Transformer<F>;
  /** score.weight [H]: a view into trunk.flatParams (its gradient: into trunk.flatGrads); with LoRA, into the adapters' buffer. */
  score: F;
  scoreGrad: F;
  /** LoRA adapters on the frozen trunk (attachLora), or null. */
  lora: LoraAdapters<F> | null = null;
  /** The trunk's own parameters, without the head: what a Hugging Face folder of the trunk holds. */
  readonly trunkParams: ParamView<F>[];
  private saved: { xf: F; last: Int32Array; B: number; T: number } | null = null;

  /**
   * A trunk of `config` initialised from `seed` (or left at 0 with `initTrunk: false`, for callers that read every trunk
   * weight from a folder), Linear weights, LM head and embedding in `weights` (float32, or frozen bfloat16), and a head from `seed`.
   */
  constructor(config: ModelConfig, backend: Backend, F: FloatArrayCtor & { new(n: number): F }, readonly maxLength: number, seed = 0,
    options: { weights?: WeightsDtype; initTrunk?: boolean } = {}) {
    const H = config.hidden_size;
    this.trunk = new Transformer(config, backend, options.initTrunk === false ? null : seed, F, [{ name: SCORE_WEIGHT, shape: [1, H] }], { weights: options.weights });
    const head = this.trunk.params.find(p => p.name === SCORE_WEIGHT)!;
    this.score = head.data; this.scoreGrad = head.grad;
    this.trunkParams = this.trunk.params.filter(p => p !== head);
    // Hugging Face's initializer_range (0.02), as for every Linear of the model, from a stream of its own.
    const randn = normalRng(seed);
    for (let i = 0; i < H; i++) this.score[i] = 0.02 * randn();
  }

  get config(): ModelConfig { return this.trunk.config; }

  /**
   * LoRA (docs/lora.md): adapters on the trunk's projections, the trunk frozen; the head moves into the adapters'
   * buffer, after them, so one AdamW steps adapters and head and nothing else.
   */
  attachLora(config: LoraConfig): void {
    const ad = createAdapters(this.config, config, this.score.constructor as FloatArrayCtor & { new(n: number): F }, this.score.length);
    ad.extra.set(this.score);
    this.score = ad.extra; this.scoreGrad = ad.extraGrad;
    this.trunk.attachLora(ad);
    this.lora = ad;
  }

  /** Runs `f` without adapter dropout (held-out figures: PEFT's eval mode); the dropout stream does not advance. */
  evaluating<T>(f: () => T): T {
    const ctl = this.lora?.ctl;
    if (!ctl) return f();
    const was = ctl.evaluating;
    ctl.evaluating = true;
    try { return f(); } finally { ctl.evaluating = was; }
  }

  /** What AdamW trains: trunk and head, or with LoRA the adapters and the head. */
  get trainable(): { params: { name: string; data: F }[]; flatParams: F; flatGrads: F } {
    if (!this.lora) return this.trunk;
    const params = this.lora.adapters.flatMap(a => [{ name: peftKey(a.module, "A"), data: a.A }, { name: peftKey(a.module, "B"), data: a.B }]);
    return { params: [...params, { name: SCORE_WEIGHT, data: this.score }], flatParams: this.lora.flat, flatGrads: this.lora.grads };
  }

  /** Rewards [B] of right-padded rows; saves what backward needs. */
  forward(tokens: Int32Array, mask: Uint8Array, B: number, T: number): Float64Array {
    const H = this.config.hidden_size;
    const xf = this.trunk.forwardHidden(tokens, mask, B, T);
    const last = new Int32Array(B), rewards = new Float64Array(B);
    for (let b = 0; b < B; b++) {
      let t = T - 1;
      while (t > 0 && !mask[b * T + t]) t--;
      last[b] = b * T + t;
      let r = 0;
      for (let h = 0; h < H; h++) r += this.score[h] * xf[last[b] * H + h];
      rewards[b] = r;
    }
    this.saved = { xf, last, B, T };
    return rewards;
  }

  /** Accumulates grads of the head (scoreGrad) and the trunk (trunk.flatGrads) from dL/drewards [B] of the last forward. */
  backward(drewards: ArrayLike<number>): void {
    if (!this.saved) throw new BackwardBeforeForwardError();
    const { xf, last, B, T } = this.saved, H = this.config.hidden_size;
    const dxf = new (this.score.constructor as { new(n: number): F })(B * T * H);
    for (let b = 0; b < B; b++) {
      const d = drewards[b], o = last[b] * H;
      for (let h = 0; h < H; h++) { this.scoreGrad[h] += d * xf[o + h]; dxf[o + h] = d * this.score[h]; }
    }
    this.trunk.backwardHidden(dxf);
  }

  fileContent(info: Record<string, unknown> = {}): RewardModelFile {
    return { format: "move37.reward_model", score: Array.from(this.score), max_length: this.maxLength, info };
  }
}

/**
 * Token ids of one scored sequence: prompt and completion encoded separately and joined (as the sampler sees them),
 * then EOS; longer than `maxLength`, the start is cut, so the completion and the EOS the head reads survive.
 */
export function encodeSequence(tok: Tokenizer, prompt: string, completion: string, maxLength: number): { ids: number[]; truncated: boolean } {
  const ids = [...tok.encode(prompt, { addSpecialTokens: false }), ...tok.encode(completion, { addSpecialTokens: false })];
  if (tok.eosId !== null) ids.push(tok.eosId);
  return ids.length > maxLength ? { ids: ids.slice(ids.length - maxLength), truncated: true } : { ids, truncated: false };
}

/** Right-padded rows of `seqs`. */
export function padRows(seqs: readonly (readonly number[])[], padId: number): { tokens: Int32Array; mask: Uint8Array; B: number; T: number } {
  const B = seqs.length, T = Math.max(1, ...seqs.map(s => s.length));
  const tokens = new Int32Array(B * T).fill(padId), mask = new Uint8Array(B * T);
  seqs.forEach((s, b) => { tokens.set(s, b * T); mask.fill(1, b * T, b * T + s.length); });
  return { tokens, mask, B, T };
}

/** Rewards of many sequences, `batchSize` rows per forward, similar lengths batched together (least padding). */
export function scoreSequences<F extends FloatArray>(rm: RewardModel<F>, seqs: readonly (readonly number[])[], padId: number, batchSize = 32): Float64Array {
  const out = new Float64Array(seqs.length);
  const order = seqs.map((_, i) => i).sort((a, b) => seqs[a].length - seqs[b].length);
  for (let i = 0; i < order.length; i += batchSize) {
    const rows = order.slice(i, i + batchSize);
    const p = padRows(rows.map(r => seqs[r]), padId);
    rm.forward(p.tokens, p.mask, p.B, p.T).forEach((r, j) => { out[rows[j]] = r; });
  }
  return out;
}

/**
 * A new reward model on the trunk config of a folder: its weights (`pretrained`) or a fresh initialisation (`random`);
 * `dtype: "bfloat16"` keeps the trunk's Linear weights, LM head and embedding frozen in BF16 (read straight from BF16
 * files, rounded from F32 ones), for LoRA training or scoring.
 */
export function rewardModelFrom(dir: string, backend: Backend, opts: { init: "pretrained" | "random"; maxLength: number; seed: number; dtype?: WeightsDtype }): RewardModel {
  const config = readHfConfig(dir);
  const pretrained = opts.init === "pretrained";
  const rm = new RewardModel(config, backend, Float32Array, opts.maxLength, opts.seed, { weights: opts.dtype, initTrunk: !pretrained });
  if (pretrained) readHfWeights(dir, config, rm.trunkParams, rm.trunk.bf16Params); // every trunk weight, or it throws
  return rm;
}

/**
 * Loads a reward-model folder (trunk weights and head); `dtype: "bfloat16"`: the trunk frozen in BF16 (half its memory).
 * A LoRA run's checkpoint model/ (an adapter folder with reward_model.json) loads as its base (adapter_config.json's
 * base_model_name_or_path) with the adapter attached, unmerged and without dropout.
 */
export function loadRewardModel(dir: string, backend: Backend, opts: { dtype?: WeightsDtype } = {}): { rm: RewardModel; file: RewardModelFile } {
  const path = join(dir, REWARD_MODEL_FILE);
  if (!existsSync(path)) throw new RewardModelFolderError(dir, `no ${REWARD_MODEL_FILE} (a language-model folder has no score head)`);
  const parsed = RewardModelFileSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) throw new RewardModelFolderError(dir, `${REWARD_MODEL_FILE} does not parse (${parsed.error.issues[0]?.message})`);
  const file = parsed.data;
  const adapter = isAdapterFolder(dir);
  const rm = rewardModelFrom(adapter ? adapterBaseDir(dir) : dir, backend, { init: "pretrained", maxLength: file.max_length, seed: 0, dtype: opts.dtype });
  if (file.score.length !== rm.score.length) throw new RewardModelFolderError(dir, `the head has ${file.score.length} weights but hidden_size is ${rm.score.length}`);
  if (adapter) {
    rm.attachLora(readAdapterConfig(dir).lora);
    loadAdapterFolderInto(dir, adapterParams(rm.lora!), rm.lora!);
    rm.lora!.ctl.evaluating = true; // a scorer: no dropout
  }
  rm.score.set(file.score);
  return { rm, file };
}

/** The head weights of a reward-model folder's reward_model.json (a checkpoint's model/ folder is one too). */
export function readHeadWeights(dir: string): number[] {
  const path = join(dir, REWARD_MODEL_FILE);
  if (!existsSync(path)) throw new RewardModelFolderError(dir, `no ${REWARD_MODEL_FILE}`);
  const parsed = RewardModelFileSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) throw new RewardModelFolderError(dir, `${REWARD_MODEL_FILE} does not parse (${parsed.error.issues[0]?.message})`);
  return parsed.data.score;
}

/**
 * Saves the trunk as a Hugging Face folder (F32) with reward_model.json beside it (tokenizer files copied from
 * `copyFrom`). A BF16 trunk's weights are widened exactly; with LoRA the trunk is saved merged (W + s·B·A, on a BF16
 * trunk the widened W the adapters trained against), so a reward-model folder is always a plain trunk folder and its head.
 */
export function saveRewardModel(rm: RewardModel, dir: string, opts: { copyFrom?: string; info?: Record<string, unknown> } = {}): void {
  const base = rm.trunk.bf16Params.length > 0 ? widenedTensors(rm.trunk) : rm.trunkParams;
  const trunk = rm.lora ? mergedTensorsOf(rm.trunk.backend, base, rm.lora as LoraAdapters<Float32Array>) : base;
  saveHfFolder(dir, rm.config, trunk, { copyFrom: opts.copyFrom, files: { [REWARD_MODEL_FILE]: JSON.stringify(rm.fileContent(opts.info)) } });
}
