/**
 * LoRA fine-tuning of a causal LM (src/model/lora.ts has the math): `LoraModel` is a CausalLM whose trainable
 * parameters (params, flatParams, flatGrads) are the adapters only, so AdamW, the gradient clip, zero-grad and
 * checkpoints of every trainer see the adapters and their moments, never the frozen base. The base is shared, never
 * copied: `reference()` is the same model with adapters switched off (GRPO's KL reference, as TRL does with PEFT).
 *
 * On disk, PEFT's format (peft/utils/save_and_load.py): adapter_config.json and adapter_model.safetensors with keys
 * base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r].
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Backend } from "../engine/backend.js";
import { z } from "zod";
import { Transformer } from "../model/transformer.js";
import { FrozenWeightsError, widenedTensors } from "../model/params.js";
import type { CausalLM, ForwardResult, KVCache, NamedParam } from "../model/types.js";
import { LORA_TARGETS, LoraConfigSchema, createAdapters, loraTargets, mergeInto, peftKey, type LoraAdapters, type LoraConfig, type LoraTarget } from "../model/lora.js";
import { readSafetensors, writeSafetensors, type TensorData } from "../model/io/safetensors.js";
import { readHfConfig, readHfWeights, saveHfFolder, TOKENIZER_FILES, type SaveOptions } from "../model/io/hf.js";
import { getBackend } from "../engine/index.js";
import { resolveModelPath } from "../hub/resolve.js";
import { writeJsonAtomic } from "../runs/atomic.js";

export { LoraConfigSchema, type LoraConfig } from "../model/lora.js";

export const ADAPTER_CONFIG = "adapter_config.json";
export const ADAPTER_WEIGHTS = "adapter_model.safetensors";
/** move37's own training state beside PEFT's files (the dropout mask counter); peft ignores it. */
export const LORA_STATE = "move37_lora_state.json";

export class LoraModelError extends Error {
  constructor(what: string) {
    super(what);
    this.name = "LoraModelError";
  }
}

export class LoraModel implements CausalLM {
  readonly isLora = true;
  readonly config: Transformer<Float32Array>["config"];
  readonly params: NamedParam[];
  readonly flatParams: Float32Array;
  readonly flatGrads: Float32Array;
  readonly adapters: LoraAdapters<Float32Array>;

  /** Attaches fresh adapters (A Kaiming-uniform, B = 0) to `base`, which is frozen from then on. */
  constructor(readonly base: Transformer<Float32Array>, readonly lora: LoraConfig, readonly baseDir: string | null = null) {
    this.config = base.config;
    this.adapters = createAdapters(base.config, lora, Float32Array);
    base.attachLora(this.adapters);
    this.flatParams = this.adapters.flat; this.flatGrads = this.adapters.grads;
    // Names of the adapter tensors as PEFT saves them; no weight decay rule excludes them (matrices).
    this.params = adapterParams(this.adapters);
  }

  get backend(): Backend { return this.base.backend; }

  forward(tokens: Int32Array, mask: Uint8Array, targets: Int32Array, B: number, T: number, temperature?: number, segments?: Int32Array): ForwardResult {
    return this.base.forward(tokens, mask, targets, B, T, temperature, segments);
  }
  backward(dlogp: Float32Array, dentropy?: Float32Array): void { this.base.backward(dlogp, dentropy); }
  newCache(batch: number, maxLen: number): KVCache { return this.base.newCache(batch, maxLen); }
  decode(cache: KVCache, tokens: Int32Array, valid: Uint8Array, T: number, out?: Float32Array): Float32Array { return this.base.decode(cache, tokens, valid, T, out); }

  /** Runs `f` with the adapters switched off (the base model exactly), then switches them back on. */
  withAdaptersDisabled<T>(f: () => T): T {
    const ctl = this.adapters.ctl, was = ctl.enabled;
    ctl.enabled = false;
    try { return f(); } finally { ctl.enabled = was; }
  }

  /** Runs `f` without dropout (held-out losses: PEFT's eval mode); the dropout stream does not advance. */
  evaluating<T>(f: () => T): T {
    const ctl = this.adapters.ctl;
    ctl.evaluating = true;
    try { return f(); } finally { ctl.evaluating = false; }
  }

