/**
 * Generation benchmark: decode throughput of a model shaped like Qwen2.5-0.5B (random F32 weights: hidden 896,
 * 24 layers, 14 heads, 2 KV heads, FFN 4864, vocab 151936, tied embeddings, qkv bias) with 128-token prompts and
 * 256 greedy new tokens: batch-1 tokens/s, batch-32 aggregate tokens/s, prefill tokens/s, time to first token,
 * peak RSS; against llama.cpp (node-llama-cpp) on the F32 GGUF of the same weights with the same thread count.
 * Each side runs in its own process, so peak RSS is its own. The model folder and GGUF are written once to
 * /tmp/m37-bench/ and reused.
 *
 *   npm run bench -- generate [--layers 24] [--prompt-tokens 128] [--new-tokens 256] [--batch 32]
 *   npm run bench -- generate --layers 2 --new-tokens 16 --batch 4     (a quick smoke run)
 */
import { spawnSync } from "node:child_process";
import { existsSync, writeFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getBackend, nativeInfo } from "../src/engine/index.js";
import { ModelConfigSchema } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
import { savePretrained, loadPretrained } from "../src/model/io/pretrained.js";
import { exportGguf } from "../src/model/io/gguf-export.js";
import { byteLevelTokenizerJson } from "../src/tokenizer/tokenizer-json.js";
import { loadTokenizer, tokenizerFileMap } from "../src/tokenizer/load.js";
import { generate } from "../src/sample/generate.js";
import { Rng } from "../src/sample/rng.js";
import { figure, printFigures, bestTime, PeerError, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    layers: { type: "string", default: "24" }, "prompt-tokens": { type: "string", default: "128" },
    "new-tokens": { type: "string", default: "256" }, batch: { type: "string", default: "32" },
    worker: { type: "string" }, dir: { type: "string" }, prompts: { type: "string" },
  },
});
const L = Number(args.layers), P = Number(args["prompt-tokens"]), N = Number(args["new-tokens"]), B = Number(args.batch);

const config = ModelConfigSchema.parse({
  architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: L, num_attention_heads: 14,
  num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
  tie_word_embeddings: true, max_position_embeddings: 32768, eos_token_id: 151935, bos_token_id: null,
});

interface Side { prefill_tokens_per_s: number; ttft_s: number; decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number; peak_rss_mb: number; threads: number }

/**
 * A byte-level BPE with exactly the model's vocabulary: all 65,536 byte pairs, then (pair, byte) triples, then the
 * two special tokens. Prompts are random ids, so the merges only need to be valid for llama.cpp to load the GGUF.
 */
function syntheticTokenizer() {
  const merges: [number, number][] = [];
  const want = config.vocab_size - 256 - 2;
  for (let a = 0; a < 256 && merges.length < want; a++) for (let b = 0; b < 256 && merges.length < want; b++) merges.push([a, b]);
  for (let p = 256; merges.length < want; p++) for (let b = 0; b < 256 && merges.length < want; b++) merges.push([p, b]);
  return byteLevelTokenizerJson(merges, ["<|endoftext|>", "<|im_end|>"]);
}

/** Move37's side, in a worker process: load the folder, then time prefill, batch 1 and batch B generation. */
function measureMove37(dir: string, prompts: number[][]): Side {
  const be = getBackend("native");
  const { model } = loadPretrained(dir, be);
  const tokenizer = loadTokenizer(dir);
  const opts = { maxNewTokens: N, temperature: 0, eosTokenIds: [] };
  generate(model, tokenizer, [prompts[0].slice(0, 8)], { ...opts, maxNewTokens: 2 }); // warm-up
  const prefillS = bestTime(() => {
    model.decode(model.newCache(1, P), Int32Array.from(prompts[0]), new Uint8Array(P).fill(1), P);
  }, 0, 3);
  const run = (batch: number) => {
    let first = 0;
    const t0 = performance.now();
    generate(model, tokenizer, prompts.slice(0, batch), opts, () => { first ||= performance.now(); });
    const t1 = performance.now();
    // all rows get their first token in the same step, so `first` ends the prefill for the whole batch
    return { ttft: (first - t0) / 1000, decode: batch * (N - 1) / ((t1 - first) / 1000) };
  };
  const one = run(1), many = run(B);
  return { prefill_tokens_per_s: P / prefillS, ttft_s: one.ttft, decode_b1_tokens_per_s: one.decode, decode_batch_tokens_per_s: many.decode, peak_rss_mb: process.resourceUsage().maxRSS / 1024, threads: be.threads };
}

