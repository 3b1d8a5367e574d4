/**
 * Rollout benchmark (issue 18 §3): greedy decode of the Qwen2.5-0.5B shape (random weights) at batch 1 and at batch B
 * (the GRPO rollout shape), Move37 with F32 and with BF16 weights (`loadPretrained(dir, be, { dtype: "bfloat16" })`,
 * each dtype in its own process), against llama.cpp (node-llama-cpp's prebuilt CPU binary, same thread count,
 * bench/peers/llama_generate.ts: one context of B sequences, one llama_decode of B tokens per step) on the GGUFs of the
 * same weights in each dtype of `--peer-dtypes` (f32, f16, bf16, q8_0; default f32,bf16,q8_0). Same prompts on both
 * sides; prompt 128 and 256 new tokens by default.
 *
 * Figures, one JSON line each ({"bench","figure","unit","value","peer","peer_value","ratio"}):
 *   decode batch 1 and decode batch B aggregate (tokens/s), each Move37 dtype against each peer dtype; peak RSS of
 *   each Move37 dtype against the peer of the same dtype (f32 ↔ F32, bf16 ↔ BF16);
 *   Move37 alone (peer "none"), per dtype: the batch-B step time, the part of it spent in matrix products (matmul and
 *   matmulBf16 calls) and the part beyond them (ms per step), the step's time in each backend kernel and in
 *   JavaScript outside them (ms per step: where the time beyond the products goes), and the products' GFLOP/s as a
 *   fraction of the machine's measured peak; the load average during each run.
 * Move37's KV cache is F32 unless --kv-cache-dtype bfloat16 (llama.cpp's default cache is F16).
 * A peer run that passes --peer-time-limit (seconds, default 900) stops decoding and reports the rate over the steps
 * it did; its figures then say "peer did not finish (k of N−1 steps)". A peer that does not exit within the limit
 * + 300 s is killed and its figures print peer_value null with "peer did not finish".
 * The model folder and GGUFs (≈ 2 GB in F32) go to a temporary folder under /tmp, removed at the end.
 *
 *   npm run bench -- rollout [--prompt-tokens 128] [--new-tokens 256] [--batch 32] [--dtypes float32,bfloat16]
 *                            [--peer-dtypes f32,bf16,q8_0] [--peer-time-limit 900] [--no-peer] [--layers N]
 *                            [--kv-cache-dtype float32|bfloat16]
 *   npm run bench -- rollout --layers 2 --new-tokens 16 --batch 4      (a quick smoke run)
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
import { savePretrained, loadPretrained, parseWeightsDtype, type WeightsDtype } from "../src/model/io/pretrained.js";
import { exportGguf, GGUF_DTYPES, type GgufDtype } from "../src/model/io/gguf-export.js";
import { loadTokenizer, tokenizerFileMap } from "../src/tokenizer/load.js";
import { generate } from "../src/sample/generate.js";
import { Rng } from "../src/sample/rng.js";
import type { KvCacheDtype } from "../src/model/kv-cache.js";
import { figure, kernelTimer, printFigures, PeerError, syntheticTokenizer, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    layers: { type: "string" }, "prompt-tokens": { type: "string", default: "128" }, "new-tokens": { type: "string", default: "256" },
    batch: { type: "string", default: "32" }, dtypes: { type: "string", default: "float32,bfloat16" }, "peer-dtypes": { type: "string", default: "f32,bf16,q8_0" },
    "peer-time-limit": { type: "string", default: "900" }, "no-peer": { type: "boolean", default: false },
    worker: { type: "boolean", default: false }, dir: { type: "string" }, prompts: { type: "string" }, dtype: { type: "string", default: "float32" },
    "kv-cache-dtype": { type: "string", default: "float32" },
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
  dtype: WeightsDtype; kv_cache_dtype: KvCacheDtype; decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number;
  step_ms: number; matmul_ms: number; beyond_ms: number;
  /** Milliseconds per batch-B step in each backend kernel, largest first, and in JavaScript (the rest). */
  kernels_ms: Record<string, number>; matmul_gflops: number; peak_gflops: number; threads: number; load: number; peak_rss_mb: number;
}
/** What bench/peers/llama_generate.ts prints. */
interface Theirs {
  decode_b1_tokens_per_s: number; decode_batch_tokens_per_s: number; threads: number; peak_rss_mb: number;
  b1_complete: boolean; b1_steps: number; batch_complete: boolean; batch_steps: number;
}

