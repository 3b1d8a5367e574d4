/**
 * Rollout benchmark (issue 18 §3): greedy decode of the Qwen2.5-0.5B shape (random weights, F32) at batch 1 and at
 * batch B (the GRPO rollout shape), Move37 against llama.cpp (node-llama-cpp's prebuilt CPU binary, same thread
 * count, bench/peers/llama_generate.ts) on GGUFs of the same weights in each dtype of `--peer-dtypes` that the
 * exporter writes (f32, f16). Same prompts on both sides; prompt 128 and 256 new tokens by default.
 *
 * Figures, one JSON line each ({"bench","figure","unit","value","peer","peer_value","ratio"}):
 *   decode batch 1, decode batch B aggregate (tokens/s) against each peer dtype;
 *   Move37 alone (peer "none"): the batch-B step time, the part of it spent in matrix products and the part beyond
 *   them (ms per step), and the matrix products' GFLOP/s as a fraction of the machine's measured peak.
 * Each side runs in its own process; the load average is printed with each run (the machine is shared).
 * The model folder and GGUFs (≈ 2 GB each in F32) go to a temporary folder under /tmp, removed at the end.
 *
 *   npm run bench -- rollout [--prompt-tokens 128] [--new-tokens 256] [--batch 32] [--peer-dtypes f32[,f16]] [--no-peer]
 *   npm run bench -- rollout --layers 2 --new-tokens 16 --batch 4 --no-peer     (a quick smoke run)
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getBackend, nativeInfo } from "../src/engine/index.js";
import { loadAddon } from "../src/engine/native.js";
import { ModelConfigSchema } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
import { savePretrained, loadPretrained } from "../src/model/io/pretrained.js";
import { exportGguf, type GgufDtype } from "../src/model/io/gguf-export.js";
import { loadTokenizer, tokenizerFileMap } from "../src/tokenizer/load.js";
import { generate } from "../src/sample/generate.js";
import { Rng } from "../src/sample/rng.js";
import { figure, printFigures, PeerError, syntheticTokenizer, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    layers: { type: "string" }, "prompt-tokens": { type: "string", default: "128" }, "new-tokens": { type: "string", default: "256" },
    batch: { type: "string", default: "32" }, "peer-dtypes": { type: "string", default: "f32" }, "no-peer": { type: "boolean", default: false },
    worker: { type: "boolean", default: false }, dir: { type: "string" }, prompts: { type: "string" },
  },
});
const P = Number(args["prompt-tokens"]), N = Number(args["new-tokens"]), B = Number(args.batch);

const config = ModelConfigSchema.parse({
  architecture: "qwen2", vocab_size: 151936, hidden_size: 896, num_hidden_layers: Number(args.layers ?? 24), num_attention_heads: 14,
  num_key_value_heads: 2, intermediate_size: 4864, rope_theta: 1e6, rms_norm_eps: 1e-6, attention_bias: true,
  tie_word_embeddings: true, max_position_embeddings: 32768, eos_token_id: 151935, bos_token_id: null,
});

/** What the Move37 worker reports. */
interface Ours {
  decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number;
  step_ms: number; matmul_ms: number; beyond_ms: number; matmul_gflops: number; peak_gflops: number; threads: number; load: number;
}
/** What bench/peers/llama_generate.ts prints. */
interface Theirs { decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number; threads: number }

/**
 * Move37's side: batch-1 and batch-B greedy generation. During the batch-B decode (after every row's first token),
 * the backend's matmul calls are timed and their FLOPs counted, so the step time splits into matrix products and
 * everything else (attention, norms, KV-cache copies, sampling over the vocabulary, JS).
 */
function measureMove37(dir: string, prompts: number[][]): Ours {
  const be = getBackend("native");
  const { model } = loadPretrained(dir, be);
  const tokenizer = loadTokenizer(dir);
  const opts = { maxNewTokens: N, temperature: 0, eosTokenIds: [] };
  generate(model, tokenizer, [prompts[0].slice(0, 8)], { ...opts, maxNewTokens: 2 }); // warm-up
  let timing = false, mmMs = 0, mmFlops = 0;
  const matmul = be.matmul.bind(be);
  be.matmul = (...a: Parameters<typeof be.matmul>) => {
    if (!timing) return matmul(...a);
    const t = performance.now();
    matmul(...a);
    mmMs += performance.now() - t; mmFlops += 2 * a[3] * a[4] * a[5];
  };
  const run = (batch: number) => {
    let first = 0;
    const t0 = performance.now();
    generate(model, tokenizer, prompts.slice(0, batch), opts, () => { if (!first) { first = performance.now(); timing = batch > 1; } });
    const t1 = performance.now();
    timing = false;
    return { ms: t1 - first, tps: batch * (N - 1) / ((t1 - first) / 1000), t0 };
  };
  const one = run(1), many = run(B), steps = N - 1;
  const peak = loadAddon()!.peakGflops(1);
  return {
    decode_b1_tokens_per_s: one.tps, decode_batch_tokens_per_s: many.tps,
    step_ms: many.ms / steps, matmul_ms: mmMs / steps, beyond_ms: (many.ms - mmMs) / steps,
    matmul_gflops: mmFlops / mmMs / 1e6, peak_gflops: peak, threads: be.threads, load: loadavg()[0],
  };
}

