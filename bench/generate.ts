/**
 * Generation benchmark: greedy decode throughput against llama.cpp (node-llama-cpp) on the F32 GGUF of the same
 * random weights, same prompts, same thread count, for two shapes:
 *   tiny  the project's tiny base (recipes/base-tiny.yaml: Llama, hidden 256, 4 layers, byte vocabulary 258)
 *   0.5b  Qwen2.5-0.5B (hidden 896, 24 layers, 14 heads, 2 KV heads, FFN 4864, vocab 151936, tied, qkv bias)
 * Figures: batch-1 decode tokens/s, batch-B aggregate decode tokens/s, prefill tokens/s, time to first token,
 * peak RSS. Each side runs in its own process (peak RSS is its own); the two sides alternate, `--rounds` times, and
 * the best reading of each figure is kept, so a burst of load from other work on the machine hits both sides alike.
 * llama.cpp runs with Move37's thread count and with one thread (`--peer-threads 2,1`); the setting with the better
 * batch-B decode is the peer. The 0.5b shape defaults to one round and Move37's thread count for the peer: llama.cpp
 * alone needs ~11 minutes for its batch-32 decode there, so the tiny shape's defaults would take over an hour.
 * The model folder and GGUF go to a temporary folder under /tmp that is removed at the end (≈ 4 GB for 0.5b).
 *
 *   npm run bench -- generate [--model tiny|0.5b|both] [--prompt-tokens 128] [--new-tokens 256] [--batch 32] [--rounds 3 (0.5b: 1)] [--peer-threads 2,1 (0.5b: 2)]
 *   npm run bench -- generate --model 0.5b --layers 2 --new-tokens 16 --batch 4 --rounds 1    (a quick smoke run)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getBackend, nativeInfo } from "../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
import { savePretrained, loadPretrained } from "../src/model/io/pretrained.js";
import { exportGguf } from "../src/model/io/gguf-export.js";
import { ByteTokenizer } from "../src/tokenizer/byte.js";
import { loadTokenizer, tokenizerFileMap } from "../src/tokenizer/load.js";
import type { TokenizerConfigJson } from "../src/tokenizer/types.js";
import { generate } from "../src/sample/generate.js";
import { Rng } from "../src/sample/rng.js";
import { figure, printFigures, bestTime, PeerError, syntheticTokenizer, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: "both" }, layers: { type: "string" }, "prompt-tokens": { type: "string", default: "128" },
    "new-tokens": { type: "string", default: "256" }, batch: { type: "string", default: "32" }, rounds: { type: "string" },
    "peer-threads": { type: "string" },
    worker: { type: "string" }, dir: { type: "string" }, prompts: { type: "string" },
  },
});
const P = Number(args["prompt-tokens"]), N = Number(args["new-tokens"]), B = Number(args.batch);

interface Shape { name: string; config: ModelConfig; tokenizer: () => { json: object; config: TokenizerConfigJson } }

const SHAPES: Record<string, Shape> = {
  tiny: {
    name: "tiny (base-tiny shape)",
    config: ModelConfigSchema.parse({
      architecture: "llama", vocab_size: 258, hidden_size: 256, num_hidden_layers: Number(args.layers ?? 4), num_attention_heads: 4,
      num_key_value_heads: 4, intermediate_size: 688, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: true,
      max_position_embeddings: 512, eos_token_id: 256, bos_token_id: 256,
    }),
    tokenizer: () => ({ json: new ByteTokenizer().toTokenizerJson(), config: { eos_token: "<|endoftext|>", pad_token: "<|pad|>", bos_token: null } }),
  },
  "0.5b": {
    name: "Qwen2.5-0.5B shape",
    config: ModelConfigSchema.parse({
      architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: Number(args.layers ?? 24), num_attention_heads: 14,
      num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
      tie_word_embeddings: true, max_position_embeddings: 32768, eos_token_id: 151935, bos_token_id: null,
    }),
    tokenizer: () => ({ json: syntheticTokenizer(151936), config: { eos_token: "<|im_end|>" } }),
  },
};

interface Side { prefill_tokens_per_s: number; ttft_s: number; decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number; peak_rss_mb: number; threads: number }

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

/** The best reading of each figure over rounds (highest rate, lowest time and RSS). */
function best(sides: Side[]): Side {
  const pick = (k: keyof Side, low: boolean) => (low ? Math.min : Math.max)(...sides.map(s => s[k]));
  return {
    prefill_tokens_per_s: pick("prefill_tokens_per_s", false), ttft_s: pick("ttft_s", true), decode_b1_tokens_per_s: pick("decode_b1_tokens_per_s", false),
    decode_batch_tokens_per_s: pick("decode_batch_tokens_per_s", false), peak_rss_mb: pick("peak_rss_mb", true), threads: sides[0].threads,
  };
}

