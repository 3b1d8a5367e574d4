/**
 * Model benchmark: training step (forward + backward + AdamW with clipping) and forward-only tokens/s of
 * Move37's transformer against the PyTorch peer of the same architecture (bench/peers/torch_model.py),
 * plus peak RSS of both. Each side runs in its own process so peak RSS is its own. The peer runs with
 * OPENBLAS_NUM_THREADS=1 and with the default (and with one torch thread), and the best figure counts.
 *
 * Cases a, b: Llama shapes; qwen3, llama3, gemma3: the shapes of Qwen3-0.6B (all 28 layers), Llama-3.2-1B at 4 of
 * its 16 layers (with its llama3 rope scaling) and gemma-3-270m (all 18 layers, window 512, 5:1 local:global), each
 * against the same architecture in the PyTorch peer.
 *
 *   npm run bench -- engine-model [--steps N] [--only a|b|qwen3|llama3|gemma3] [--profile]
 * --profile adds a per-kernel time breakdown of Move37's training steps (stderr).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { getBackend, type Backend } from "../src/engine/index.js";
import { ModelConfigSchema, type ModelConfig } from "../src/model/config.js";
import { createModel } from "../src/model/transformer.js";
import { AdamW } from "../src/train/optimizer.js";
import { ensureTorch } from "./common.js";

interface Case { id: string; label: string; config: Partial<ModelConfig>; batch: number; seq: number }

/** a, b: intermediate is 4·hidden on both sides; tied embeddings, full multi-head attention (kv heads = heads). */
export const MODEL_CASES: Case[] = [
  { id: "a", label: "d256 L4 h4 V512 T128 B16", batch: 16, seq: 128,
    config: { vocab_size: 512, hidden_size: 256, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 4, intermediate_size: 1024 } },
  { id: "b", label: "d768 L12 h12 V32000 T256 B4", batch: 4, seq: 256,
    config: { vocab_size: 32000, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, num_key_value_heads: 12, intermediate_size: 3072 } },
  // Published configs (tied embeddings); B·T = 256 tokens a step. Parameters: 596M, 506M (embedding 263M), 268M (embedding 168M).
  { id: "qwen3", label: "Qwen3-0.6B shape (d1024 L28 h16/8 hd128 V151936) T128 B2", batch: 2, seq: 128,
    config: { architecture: "qwen3", vocab_size: 151936, hidden_size: 1024, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8,
      head_dim: 128, intermediate_size: 3072, rope_theta: 1e6, max_position_embeddings: 40960 } },
  { id: "llama3", label: "Llama-3.2-1B shape at 4 layers (d2048 h32/8 V128256, llama3 rope) T128 B2", batch: 2, seq: 128,
    config: { architecture: "llama", vocab_size: 128256, hidden_size: 2048, num_hidden_layers: 4, num_attention_heads: 32, num_key_value_heads: 8,
      intermediate_size: 8192, rope_theta: 500000, rms_norm_eps: 1e-5, max_position_embeddings: 131072,
      rope_scaling: { rope_type: "llama3", factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } } },
  { id: "gemma3", label: "gemma-3-270m shape (d640 L18 h4/1 hd256 V262144, window 512) T128 B2", batch: 2, seq: 128,
    config: { architecture: "gemma3", vocab_size: 262144, hidden_size: 640, num_hidden_layers: 18, num_attention_heads: 4, num_key_value_heads: 1,
      head_dim: 256, intermediate_size: 2048, rope_theta: 1e6, max_position_embeddings: 32768, query_pre_attn_scalar: 256, sliding_window: 512,
      layer_types: Array.from({ length: 18 }, (_, i) => ((i + 1) % 6 ? "sliding_attention" : "full_attention")), rope_local_base_freq: 10000 } },
];

interface SideResult { train_tokens_per_s: number; forward_tokens_per_s: number; peak_rss_mb: number; threads?: number; backend?: string }

/** A backend that adds each kernel's wall time to `spent`, to find where a step's time goes. */
function timed(be: Backend, spent: Map<string, number>): Backend {
  return new Proxy(be, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== "function") return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = v.apply(target, args);
        spent.set(String(key), (spent.get(String(key)) ?? 0) + performance.now() - t0);
        return r;
      };
    },
  });
}

