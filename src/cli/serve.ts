// `move37 serve MODEL_DIR`: an OpenAI-compatible HTTP server on Move37's sampler, for clients and rollout workers.
import { InvalidArgumentError, type Command } from "commander";
import type { BackendKind } from "../engine/index.js";
import { startServe } from "../serve/server.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";
import { classify } from "../hub/id.js";
import { resolveModelPath } from "../hub/resolve.js";
import { dtypeFlag, kvCacheDtypeFlag } from "./generate.js";
import type { KvCacheDtype } from "../model/kv-cache.js";
import type { WeightsDtype } from "../model/io/pretrained.js";

const int = (what: string) => (v: string) => {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 0) throw new InvalidArgumentError(`${what} must be a non-negative integer`);
  return x;
};

export function register(program: Command): void {
  const cmd = program
    .command("serve")
    .description("serve a model folder over an OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions with streaming, tools and top log-probs, /v1/models), batching concurrent requests; POST /v1/reload swaps in new weights from a folder, POST /v1/weights from a streamed safetensors body (sha256 and version checked; a LoRA adapter alone), and every answer reports its policy_version")
    .argument("<model-dir>", "Hugging Face model folder (config.json, model.safetensors, tokenizer.json), or a hub id (owner/name) in or for the HF cache")
    .option("--port <port>", "port (0 = any free port)", int("--port"), 8000)
    .option("--host <host>", "interface to listen on (0.0.0.0 to share on the network)", "127.0.0.1")
    .option("--served-model-name <name>", "the `model` name clients send (default: the folder's name)")
    .option("--batch-wait-ms <ms>", "how long a request waits for others to share its batch", int("--batch-wait-ms"), 20)
    .option("--max-batch-size <rows>", "most sequences (prompts × n) decoded together", int("--max-batch-size"), 256)
    .option("--backend <kind>", "engine backend: auto, native or reference", "auto")
    .option("--dtype <dtype>", "weights: float32, or bfloat16 (frozen BF16 Linear weights: half the memory)", dtypeFlag, "float32")
    .option("--kv-cache-dtype <dtype>", "KV cache: float32, or bfloat16 (half the cache's memory)", kvCacheDtypeFlag, "float32")
    .action(async (dirOrId: string, o: { port: number; host: string; servedModelName?: string; batchWaitMs: number; maxBatchSize: number; backend: BackendKind; dtype: WeightsDtype; kvCacheDtype: KvCacheDtype }) => {
      const c = classify(dirOrId, "model");
      const dir = resolveModelPath(dirOrId); // a hub id → its cached snapshot, served under the id's name (as vLLM does)
      const s = await startServe({ modelDir: dir, port: o.port, host: o.host, modelName: o.servedModelName ?? ("id" in c ? c.id.repo : undefined), backend: o.backend, dtype: o.dtype, kvCacheDtype: o.kvCacheDtype, batchWaitMs: o.batchWaitMs, maxBatchRows: Math.max(1, o.maxBatchSize) });
      output.out(`serving ${dir} at ${s.url}/v1\n`);
      const stop = () => void s.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
  withExamples(cmd, [
    "move37 serve runs/r1/final --port 8000",
    "curl -s localhost:8000/v1/completions -H 'content-type: application/json' -d '{\"prompt\": \"User: 2+3? Assistant: <think>\", \"max_tokens\": 32, \"temperature\": 0}'",
    "curl -s localhost:8000/v1/reload -d '{\"model_dir\": \"runs/r1/checkpoints/step-100/model\"}'",
    "curl -s localhost:8000/v1/weights -H \"x-move37-weights-version: 7\" -H \"x-move37-weights-sha256: $(sha256sum w.safetensors | cut -c1-64)\" --data-binary @w.safetensors",
    "move37 serve models/base-tiny --host 0.0.0.0 --port 8000",
  ]);
}
