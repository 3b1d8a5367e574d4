/**
 * The generator thread: holds the model and one continuous-batching decode loop (src/sample/engine.ts). Each
 * "generate" message is a job that joins the loop between two steps, so the HTTP thread stays free to accept
 * requests, stream tokens as they are made, and answer /metrics and reloads, and a job arriving mid-decode starts
 * at the next step. Messages take effect in arrival order: a reload waits until the jobs before it have finished
 * (no request sees half a model), and jobs after it wait for the new weights.
 */
import { parentPort } from "node:worker_threads";
import { getBackend } from "../engine/index.js";
import { loadPretrained } from "../model/io/pretrained.js";
import { applyPushedWeights, dumpWeights } from "./weights-apply.js";
import type { CausalLM } from "../model/types.js";
import { loadTokenizer } from "../tokenizer/load.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { DecodeEngine } from "../sample/engine.js";
import type { TokenEvent } from "../sample/generate.js";
import type { FromWorker, ToWorker } from "./messages.js";

const port = parentPort!;
let loaded: { model: CausalLM; tokenizer: Tokenizer } | null = null;
/** The policy version of the weights held (0 at start; set by each push, and by a reload that names one). */
let version = 0;
let lastLoad: { backend: Parameters<typeof getBackend>[0]; dtype?: "float32" | "bfloat16"; kvCacheDtype?: "float32" | "bfloat16" } = { backend: "auto" };
let engine: DecodeEngine | null = null;
const backlog: ToWorker[] = [];
let pumping = false;
const send = (m: FromWorker) => port.postMessage(m);

port.on("message", (m: ToWorker) => {
  backlog.push(m);
  drainBacklog();
});

/** Handles messages in order until a reload has to wait for the running jobs. */
function drainBacklog(): void {
  while (backlog.length > 0) {
    const m = backlog[0];
    if (m.type === "load" || m.type === "weights" || m.type === "dump") {
      if (engine?.busy) break; // weights change only between jobs: those before finish on the old ones
      backlog.shift();
      try {
        if (m.type === "load") {
          const first = loaded === null;
          loaded = { model: loadPretrained(m.dir, getBackend(m.backend), { dtype: m.dtype, kvCacheDtype: m.kvCacheDtype }).model, tokenizer: loadTokenizer(m.dir) };
          lastLoad = { backend: m.backend, dtype: m.dtype, kvCacheDtype: m.kvCacheDtype };
          version = m.version ?? (first ? 0 : version + 1); // a reload without a version is a new policy all the same
        } else if (m.type === "weights") {
          if (!loaded) throw new Error("no model loaded");
          // checked in full before anything changes: a refused push leaves the old weights serving
          loaded = { ...loaded, model: applyPushedWeights(loaded.model, m.dir, getBackend(lastLoad.backend), lastLoad) };
          version = m.version;
        } else {
          if (!loaded) throw new Error("no model loaded");
          dumpWeights(loaded.model, m.file);
        }
        engine = null;
        send({ type: "loaded", id: m.id, version });
      } catch (e) {
        send({ type: "error", id: m.id, message: (e as Error).message });
      }
      continue;
    }
    backlog.shift();
    try {
      if (!loaded) throw new Error("no model loaded");
      const batchSize = m.options.batchSize ?? 256;
      if (!engine || (!engine.busy && engine.batchSize !== batchSize)) engine = new DecodeEngine(loaded.model, loaded.tokenizer, { batchSize });
      const onToken = m.stream ? (event: TokenEvent) => send({ type: "token", id: m.id, event }) : undefined;
      const at = version;
      engine.add({
        prompts: m.prompts, options: m.options, onToken,
        done: generations => send({ type: "done", id: m.id, generations, version: at }),
        fail: e => send({ type: "error", id: m.id, message: e.message }),
      });
    } catch (e) {
      send({ type: "error", id: m.id, message: (e as Error).message });
    }
  }
  if (engine?.busy && !pumping) { pumping = true; setImmediate(pump); }
}

/** One decode step per turn of the event loop, so messages that arrived meanwhile join before the next. */
function pump(): void {
  try {
    engine!.step();
  } catch {
    // the engine failed every job in flight (each got its error) and is empty again
  }
  if (engine?.busy) { setImmediate(pump); return; }
  pumping = false;
  drainBacklog();
}