/** Runs in the worker process: times `steps` training steps and `steps` forwards after one warm-up each. */
function measureMove37(c: Case, steps: number, profile: boolean): SideResult {
  const spent = new Map<string, number>();
  const be = profile ? timed(getBackend(), spent) : getBackend();
  const model = createModel(ModelConfigSchema.parse(c.config), be, 0);
  const opt = new AdamW(model, be, { learning_rate: 1e-4, weight_decay: 0.1, max_grad_norm: 1 });
  const R = c.batch * c.seq, V = c.config.vocab_size!;
  let seed = 12345;
  const tokens = Int32Array.from({ length: R }, () => (seed = (seed * 1103515245 + 12345) >>> 0) % V);
  const targets = Int32Array.from({ length: R }, (_, i) => tokens[(i + 1) % R]);
  const mask = new Uint8Array(R).fill(1), dlogp = new Float32Array(R).fill(-1 / R); // mean cross-entropy
  const trainStep = () => { model.flatGrads.fill(0); model.forward(tokens, mask, targets, c.batch, c.seq); model.backward(dlogp); opt.step(); };
  const forwardStep = () => { model.forward(tokens, mask, targets, c.batch, c.seq); };
  const rate = (fn: () => void) => {
    fn();
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) fn();
    return R * steps / ((performance.now() - t0) / 1000);
  };
  const t0 = performance.now();
  const train = rate(trainStep);
  if (profile) {
    const total = performance.now() - t0;
    process.stderr.write(`engine-model (${c.id}) per-kernel time over ${steps + 1} training steps (${total.toFixed(0)} ms):\n`);
    for (const [k, ms] of [...spent].sort((a, b) => b[1] - a[1])) process.stderr.write(`  ${k.padEnd(26)} ${ms.toFixed(0).padStart(8)} ms ${(100 * ms / total).toFixed(1).padStart(5)}%\n`);
    const kernels = [...spent.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(`  ${"(TypeScript outside kernels)".padEnd(26)} ${(total - kernels).toFixed(0).padStart(8)} ms ${(100 * (total - kernels) / total).toFixed(1).padStart(5)}%\n`);
  }
  const forward = rate(forwardStep);
  return { train_tokens_per_s: train, forward_tokens_per_s: forward, peak_rss_mb: process.resourceUsage().maxRSS / 1024, threads: be.threads, backend: be.name };
}

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv): SideResult {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 24, stdio: ["ignore", "pipe", "inherit"] });
  const line = r.stdout?.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args.join(" ")} failed (status ${r.status}, its stderr is above)`);
  return JSON.parse(line);
}

/** Peer settings tried; the best figure counts. On a busy 2-core machine one torch thread can beat two. */
const PEER_VARIANTS = [
  { label: "torch threads = cores, OPENBLAS_NUM_THREADS=1", torch: 0, openblasOne: true },
  { label: "torch threads = cores, OpenBLAS default", torch: 0, openblasOne: false },
  { label: "torch threads = 1, OPENBLAS_NUM_THREADS=1", torch: 1, openblasOne: true },
];

function runPeer(c: Case, steps: number, v: (typeof PEER_VARIANTS)[number]): SideResult & { variant: string } {
  const peer = fileURLToPath(new URL("./peers/torch_model.py", import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, PEER_TORCH_THREADS: String(v.torch) };
  if (v.openblasOne) env.OPENBLAS_NUM_THREADS = "1"; else delete env.OPENBLAS_NUM_THREADS;
  const r = runChild("/usr/bin/python3", [peer, "bench", "--config", JSON.stringify(c.config), "--batch", String(c.batch), "--seq", String(c.seq), "--steps", String(steps)], env);
  return { ...r, variant: v.label };
}

export interface Figure { bench: string; figure: string; unit: string; value: number; peer: string; peer_value: number; ratio: number }

export async function runModelBench(opts: { steps?: number; only?: string; profile?: boolean } = {}): Promise<Figure[]> {
  ensureTorch();
  const steps = opts.steps ?? 3, figures: Figure[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const c of MODEL_CASES.filter(c => !opts.only || c.id === opts.only)) {
    const ours = runChild(process.execPath, ["--import", "tsx", self, "--worker", c.id, "--steps", String(steps), ...(opts.profile ? ["--profile"] : [])], process.env);
    const peers = PEER_VARIANTS.map(v => runPeer(c, steps, v));
    const best = (k: "train_tokens_per_s" | "forward_tokens_per_s") => peers.reduce((a, b) => (b[k] > a[k] ? b : a));
    const peerTrain = best("train_tokens_per_s"), peerFwd = best("forward_tokens_per_s");
    const name = `(${c.id}) ${c.label}`, peer = "pytorch 1.13 (best of 3 thread settings)";
    figures.push(
      { bench: "engine-model", figure: `train step ${name}`, unit: "tokens/s", value: ours.train_tokens_per_s, peer, peer_value: peerTrain.train_tokens_per_s, ratio: ours.train_tokens_per_s / peerTrain.train_tokens_per_s },
      { bench: "engine-model", figure: `forward ${name}`, unit: "tokens/s", value: ours.forward_tokens_per_s, peer, peer_value: peerFwd.forward_tokens_per_s, ratio: ours.forward_tokens_per_s / peerFwd.forward_tokens_per_s },
      // lower is better for memory, so the ratio is peer / ours
      { bench: "engine-model", figure: `peak RSS ${name}`, unit: "MB", value: ours.peak_rss_mb, peer, peer_value: peerTrain.peak_rss_mb, ratio: peerTrain.peak_rss_mb / ours.peak_rss_mb },
    );
    process.stderr.write(`engine-model (${c.id}): Move37 backend ${ours.backend} × ${ours.threads} threads; peer best: train with ${peerTrain.variant}, forward with ${peerFwd.variant}\n`);
  }
  return figures;
}

function printFigures(figures: Figure[]): void {
  const rows = figures.map(f => [f.figure, f.unit, f.value.toFixed(1), f.peer_value.toFixed(1), f.ratio.toFixed(2)]);
  const head = ["figure", "unit", "move37", "pytorch", "ratio"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
  for (const r of [head, ...rows]) console.log(r.map((x, i) => i === 0 ? x.padEnd(w[i]) : x.padStart(w[i])).join("  "));
  for (const f of figures) console.log(JSON.stringify(f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const steps = Number(arg("--steps") ?? 3), worker = arg("--worker");
  if (worker) {
    const c = MODEL_CASES.find(c => c.id === worker)!;
    console.log(JSON.stringify(measureMove37(c, steps, process.argv.includes("--profile"))));
  } else {
    printFigures(await runModelBench({ steps, only: arg("--only"), profile: process.argv.includes("--profile") }));
  }
}
