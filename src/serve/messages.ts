// Messages between the HTTP thread and the generator worker.
import type { KvCacheDtype } from "../model/kv-cache.js";
import type { BackendKind } from "../engine/index.js";
import type { WeightsDtype } from "../model/io/pretrained.js";
import type { Generation, TokenEvent } from "../sample/generate.js";
import type { SamplingOptions } from "../sample/options.js";

export type ToWorker =
  | { type: "load"; id: number; dir: string; backend: BackendKind; dtype?: WeightsDtype; kvCacheDtype?: KvCacheDtype }
  | { type: "generate"; id: number; prompts: number[][]; options: SamplingOptions; stream: boolean };

export type FromWorker =
  | { type: "loaded"; id: number }
  | { type: "token"; id: number; event: TokenEvent }
  | { type: "done"; id: number; generations: Generation[] }
  | { type: "error"; id: number; message: string };
