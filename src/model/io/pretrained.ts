// Model-level load/save of Hugging Face folders: weights go straight into (or out of) the model's flat buffer.
import type { Backend } from "../../engine/backend.js";
import { getBackend, type BackendKind } from "../../engine/index.js";
import { loadTokenizer } from "../../tokenizer/load.js";
import type { Tokenizer } from "../../tokenizer/types.js";
import type { ModelConfig } from "../config.js";
import { createModel } from "../transformer.js";
import type { CausalLM } from "../types.js";
import type { TensorData } from "./safetensors.js";
import { existsSync } from "node:fs";
import { readHfConfig, readHfWeights, saveHfFolder, tokenizerFiles, type SaveOptions, type TokenizerFilesInfo } from "./hf.js";
import { resolveModelPath } from "../../hub/resolve.js";
import { isAdapterFolder, loadAdapter } from "../../train/lora.js";

export interface Pretrained { model: CausalLM; config: ModelConfig; tokenizer: TokenizerFilesInfo }

/** Loads config.json and the safetensors weights of `dir` into a new model on `backend`. */
export function loadPretrained(dir: string, backend: Backend): Pretrained {
  if (isAdapterFolder(dir)) return loadAdapterFolder(dir, backend);
  const config = readHfConfig(dir);
  const model = createModel(config, backend, null); // no random init: readHfWeights overwrites every parameter (or throws)
  readHfWeights(dir, config, model.params);
  return { model, config, tokenizer: tokenizerFiles(dir) };
}

/** A PEFT LoRA adapter folder (adapter_config.json): its base with the adapter attached (src/train/lora.ts). */
function loadAdapterFolder(dir: string, backend: Backend): Pretrained {
  const model = loadAdapter(dir, backend);
  return { model, config: model.config, tokenizer: tokenizerFiles(existsSync(`${dir}/tokenizer.json`) ? dir : model.baseDir!) };
}

/**
 * Saves `model` as a Hugging Face folder (atomically; see saveHfFolder for dtype, sharding and tokenizer files). A
 * LoRA model is saved merged (W + s·B·A): a plain folder any loader, `move37 serve` and the GGUF exporter read.
 */
export function savePretrained(model: CausalLM, dir: string, extra: SaveOptions = {}): void {
  const merged = (model as { mergedTensors?: () => TensorData[] }).mergedTensors;
  saveHfFolder(dir, model.config, merged ? merged.call(model) : model.params, extra);
}

/** A model folder ready to generate: weights on the chosen backend and its tokenizer. */
export function loadForGeneration(dirOrId: string, backend: BackendKind = "auto"): { model: CausalLM; tokenizer: Tokenizer } {
  const dir = resolveModelPath(dirOrId); // a hub id → its cached snapshot (downloaded on first use); a path as is
  const { model } = loadPretrained(dir, getBackend(backend)); // first: its errors name a missing or broken folder
  return { model, tokenizer: loadTokenizer(dir) };
}