function child<T>(cmdArgs: string[]): T {
  const r = spawnSync(process.execPath, ["--import", "tsx", ...cmdArgs], { encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new PeerError(cmdArgs[0], `exit status ${r.status}`);
  return JSON.parse(line) as T;
}

const load = () => loadavg()[0].toFixed(2);

function main() {
  if (P + N > config.max_position_embeddings) throw new Error(`prompt ${P} + ${N} new tokens exceed ${config.max_position_embeddings} positions`);
  const dtypes = args["no-peer"] ? [] : args["peer-dtypes"]!.split(",") as GgufDtype[];
  const root = mkdtempSync(join("/tmp", "m37-bench-rollout-"));
  try {
    console.error(`bench rollout: writing the random 0.5B-shape folder${dtypes.length ? ` and its ${dtypes.join(", ")} GGUFs` : ""} to ${root} (removed at the end)...`);
    const tok = { json: syntheticTokenizer(config.vocab_size), config: { eos_token: "<|im_end|>" } };
    savePretrained(createModel(config, getBackend("native"), 0), root, { files: tokenizerFileMap(tok.json, tok.config) });
    const rng = new Rng(1);
    const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.nextU32() % (config.vocab_size - 2)));
    const promptsPath = join(root, "prompts.json");
    writeFileSync(promptsPath, JSON.stringify(prompts));
    const threads = nativeInfo().threads;
    console.error(`bench rollout: Move37 (load ${load()})`);
    const o = child<Ours>([fileURLToPath(import.meta.url), "--worker", "--dir", root, "--prompts", promptsPath, "--prompt-tokens", String(P), "--new-tokens", String(N), "--batch", String(B)]);
    console.log(`move37: ${JSON.stringify(o)}`);
    const figs: Figure[] = [];
    const name = "rollout 0.5b";
    for (const dt of dtypes) {
      const gguf = join(root, `model-${dt}.gguf`);
      let peer: Theirs;
      try {
        exportGguf(root, gguf, dt);
        const before = load();
        console.error(`bench rollout: llama.cpp ${dt} (load ${before})`);
        peer = child<Theirs>([fileURLToPath(new URL("./peers/llama_generate.ts", import.meta.url)), gguf, promptsPath, String(N), String(B), String(threads)]);
        console.log(`llama.cpp ${dt}: ${JSON.stringify(peer)} (load before ${before}, after ${load()})`);
      } catch (e) {
        console.log(`peer llama.cpp ${dt} unavailable: ${(e as Error).message.split("\n")[0]}`);
        continue;
      } finally {
        rmSync(gguf, { force: true });
      }
      const peerName = `llama.cpp ${dt} ${peer.threads}t`;
      figs.push(figure({ bench: name, figure: "decode batch 1 (F32)", unit: "tokens/s", value: o.decode_b1_tokens_per_s, peer: peerName, peer_value: peer.decode_b1_tokens_per_s }));
      figs.push(figure({ bench: name, figure: `decode batch ${B} aggregate (F32)`, unit: "tokens/s", value: o.decode_batch_tokens_per_s, peer: peerName, peer_value: peer.decode_batch_tokens_per_s }));
    }
    if (figs.length) printFigures(figs, `Qwen2.5-0.5B shape L${config.num_hidden_layers} (random weights), prompt ${P}, ${N} new, greedy; Move37 F32 weights and KV cache, ${threads} threads; llama.cpp ${threads} threads, its defaults otherwise`);
    const alone = (fig: string, unit: string, value: number) => console.log(JSON.stringify({ bench: name, figure: fig, unit, value, peer: "none", peer_value: null, ratio: null }));
    if (!figs.length) {
      alone("decode batch 1 (F32)", "tokens/s", o.decode_b1_tokens_per_s);
      alone(`decode batch ${B} aggregate (F32)`, "tokens/s", o.decode_batch_tokens_per_s);
    }
    alone(`batch ${B} decode step`, "ms", o.step_ms);
    alone(`batch ${B} step: matrix products`, "ms", o.matmul_ms);
    alone(`batch ${B} step: beyond the matrix products`, "ms", o.beyond_ms);
    alone(`batch ${B} matrix products`, "GFLOP/s", o.matmul_gflops);
    alone("measured peak (FMA loop, all threads)", "GFLOP/s", o.peak_gflops);
    alone(`batch ${B} matrix products / peak`, "fraction", o.matmul_gflops / o.peak_gflops);
    alone("load average during Move37's run", "1-minute load", o.load);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (args.worker) console.log(JSON.stringify(measureMove37(args.dir!, JSON.parse(readFileSync(args.prompts!, "utf8")))));
else main();
