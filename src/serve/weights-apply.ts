/**
 * Weights pushed to `move37 serve` over HTTP (POST /v1/weights), applied on the generator thread between jobs. The
 * HTTP thread has already received the body whole and checked its sha256; here its tensors are checked against the
 * served model (every name and shape) before anything changes, so a refused push leaves the old weights serving.
 *
 * Two kinds, told apart by the safetensors metadata `move37_kind`:
 * - `model`: every parameter of the model under its Hugging Face name (F32); a new model is built and swapped in.
 * - `lora_adapter`: a LoRA adapter's tensors under PEFT's keys, with the adapter's config in metadata
 *   `lora_config` (JSON). The first such push attaches adapters to the served base; later pushes overwrite them.
 */
import { join } from "node:path";
import type { Backend } from "../engine/backend.js";
import { createModel, Transformer } from "../model/transformer.js";
import { readHfWeights, SINGLE_FILE } from "../model/io/hf.js";
import { SafetensorsFile, writeSafetensors, type TensorData } from "../model/io/safetensors.js";
import { bf16ToF32 } from "../model/io/half.js";
import { paramSpecs } from "../model/params.js";
import type { CausalLM } from "../model/types.js";
import { createAdapters, LoraConfigSchema, type LoraConfig } from "../model/lora.js";
import { adapterParams, isLoraModel, LoraModel } from "../train/lora.js";
import type { KvCacheDtype } from "../model/kv-cache.js";
import type { WeightsDtype } from "../model/io/pretrained.js";

export const WEIGHTS_FILE = SINGLE_FILE;

export class PushedWeightsError extends Error {
  constructor(message: string) { super(message); this.name = "PushedWeightsError"; }
}

/** The model to serve after a push held in `dir`/model.safetensors; throws (changing nothing) when it does not fit. */
export function applyPushedWeights(model: CausalLM, dir: string, backend: Backend, o: { dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype }): CausalLM {
  const file = join(dir, WEIGHTS_FILE);
  const f = new SafetensorsFile(file);
  const kind = f.header.metadata.move37_kind ?? "model";
  let open = true;
  const close = () => { if (open) { open = false; f.close(); } };
  try {
    if (kind === "model") {
      close();
      if (isLoraModel(model)) throw new PushedWeightsError("this server serves a LoRA adapter on its base (pushed before): push adapters (move37_kind lora_adapter), or restart it to push whole models");
      const next = createModel(model.config, backend, null, { weights: o.dtype, kvCache: o.kvCacheDtype });
      readHfWeights(dir, model.config, next.params, next.bf16Params); // every name and shape checked first
      return next;
    }
    if (kind !== "lora_adapter") throw new PushedWeightsError(`pushed weights have move37_kind ${JSON.stringify(kind)}: expected model or lora_adapter`);
    let lora: LoraConfig;
    try {
      lora = LoraConfigSchema.parse(JSON.parse(f.header.metadata.lora_config ?? "null"));
    } catch (e) {
      throw new PushedWeightsError(`a pushed LoRA adapter needs its config as JSON in safetensors metadata lora_config: ${(e as Error).message}`);
    }
    const target = isLoraModel(model) ? model : null;
    if (target && JSON.stringify(target.lora) !== JSON.stringify(lora))
      throw new PushedWeightsError(`this server holds an adapter with config ${JSON.stringify(target.lora)}, the push has ${JSON.stringify(lora)}: restart the server to change r, alpha or targets`);
    if (!target && !(model instanceof Transformer)) throw new PushedWeightsError("a LoRA adapter needs a transformer base loaded from a Hugging Face folder");
    // names and shapes checked against the adapters this config makes, before any is attached or written
    const expected = target ? target.params : adapterParams(createAdapters(model.config, lora, Float32Array));
    const found = new Map(f.header.entries.map(e => [e.name, e.shape]));
    const missing = expected.filter(p => !found.has(p.name)).map(p => p.name);
    const extra = [...found.keys()].filter(n => !expected.some(p => p.name === n));
    const misshaped = expected.filter(p => found.has(p.name) && found.get(p.name)!.join() !== p.shape.join()).map(p => `${p.name} [${found.get(p.name)}] (expected [${p.shape}])`);
    if (missing.length || extra.length || misshaped.length)
      throw new PushedWeightsError(`the pushed adapter does not fit this base: ${[missing.length ? `missing ${missing.join(", ")}` : "", extra.length ? `unexpected ${extra.join(", ")}` : "", misshaped.length ? `mis-shaped ${misshaped.join(", ")}` : ""].filter(Boolean).join("; ")}`);
    const values = expected.map(p => f.read(p.name));
    const lm = target ?? new LoraModel(model as Transformer<Float32Array>, lora, null);
    lm.params.forEach((p, i) => p.data.set(values[i]));
    return lm;
  } finally {
    close();
  }
}

/** The served model's trainable tensors as safetensors (F32): a LoRA model's adapter, else every parameter. */
export function dumpWeights(model: CausalLM, file: string): void {
  const meta: Record<string, string> = isLoraModel(model) ? { move37_kind: "lora_adapter", lora_config: JSON.stringify(model.lora) } : { move37_kind: "model" };
  const frozen = (model as { bf16Params?: { name: string; shape: number[]; data: Uint16Array }[] }).bf16Params ?? [];
  let tensors: TensorData[] = model.params;
  if (!isLoraModel(model) && frozen.length) {
    const byName = new Map<string, TensorData>(model.params.map(p => [p.name, p]));
    for (const p of frozen) { const data = new Float32Array(p.data.length); bf16ToF32(p.data, data); byName.set(p.name, { name: p.name, shape: p.shape, data }); }
    tensors = paramSpecs(model.config).map(s => byName.get(s.name)!);
  }
  writeSafetensors(file, tensors.map(t => ({ name: t.name, shape: t.shape, data: t.data })), "F32", meta);
}