  /** The base with adapters off, as a CausalLM for log-probs and sampling (no copy: it shares this model's weights and buffers). */
  reference(): CausalLM {
    const self = this;
    return {
      config: this.config, params: this.base.params as NamedParam[], flatParams: this.base.flatParams, flatGrads: this.base.flatGrads,
      forward: (...a) => self.withAdaptersDisabled(() => self.base.forward(...a)),
      backward: () => { throw new LoraModelError("the LoRA reference policy is frozen: it has no backward"); },
      newCache: (b, n) => self.base.newCache(b, n),
      decode: (...a) => self.withAdaptersDisabled(() => self.base.decode(...a)),
    };
  }

  /** The model's tensors with every adapted weight replaced by W + s·B·A (new arrays for those only), HF names. */
  mergedTensors(): TensorData[] {
    return mergedTensorsOf(this.base.backend, this.baseTensors(), this.adapters);
  }

  /** The base's tensors in F32 (HF names, the size table's order): a BF16 base's frozen weights widened exactly. */
  baseTensors(): { name: string; shape: number[]; data: Float32Array }[] {
    return this.base.bf16Params.length === 0 ? this.base.params : widenedTensors(this.base);
  }

  /** A Hugging Face folder of the merged model (what `move37 serve` reloads, what export --merge writes). */
  saveMerged(dir: string, opts: SaveOptions = {}): void {
    saveHfFolder(dir, this.config, this.mergedTensors(), opts);
  }

  /** adapter_config.json + adapter_model.safetensors (PEFT's format) into `dir` (and tokenizer files from `copyFrom`). */
  saveAdapter(dir: string, opts: { copyFrom?: string } = {}): void {
    saveAdapterFolder(dir, this.adapters, this.params, this.baseDir, { copyFrom: opts.copyFrom ?? this.baseDir ?? undefined });
  }

  /** Reads a PEFT adapter folder's tensors into this model's adapters (shapes and names must match). */
  loadAdapterWeights(dir: string): void {
    loadAdapterFolderInto(dir, this.params, this.adapters);
  }
}

/** Named tensors (HF names) of a base with every adapted weight replaced by W + s·B·A (new arrays for those only). */
export function mergedTensorsOf(be: Backend, params: readonly { name: string; shape: number[]; data: Float32Array }[], adapters: LoraAdapters<Float32Array>): TensorData[] {
  const byModule = new Map(adapters.adapters.map(a => [`${a.module}.weight`, a]));
  return params.map(p => {
    const a = byModule.get(p.name);
    if (!a) return { name: p.name, shape: p.shape, data: p.data };
    const out = new Float32Array(p.data.length);
    mergeInto(be, out, p.data, a);
    return { name: p.name, shape: p.shape, data: out };
  });
}

/**
 * Writes `params` (the adapters' tensors under PEFT's keys, and any extra named tensor) as adapter_model.safetensors,
 * adapter_config.json, the dropout counter, tokenizer files from `copyFrom` and `files`, replacing `dir`.
 */
export function saveAdapterFolder(dir: string, adapters: LoraAdapters<Float32Array>, params: readonly { name: string; shape: number[]; data: Float32Array }[],
  baseDir: string | null, opts: { copyFrom?: string; files?: Record<string, string> } = {}): void {
  const target = resolve(dir), tmp = `${target}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    writeSafetensors(join(tmp, ADAPTER_WEIGHTS), params.map(p => ({ name: p.name, shape: p.shape, data: p.data })), "F32", { format: "pt" });
    writeJsonAtomic(join(tmp, ADAPTER_CONFIG), peftConfig(adapters.config, baseDir));
    // where the dropout mask stream stands, so a resumed run draws the masks the uninterrupted one would
    writeJsonAtomic(join(tmp, LORA_STATE), { dropout_calls: adapters.ctl.dropoutCalls });
    if (opts.copyFrom) for (const f of TOKENIZER_FILES) if (existsSync(join(opts.copyFrom, f))) copyFileSync(join(opts.copyFrom, f), join(tmp, f));
    for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(tmp, name), text);
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Reads an adapter folder's tensors into `params` by name (PEFT's keys; ".default" accepted) and the dropout counter. */
export function loadAdapterFolderInto(dir: string, params: readonly { name: string; shape: number[]; data: Float32Array | Float64Array }[], adapters: LoraAdapters): void {
  const file = join(dir, ADAPTER_WEIGHTS);
  if (!existsSync(file)) throw new LoraModelError(`${dir} has no ${ADAPTER_WEIGHTS}: point at a folder saved by move37 or by PEFT's save_pretrained`);
  const found = new Map(readSafetensors(file).map(t => [stripAdapterName(t.name), t]));
  for (const p of params) {
    const t = found.get(p.name);
    if (!t) throw new LoraModelError(`${file} lacks ${p.name}: its adapter_config.json (target_modules, r) does not describe these tensors`);
    if (t.shape.join(",") !== p.shape.join(",")) throw new LoraModelError(`${file}: ${p.name} has shape [${t.shape}], expected [${p.shape}] (r or the base model differ)`);
    p.data.set(t.data);
  }
  const state = join(dir, LORA_STATE);
  if (existsSync(state)) adapters.ctl.dropoutCalls = (JSON.parse(readFileSync(state, "utf8")) as { dropout_calls: number }).dropout_calls;
}