/**
 * Move37's side: batch-1 and batch-B greedy generation with `dtype` weights. During the batch-B decode (after every
 * row's first token), every backend kernel is timed (bench/common.ts kernelTimer) and the products' FLOPs counted, so
 * the step time splits into matrix products, each other kernel (attention, norms, …) and JavaScript (sampling's
 * bookkeeping, KV-cache copies made in JS).
 */
function measureMove37(dir: string, prompts: number[][], dtype: WeightsDtype, kvCacheDtype: KvCacheDtype): Ours {
  const be = getBackend("native");
  const { model } = loadPretrained(dir, be, { dtype, kvCacheDtype });
  const tokenizer = loadTokenizer(dir);
  const opts = { maxNewTokens: N, temperature: 0, eosTokenIds: [] };
  generate(model, tokenizer, [prompts[0].slice(0, 8)], { ...opts, maxNewTokens: 2 }); // warm-up
  const timer = kernelTimer(be);
  const run = (batch: number) => {
    let first = 0;
    const t0 = performance.now();
    generate(model, tokenizer, prompts.slice(0, batch), opts, () => { if (!first) { first = performance.now(); if (batch > 1) timer.on(); } });
    const t1 = performance.now();
    timer.off();
    return { ms: t1 - first, tps: batch * (N - 1) / ((t1 - first) / 1000), t0 };
  };
  const one = run(1), many = run(B), steps = N - 1;
  const peak = loadAddon()!.peakGflops(1);
  const kernels = Object.entries(timer.times()).sort((a, b) => b[1].ms - a[1].ms);
  const mm = kernels.filter(([k]) => k.startsWith("matmul")), sum = (ks: typeof kernels, f: "ms" | "flops") => ks.reduce((s, [, t]) => s + t[f], 0);
  const mmMs = sum(mm, "ms"), mmFlops = sum(mm, "flops");
  return {
    dtype, kv_cache_dtype: kvCacheDtype, decode_b1_tokens_per_s: one.tps, decode_batch_tokens_per_s: many.tps,
    step_ms: many.ms / steps, matmul_ms: mmMs / steps, beyond_ms: (many.ms - mmMs) / steps,
    kernels_ms: Object.fromEntries([...kernels.map(([k, t]) => [k, t.ms / steps]), ["JavaScript (outside the kernels)", (many.ms - sum(kernels, "ms")) / steps]]),
    matmul_gflops: mmFlops / mmMs / 1e6, peak_gflops: peak, threads: be.threads, load: loadavg()[0], peak_rss_mb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Runs a bench script in its own process and parses its last stdout line; `timeoutS` kills it (SIGKILL) when it runs over. */
function child<T>(cmdArgs: string[], timeoutS?: number): T {
  const r = spawnSync(process.execPath, ["--import", "tsx", ...cmdArgs], {
    encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"], timeout: timeoutS ? timeoutS * 1000 : undefined, killSignal: "SIGKILL",
  });
  const line = r.stdout.trim().split("\n").at(-1);
  if (r.error && (r.error as NodeJS.ErrnoException).code === "ETIMEDOUT") throw new PeerTimeout(cmdArgs[0], timeoutS!);
  if (r.status !== 0 || !line) throw new PeerError(cmdArgs[0], `exit status ${r.status}`);
  return JSON.parse(line) as T;
}

/** A peer process ran past its hard time limit and was killed. */
class PeerTimeout extends Error {
  constructor(what: string, seconds: number) { super(`${what} did not exit within ${seconds} s and was killed`); this.name = "PeerTimeout"; }
}

const load = () => loadavg()[0].toFixed(2);

/** --kv-cache-dtype: float32 (the default) or bfloat16 (half the cache; llama.cpp's default cache is F16). */
function kvCacheDtypeOf(s: string): KvCacheDtype {
  if (s !== "float32" && s !== "bfloat16") throw new Error(`--kv-cache-dtype ${s}: use float32 or bfloat16`);
  return s;
}

const DTYPE_LABEL: Record<WeightsDtype, string> = { float32: "F32", bfloat16: "BF16" };
const SAME_DTYPE: Partial<Record<GgufDtype, WeightsDtype>> = { f32: "float32", bf16: "bfloat16" };

function main() {
  if (P + N > config.max_position_embeddings) throw new Error(`prompt ${P} + ${N} new tokens exceed ${config.max_position_embeddings} positions`);
  const dtypes = args["no-peer"] ? [] : args["peer-dtypes"]!.split(",") as GgufDtype[];
  for (const d of dtypes) if (!GGUF_DTYPES.includes(d)) throw new Error(`--peer-dtypes: ${d} is not one of ${GGUF_DTYPES.join(", ")}`);
  const ourDtypes = args.dtypes!.split(",").map(parseWeightsDtype);
  const limit = Number(args["peer-time-limit"]);
  const kvDtype = kvCacheDtypeOf(args["kv-cache-dtype"]!);
  const root = mkdtempSync(join("/tmp", "m37-bench-rollout-"));
  try {
    console.error(`bench rollout: writing the random 0.5B-shape folder to ${root} (removed at the end)...`);
    const tok = { json: syntheticTokenizer(config.vocab_size), config: { eos_token: "<|im_end|>" } };
    savePretrained(createModel(config, getBackend("native"), 0), root, { files: tokenizerFileMap(tok.json, tok.config) });
    const rng = new Rng(1);
    const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.nextU32() % (config.vocab_size - 2)));
    const promptsPath = join(root, "prompts.json");
    writeFileSync(promptsPath, JSON.stringify(prompts));
    const threads = nativeInfo().threads;
    const ours = ourDtypes.map(dtype => {
      console.error(`bench rollout: Move37 ${dtype} (load ${load()})`);
      const o = child<Ours>([fileURLToPath(import.meta.url), "--worker", "--dtype", dtype, "--kv-cache-dtype", kvDtype, "--dir", root, "--prompts", promptsPath, "--prompt-tokens", String(P), "--new-tokens", String(N), "--batch", String(B)]);
      console.log(`move37 ${dtype}: ${JSON.stringify(o)} (load after ${load()})`);
      return o;
    });
    const figs: Figure[] = [];
    const name = `rollout 0.5b L${config.num_hidden_layers}`;
    const notFinished: string[] = [];
    for (const dt of dtypes) {
      const gguf = join(root, `model-${dt}.gguf`);
      let peer: Theirs | null = null;
      const peerName = `llama.cpp ${dt} ${threads}t`;
      try {
        exportGguf(root, gguf, dt);
        const before = load();
        console.error(`bench rollout: llama.cpp ${dt} (load ${before})`);
        peer = child<Theirs>([fileURLToPath(new URL("./peers/llama_generate.ts", import.meta.url)), gguf, promptsPath, String(N), String(B), String(threads), String(limit)], limit + 300);
        console.log(`llama.cpp ${dt}: ${JSON.stringify(peer)} (load before ${before}, after ${load()})`);
      } catch (e) {
        if (!(e instanceof PeerTimeout)) { console.log(`peer llama.cpp ${dt} unavailable: ${(e as Error).message.split("\n")[0]}`); continue; }
        console.log(`peer llama.cpp ${dt} did not finish: ${(e as Error).message}`);
      } finally {
        rmSync(gguf, { force: true });
      }
      if (!peer) {
        notFinished.push(`${peerName}: killed after ${limit + 300} s`);
        for (const o of ours) for (const fig of [`decode batch 1 (${DTYPE_LABEL[o.dtype]})`, `decode batch ${B} aggregate (${DTYPE_LABEL[o.dtype]})`])
          console.log(JSON.stringify({ bench: name, figure: `${fig}: peer did not finish`, unit: "tokens/s", value: fig.includes("batch 1") ? o.decode_b1_tokens_per_s : o.decode_batch_tokens_per_s, peer: peerName, peer_value: null, ratio: null }));
        continue;
      }
      const b1Note = peer.b1_complete ? "" : `: peer did not finish (${peer.b1_steps} of ${N - 1} steps in ${limit} s)`;
      const bNote = peer.batch_complete ? "" : `: peer did not finish (${peer.batch_steps} of ${N - 1} steps in ${limit} s)`;
      if (b1Note || bNote) notFinished.push(`${peerName}${b1Note || bNote}`);
      // a peer that did no decode step within the limit has no rate: peer_value and ratio null
      const rate = (fig: string, value: number, theirs: number): Figure => theirs > 0
        ? figure({ bench: name, figure: fig, unit: "tokens/s", value, peer: peerName, peer_value: theirs })
        : { bench: name, figure: fig, unit: "tokens/s", value, peer: peerName, peer_value: null as unknown as number, ratio: null as unknown as number };
      for (const o of ours) {
        const tag = DTYPE_LABEL[o.dtype];
        figs.push(rate(`decode batch 1 (${tag})${b1Note}`, o.decode_b1_tokens_per_s, peer.decode_b1_tokens_per_s));
        figs.push(rate(`decode batch ${B} aggregate (${tag})${bNote}`, o.decode_batch_tokens_per_s, peer.decode_batch_tokens_per_s));
        if (SAME_DTYPE[dt] === o.dtype) figs.push(figure({ bench: name, figure: `peak RSS (${tag}, batch ${B})`, unit: "MiB", value: o.peak_rss_mb, peer: peerName, peer_value: peer.peak_rss_mb }, true));
      }
    }
    if (figs.length) printFigures(figs, `Qwen2.5-0.5B shape L${config.num_hidden_layers} (random weights), prompt ${P}, ${N} new, greedy; Move37 ${ourDtypes.join("/")} weights (${DTYPE_LABEL[kvDtype]} KV cache), ${threads} threads; llama.cpp ${threads} threads, one context of ${B} sequences, its defaults otherwise (F16 KV cache, flash attention auto); load now ${load()}`);
    for (const n of notFinished) console.log(`peer did not finish: ${n}`);
    const alone = (fig: string, unit: string, value: number) => console.log(JSON.stringify({ bench: name, figure: fig, unit, value, peer: "none", peer_value: null, ratio: null }));
    for (const o of ours) {
      const tag = DTYPE_LABEL[o.dtype];
      if (!figs.length) {
        alone(`decode batch 1 (${tag})`, "tokens/s", o.decode_b1_tokens_per_s);
        alone(`decode batch ${B} aggregate (${tag})`, "tokens/s", o.decode_batch_tokens_per_s);
      }
      alone(`batch ${B} decode step (${tag})`, "ms", o.step_ms);
      alone(`batch ${B} step: matrix products (${tag})`, "ms", o.matmul_ms);
      alone(`batch ${B} step: beyond the matrix products (${tag})`, "ms", o.beyond_ms);
      for (const [k, ms] of Object.entries(o.kernels_ms)) alone(`batch ${B} step: ${k} (${tag})`, "ms", ms);
      alone(`batch ${B} matrix products (${tag})`, "GFLOP/s", o.matmul_gflops);
      alone(`measured peak (FMA loop, all threads; during the ${tag} run)`, "GFLOP/s", o.peak_gflops);
      alone(`batch ${B} matrix products / peak (${tag})`, "fraction", o.matmul_gflops / o.peak_gflops);
      alone(`load average at the end of Move37's ${tag} run`, "1-minute load", o.load);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (args.worker) console.log(JSON.stringify(measureMove37(args.dir!, JSON.parse(readFileSync(args.prompts!, "utf8")), parseWeightsDtype(args.dtype!), kvCacheDtypeOf(args["kv-cache-dtype"]!))));
else main();
