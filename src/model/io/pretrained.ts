// Model-level load/save of Hugging Face folders: weights go straight into (or out of) the model's flat buffer.
import type { Backend } from "../../engine/backend.js";
import type { ModelConfig } from "../config.js";
import { createModel } from "../transformer.js";
import type { CausalLM } from "../types.js";
import { readHfConfig, readHfWeights, saveHfFolder, tokenizerFiles, type SaveOptions, type TokenizerFilesInfo } from "./hf.js";

export interface Pretrained { model: CausalLM; config: ModelConfig; tokenizer: TokenizerFilesInfo }

/** Loads config.json and the safetensors weights of `dir` into a new model on `backend`. */
export function loadPretrained(dir: string, backend: Backend): Pretrained {
  const config = readHfConfig(dir);
  const model = createModel(config, backend, null); // no random init: readHfWeights overwrites every parameter (or throws)
  readHfWeights(dir, config, model.params);
  return { model, config, tokenizer: tokenizerFiles(dir) };
}

/** Saves `model` as a Hugging Face folder (atomically; see saveHfFolder for dtype, sharding and tokenizer files). */
export function savePretrained(model: CausalLM, dir: string, extra: SaveOptions = {}): void {
  saveHfFolder(dir, model.config, model.params, extra);
}