/** The adapters' tensors under PEFT's keys (views into the adapters' buffers, with their grads). */
export function adapterParams<F extends Float32Array>(adapters: LoraAdapters<F>): NamedParam[] {
  return adapters.adapters.flatMap(a => [
    { name: peftKey(a.module, "A"), shape: [a.r, a.I], data: a.A, grad: a.dA },
    { name: peftKey(a.module, "B"), shape: [a.O, a.r], data: a.B, grad: a.dB },
  ]);
}


/** PEFT writes keys without the adapter name; some tools keep ".default": accept both. */
const stripAdapterName = (k: string) => k.replace(/\.lora_([AB])\.default\.weight$/, ".lora_$1.weight");

/**
 * The recipe's `torch_dtype` (TRL's ModelConfig key): how a trainer loads the model's weights. float32 (default):
 * trainable. bfloat16: the Linear weights, LM head and embedding stay frozen in BF16 (half the memory and bandwidth;
 * rollouts decode BF16), which only LoRA can train: the adapters stay F32, gradients pass through the BF16 base.
 */
export const TorchDtypeSchema = z.enum(["float32", "bfloat16"]).default("float32");

/** A trainer's check before loading: a BF16 base without `lora:` (or an adapter folder) would have nothing to train. */
export function requireLoraForBf16(dtype: "float32" | "bfloat16", lora: LoraConfig | undefined, dir: string): void {
  if (dtype === "bfloat16" && !lora && !isAdapterFolder(dir)) throw new FrozenWeightsError(`torch_dtype bfloat16 without a lora: block (model ${dir})`);
}

export const isLoraModel = (m: unknown): m is LoraModel => typeof m === "object" && m !== null && (m as { isLora?: unknown }).isLora === true;

/** PEFT's LoraConfig as adapter_config.json (the keys peft reads; the rest take peft's defaults). */
export function peftConfig(c: LoraConfig, baseDir: string | null): Record<string, unknown> {
  return {
    peft_type: "LORA", task_type: "CAUSAL_LM", base_model_name_or_path: baseDir ? resolve(baseDir) : null,
    r: c.r, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, use_rslora: c.use_rslora,
    target_modules: loraTargets(c), bias: "none", fan_in_fan_out: false, init_lora_weights: true, inference_mode: true,
    modules_to_save: null, layers_to_transform: null, use_dora: false, revision: null,
  };
}

