// Messages between the HTTP thread and the generator worker.
import type { KvCacheDtype } from "../model/kv-cache.js";
import type { BackendKind } from "../engine/index.js";
import type { WeightsDtype } from "../model/io/pretrained.js";
import type { Generation, TokenEvent } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";

export type ToWorker =
  | { type: "load"; id: number; dir: string; backend: BackendKind; dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype; version?: number }
  /** Weights pushed over HTTP (a safetensors file the HTTP thread received and checked): a full model's tensors, or a LoRA adapter's. */
  | { type: "weights"; id: number; dir: string; version: number }
  /** Writes the served model's trainable tensors (a LoRA model: its adapter) to `file` as safetensors, F32. */
  | { type: "dump"; id: number; file: string }
  | { type: "generate"; id: number; prompts: number[][]; options: SamplingOptions; stream: boolean };

export type FromWorker =
  | { type: "loaded"; id: number; version: number }
  | { type: "token"; id: number; event: TokenEvent }
  /** version: the policy version the job was decoded with (weights change only between jobs). */
  | { type: "done"; id: number; generations: Generation[]; version: number }
  | { type: "error"; id: number; message: string };
