// Model-level load/save of Hugging Face folders: weights go straight into (or out of) the model's flat buffer.
import type { Backend } from "../../engine/backend.js";
import { getBackend, type BackendKind } from "../../engine/index.js";
import { loadTokenizer } from "../../tokenizer/load.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { ModelConfig } from "../config.js";
import { createModel, setKvCacheDtype } from "../transformer.js";
import type { KvCacheDtype } from "../kv-cache.js";
import type { CausalLM } from "../types.js";
import type { TensorData } from "./safetensors.js";
import { existsSync } from "node:fs";
import { readHfConfig, readHfWeights, saveHfFolder, tokenizerFiles, type SaveOptions, type TokenizerFilesInfo } from "./hf.js";
import { resolveModelPath } from "../../hub/resolve.js";
import { isAdapterFolder, loadAdapter } from "../../train/lora.js";
import { widenedTensors } from "../params.js";

/** How an inference model holds its Linear weights: float32, or frozen bfloat16 (half the memory; see createModel). */
export type WeightsDtype = "float32" | "bfloat16";
export const WEIGHTS_DTYPES: readonly WeightsDtype[] = ["float32", "bfloat16"];

/** --dtype's parser: a named error listing the choices. */
export function parseWeightsDtype(v: string): WeightsDtype {
  if (!(WEIGHTS_DTYPES as readonly string[]).includes(v)) throw new Error(`--dtype must be one of ${WEIGHTS_DTYPES.join(", ")}, got "${v}"`);
  return v as WeightsDtype;
}

export interface Pretrained { model: CausalLM; config: ModelConfig; tokenizer: TokenizerFilesInfo }

/**
 * Loads config.json and the safetensors weights of `dir` into a new model on `backend`. `dtype: "bfloat16"` gives a frozen
 * inference model whose Linear weights, LM head and embedding stay BF16 (read straight from BF16 files; see createModel).
 * `kvCacheDtype: "bfloat16"`: its KV caches store keys and values in BF16 (half the cache).
 */
export function loadPretrained(dir: string, backend: Backend, options: { dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype } = {}): Pretrained {
  if (isAdapterFolder(dir)) {
    const p = loadAdapterFolder(dir, backend, options.dtype);
    if (options.kvCacheDtype) setKvCacheDtype(p.model, options.kvCacheDtype);
    return p;
  }
  const config = readHfConfig(dir);
  const model = createModel(config, backend, null, { weights: options.dtype, kvCache: options.kvCacheDtype }); // no random init: readHfWeights overwrites every parameter (or throws)
  readHfWeights(dir, config, model.params, model.bf16Params);
  return { model, config, tokenizer: tokenizerFiles(dir) };
}

/** A PEFT LoRA adapter folder (adapter_config.json): its base with the adapter attached (src/train/lora.ts). */
function loadAdapterFolder(dir: string, backend: Backend, dtype?: WeightsDtype): Pretrained {
  const model = loadAdapter(dir, backend, dtype);
  return { model, config: model.config, tokenizer: tokenizerFiles(existsSync(`${dir}/tokenizer.json`) ? dir : model.baseDir!) };
}

/**
 * Saves `model` as a Hugging Face folder (atomically; see saveHfFolder for dtype, sharding and tokenizer files). A
 * LoRA model is saved merged (W + s·B·A): a plain folder any loader, `move37 serve` and the GGUF exporter read.
 */
export function savePretrained(model: CausalLM, dir: string, extra: SaveOptions = {}): void {
  const merged = (model as { mergedTensors?: () => TensorData[] }).mergedTensors;
  if (merged) { saveHfFolder(dir, model.config, merged.call(model), extra); return; }
  const frozen = model.bf16Params ?? [];
  if (frozen.length === 0) { saveHfFolder(dir, model.config, model.params, extra); return; }
  // a frozen BF16 model: its BF16 weights widened (exactly) beside the F32 norms and biases, in the size table's order
  saveHfFolder(dir, model.config, widenedTensors({ config: model.config, params: model.params, bf16Params: frozen }), extra);
}

/** A model folder ready to generate: weights on the chosen backend and its tokenizer. */
export function loadForGeneration(dirOrId: string, backend: BackendKind = "auto", dtype: WeightsDtype = "float32",
  kvCacheDtype: KvCacheDtype = "float32"): { model: CausalLM; tokenizer: Tokenizer } {
  const dir = resolveModelPath(dirOrId); // a hub id → its cached snapshot (downloaded on first use); a path as is
  const { model } = loadPretrained(dir, getBackend(backend), { dtype, kvCacheDtype }); // first: its errors name a missing or broken folder
  return { model, tokenizer: loadTokenizer(dir) };
}