function child(cmdArgs: string[]): Side {
  const r = spawnSync(process.execPath, ["--import", "tsx", ...cmdArgs], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new PeerError(cmdArgs[0], `exit status ${r.status}`);
  return JSON.parse(line) as Side;
}

if (args.worker === "move37") {
  console.log(JSON.stringify(measureMove37(args.dir!, JSON.parse((await import("node:fs")).readFileSync(args.prompts!, "utf8")))));
} else {
  const root = join("/tmp/m37-bench", `qwen2.5-0.5b-shape-L${L}`);
  const gguf = join(root, "model-f32.gguf");
  if (!existsSync(gguf)) {
    console.error(`bench generate: writing the random model folder and its F32 GGUF to ${root} (once)...`);
    const model = createModel(config, getBackend("native"), 0);
    savePretrained(model, root, { files: tokenizerFileMap(syntheticTokenizer(), { eos_token: "<|im_end|>" }) });
    exportGguf(root, gguf, "f32");
  }
  const rng = new Rng(1);
  const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.nextU32() % (config.vocab_size - 2)));
  const promptsPath = join(root, `prompts-${B}x${P}.json`);
  writeFileSync(promptsPath, JSON.stringify(prompts));
  const threads = nativeInfo().threads;
  const self = fileURLToPath(import.meta.url);
  const ours = child([self, "--worker", "move37", "--dir", root, "--prompts", promptsPath, "--layers", String(L), "--prompt-tokens", String(P), "--new-tokens", String(N), "--batch", String(B)]);
  let peer: Side | null = null;
  const peerScript = fileURLToPath(new URL("./peers/llama_generate.ts", import.meta.url));
  try {
    peer = child([peerScript, gguf, promptsPath, String(N), String(B), String(threads)]);
  } catch (e) {
    console.log(`peer llama.cpp unavailable (${(e as Error).message.split("\n")[0]}; is node-llama-cpp installed?): printing Move37's figures alone`);
  }
  rmSync(promptsPath, { force: true });
  const name = "generate";
  const peerName = `llama.cpp ${threads}t`;
  const shape = `Qwen2.5-0.5B shape L${L}, prompt ${P}, ${N} new`;
  const figs: Figure[] = [];
  const add = (fig: string, unit: string, key: keyof Side, lowerIsBetter = false) => {
    if (peer) figs.push(figure({ bench: name, figure: fig, unit, value: ours[key], peer: peerName, peer_value: peer[key] }, lowerIsBetter));
    else console.log(JSON.stringify({ bench: name, figure: fig, unit, value: ours[key], peer: "unavailable", peer_value: null, ratio: null }));
  };
  add("decode batch 1", "tokens/s", "decode_b1_tokens_per_s");
  add(`decode batch ${B} aggregate`, "tokens/s", "decode_batch_tokens_per_s");
  add(`prefill ${P} tokens`, "tokens/s", "prefill_tokens_per_s");
  add("time to first token (batch 1)", "s", "ttft_s", true);
  add("peak RSS", "MiB", "peak_rss_mb", true);
  if (figs.length) printFigures(figs, `${shape}; greedy; ${threads} threads each; llama.cpp defaults otherwise (KV cache F16, flash attention auto); Move37 F32 KV cache`);
}