/** Reads adapter_config.json into a LoraConfig (target_modules: PEFT's list, or "all-linear"). */
export function readAdapterConfig(dir: string): { lora: LoraConfig; base: string | null } {
  const path = join(dir, ADAPTER_CONFIG);
  if (!existsSync(path)) throw new LoraModelError(`${dir} has no ${ADAPTER_CONFIG}: it is not a LoRA adapter folder`);
  const j = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  if (j.peft_type !== undefined && j.peft_type !== "LORA") throw new LoraModelError(`${path}: peft_type ${String(j.peft_type)} is not supported (only LORA)`);
  let targets = j.target_modules;
  if (typeof targets === "string") targets = targets === "all-linear" ? "all-linear" : [targets];
  if (Array.isArray(targets)) {
    const bad = targets.filter(t => !(LORA_TARGETS as readonly string[]).includes(String(t)));
    if (bad.length) throw new LoraModelError(`${path}: target_modules ${bad.join(", ")} are not supported (only ${LORA_TARGETS.join(", ")})`);
  }
  const lora = LoraConfigSchema.parse({ r: j.r, lora_alpha: j.lora_alpha, lora_dropout: j.lora_dropout ?? 0, target_modules: targets as LoraTarget[], use_rslora: j.use_rslora ?? false });
  return { lora, base: typeof j.base_model_name_or_path === "string" ? j.base_model_name_or_path : null };
}

export const isAdapterFolder = (dir: string) => existsSync(join(dir, ADAPTER_CONFIG));

/**
 * Wraps a loaded model for LoRA training (the `lora:` block of a recipe); without `lora` the model is returned as is
 * (a loaded adapter folder then trains its adapter further; a new `lora` on one is refused, naming the merge that fixes it).
 */
export function withLora(model: CausalLM, lora: LoraConfig | undefined, baseDir: string | null): CausalLM {
  if (!lora) return model;
  if (isLoraModel(model))
    throw new LoraModelError(`${baseDir ?? "the model"} is a LoRA adapter folder and this recipe gives lora: a new adapter needs a base on disk: run \`move37 export ${baseDir ?? "<adapter>"} --merge --format hf --out <folder>\` and train from that folder, or drop lora: to keep training this adapter`);
  if (!(model instanceof Transformer)) throw new LoraModelError("lora: needs a transformer model loaded from a Hugging Face folder");
  return new LoraModel(model as Transformer<Float32Array>, lora, baseDir);
}

/**
 * A trainer's output_dir: a LoRA model writes its adapter in PEFT's format (peft and every move37 command load it,
 * with the base named in adapter_config.json); any other model a Hugging Face folder.
 */
export function saveModel(model: CausalLM, dir: string, opts: SaveOptions = {}): void {
  if (isLoraModel(model)) model.saveAdapter(dir, { copyFrom: opts.copyFrom });
  else saveHfFolder(dir, model.config, model.params, opts);
}

/** `move37 export --merge`: an adapter folder merged into its base, written as a Hugging Face folder (with the tokenizer). */
export function mergeAdapterFolder(adapterDir: string, outDir: string, backend?: Backend): { base: string; adapters: number; r: number } {
  const model = loadAdapter(adapterDir, backend);
  model.saveMerged(outDir, { copyFrom: existsSync(join(adapterDir, "tokenizer.json")) ? adapterDir : model.baseDir ?? undefined });
  return { base: model.baseDir ?? "?", adapters: model.adapters.adapters.length, r: model.lora.r };
}

/** The base model folder an adapter folder names (base_model_name_or_path: a folder, or a hub id resolved to the cache). */
export function adapterBaseDir(dir: string): string {
  const { base } = readAdapterConfig(dir);
  if (!base) throw new LoraModelError(`${dir}/${ADAPTER_CONFIG} names no base_model_name_or_path: set it to the base model's folder or hub id`);
  const baseDir = resolveModelPath(base);
  if (isAdapterFolder(baseDir)) throw new LoraModelError(`${dir}: its base ${base} is itself an adapter folder: merge that one first (move37 export --merge --format hf)`);
  return baseDir;
}

/**
 * A PEFT LoRA adapter folder: its base (base_model_name_or_path: a folder, or a hub id in the cache) loaded on
 * `backend` with the adapter attached. loadPretrained calls this for any folder holding adapter_config.json.
 */
export function loadAdapter(dir: string, backend: Backend = getBackend("auto"), dtype: "float32" | "bfloat16" = "float32"): LoraModel {
  const { lora } = readAdapterConfig(dir);
  const baseDir = adapterBaseDir(dir);
  const config = readHfConfig(baseDir);
  const model = new Transformer(config, backend, null, Float32Array, [], { weights: dtype });
  readHfWeights(baseDir, config, model.params, model.bf16Params);
  const lm = new LoraModel(model, lora, baseDir);
  lm.loadAdapterWeights(dir);
  return lm;
}