/** Writes the shape's random folder and GGUF to a temporary folder, runs both sides `rounds` times alternately, prints figures. */
function benchShape(key: string, shape: Shape) {
  const c = shape.config, big = key === "0.5b";
  const rounds = Number(args.rounds ?? (big ? 1 : 3));
  if (P + N > c.max_position_embeddings) throw new Error(`prompt ${P} + ${N} new tokens exceed the ${key} shape's ${c.max_position_embeddings} positions: lower --prompt-tokens or --new-tokens`);
  const root = mkdtempSync(join("/tmp", `m37-bench-generate-${key}-`));
  try {
    console.error(`bench generate: writing the random ${key} model folder and its F32 GGUF to ${root} (removed at the end)...`);
    const gguf = join(root, "model-f32.gguf");
    const tok = shape.tokenizer();
    savePretrained(createModel(c, getBackend("native"), 0), root, { files: tokenizerFileMap(tok.json, tok.config) });
    exportGguf(root, gguf, "f32");
    const rng = new Rng(1);
    // random ids below the special tokens (the two last ids in both vocabularies are never prompted)
    const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.nextU32() % (c.vocab_size - 2)));
    const promptsPath = join(root, "prompts.json");
    writeFileSync(promptsPath, JSON.stringify(prompts));
    const threads = nativeInfo().threads;
    const self = fileURLToPath(import.meta.url);
    const peerScript = fileURLToPath(new URL("./peers/llama_generate.ts", import.meta.url));
    // llama.cpp's threads meet at a spinning barrier after every op: when the machine is shared, a descheduled
    // thread stalls the others for a time slice at each of them, so llama.cpp is also run on one thread
    const peerThreads = args["peer-threads"] ? args["peer-threads"].split(",").map(Number) : big ? [threads] : [...new Set([threads, 1])];
    const ours: Side[] = [], theirs = new Map<number, Side[]>(peerThreads.map(t => [t, []]));
    let peerError: string | null = null;
    for (let r = 0; r < rounds; r++) {
      console.error(`bench generate: ${key} round ${r + 1}/${rounds}`);
      ours.push(child([self, "--worker", "move37", "--dir", root, "--prompts", promptsPath, "--prompt-tokens", String(P), "--new-tokens", String(N), "--batch", String(B)]));
      for (const t of peerThreads) {
        if (peerError) break;
        try {
          theirs.get(t)!.push(child([peerScript, gguf, promptsPath, String(N), String(B), String(t)]));
        } catch (e) {
          peerError = (e as Error).message.split("\n")[0];
        }
      }
    }
    const o = best(ours);
    // the peer's thread count with the better batch-B decode
    const peers = peerThreads.filter(t => theirs.get(t)!.length).map(t => best(theirs.get(t)!));
    const peer = peers.length ? peers.reduce((a, b) => (b.decode_batch_tokens_per_s > a.decode_batch_tokens_per_s ? b : a)) : null;
    if (!peer) console.log(`peer llama.cpp unavailable (${peerError}; is node-llama-cpp installed?): printing Move37's figures alone`);
    else for (const p of peers) console.log(`llama.cpp ${p.threads}t: ${JSON.stringify(p)}`);
    const name = `generate ${key}`, peerName = `llama.cpp ${peer?.threads}t`;
    const figs: Figure[] = [];
    const add = (fig: string, unit: string, k: keyof Side, lowerIsBetter = false) => {
      if (peer) figs.push(figure({ bench: name, figure: fig, unit, value: o[k], peer: peerName, peer_value: peer[k] }, lowerIsBetter));
      else console.log(JSON.stringify({ bench: name, figure: fig, unit, value: o[k], peer: "unavailable", peer_value: null, ratio: null }));
    };
    add("decode batch 1", "tokens/s", "decode_b1_tokens_per_s");
    add(`decode batch ${B} aggregate`, "tokens/s", "decode_batch_tokens_per_s");
    add(`prefill ${P} tokens`, "tokens/s", "prefill_tokens_per_s");
    add("time to first token (batch 1)", "s", "ttft_s", true);
    add("peak RSS", "MiB", "peak_rss_mb", true);
    if (figs.length) printFigures(figs, `${shape.name} L${c.num_hidden_layers}, prompt ${P}, ${N} new; greedy; Move37 ${threads} threads, llama.cpp the better of ${peerThreads.join(" and ")} threads; best of ${rounds} alternating rounds; llama.cpp defaults otherwise (KV cache F16, flash attention auto); Move37 F32 KV cache`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (args.worker === "move37") {
  console.log(JSON.stringify(measureMove37(args.dir!, JSON.parse(readFileSync(args.prompts!, "utf8")))));
} else {
  const keys = args.model === "both" ? ["tiny", "0.5b"] : [args.model!];
  for (const k of keys) {
    const shape = SHAPES[k];
    if (!shape) throw new Error(`unknown --model ${k}: use tiny, 0.5b or both`);
    benchShape(k, shape);
  }
}
