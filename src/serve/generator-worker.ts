/**
 * The generator thread: holds the model and runs one batched `generate` per job, so the HTTP thread stays free to
 * accept requests (they form the next batch), stream tokens as they are made, and answer /metrics and reloads.
 * Jobs run one at a time in arrival order; a reload between two jobs swaps the weights.
 */
import { parentPort } from "node:worker_threads";
import { getBackend } from "../engine/index.js";
import { loadPretrained } from "../model/io/pretrained.js";
import type { CausalLM } from "../model/types.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { generate, type TokenEvent } from "../sample/generate.js";
import type { FromWorker, ToWorker } from "./messages.js";

const port = parentPort!;
let loaded: { model: CausalLM; tokenizer: Tokenizer } | null = null;
const send = (m: FromWorker) => port.postMessage(m);

port.on("message", (m: ToWorker) => {
  try {
    if (m.type === "load") {
      loaded = { model: loadPretrained(m.dir, getBackend(m.backend), { dtype: m.dtype, kvCacheDtype: m.kvCacheDtype }).model, tokenizer: loadTokenizer(m.dir) };
      send({ type: "loaded", id: m.id });
      return;
    }
    if (!loaded) throw new Error("no model loaded");
    const onToken = m.stream ? (event: TokenEvent) => send({ type: "token", id: m.id, event }) : undefined;
    const generations = generate(loaded.model, loaded.tokenizer, m.prompts, m.options, onToken);
    send({ type: "done", id: m.id, generations });
  } catch (e) {
    send({ type: "error", id: m.id, message: (e as Error).message });
  }
});
