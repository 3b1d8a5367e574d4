/**
 * Decode-step matrix products (issue 18): y = x·Wᵀ for a Linear weight W [N,K] at the few rows a batched decode step
 * multiplies (M ∈ {1, 8, 32, 64} by default; `--m` takes training's many rows too), on Qwen2.5-0.5B's shapes (q/o 896×896, gate/up 4864×896, down
 * 896×4864, the tied LM head 151936×896; N×K). Move37's F32 matmul and its BF16-weight matmul (native/gemm_bf16.c,
 * the path in use printed) in the same run, against PyTorch 1.13's F.linear in float32 and in bfloat16 (Debian's
 * torch via /usr/bin/python3, best of its two thread settings; bench/peers/decode_gemm.py).
 *
 * Figures, one JSON line each ({"bench","figure","unit","value","peer","peer_value","ratio"}), per M×N×K:
 *   "bf16 vs f32 M×N×K"   GFLOP/s of Move37 BF16 against Move37 F32 (ratio > 1: BF16 faster);
 *   "bf16 M×N×K"          Move37 BF16 against torch BF16;  "f32 M×N×K"  Move37 F32 against torch F32;
 *   "bf16 W stream M×N×K" GB/s of W read (N·K·2 bytes per call; F32: N·K·4) by Move37 BF16 against Move37 F32.
 * `--nn` times the backward's NN product through the same weights instead, x = y·W with y [M,N] (matmulBf16NN against
 * Move37's F32 matmul(x, y, W, M, K, N, false, false); no torch peer): figures "nn bf16 vs f32 M×N×K" and
 * "nn bf16 W stream M×N×K".
 * Times are best-of (--seconds per figure, at least 3 calls); the load average is printed at the start and the end:
 * on a shared machine, ratios within one run are what count.
 *
 *   npm run bench -- decode-gemm [--m 1,8,32,64] [--shapes 896x896,4864x896,896x4864,151936x896] [--seconds 0.5]
 *                                [--no-peer] [--bf16-path default|dpbf16|widen] [--nn]
 */
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getBackend, nativeInfo } from "../src/engine/index.js";
import type { NativeBackend } from "../src/engine/native.js";
import { f32ToBf16 } from "../src/model/io/half.js";
import { bestTime, ensureTorch, figure, printFigures, runPythonPeer, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    m: { type: "string", default: "1,8,32,64" }, shapes: { type: "string", default: "896x896,4864x896,896x4864,151936x896" },
    seconds: { type: "string", default: "0.5" }, "no-peer": { type: "boolean", default: false }, "bf16-path": { type: "string", default: "default" },
    nn: { type: "boolean", default: false },
  },
});

interface Peer { threads: number; torch: string; float32: Record<string, number>; bfloat16: Record<string, number> }

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() - 0.5) * 0.1;
  return a;
}

/** x = y·W through W [N,K] (the activation gradient of a frozen Linear): BF16 against F32, GFLOP/s and W read GB/s */
function nnFigures(be: NativeBackend, W: Float32Array, Wb: Uint16Array, M: number, N: number, K: number, seconds: number): Figure[] {
  const Y = rand(M * N), X = new Float32Array(M * K), k = `${M}x${N}x${K}`, flop = 2 * M * N * K;
  const t32 = bestTime(() => be.matmul(X, Y, W, M, K, N, false, false, false), seconds);
  const t16 = bestTime(() => be.matmulBf16NN(X, Y, Wb, M, N, K, false), seconds);
  return [
    figure({ bench: "decode-gemm", figure: `nn bf16 vs f32 ${k}`, unit: "GFLOP/s", value: flop / t16 / 1e9, peer: `Move37 F32 (${be.threads} threads)`, peer_value: flop / t32 / 1e9 }),
    figure({ bench: "decode-gemm", figure: `nn bf16 W stream ${k}`, unit: "GB/s", value: N * K * 2 / t16 / 1e9, peer: "Move37 F32 W stream", peer_value: N * K * 4 / t32 / 1e9 }),
  ];
}

function main(): void {
  const info = nativeInfo();
  if (!info.available) throw new Error(`native addon not available (${info.error}); build it with \`node scripts/build-native.mjs\``);
  const be = getBackend("native") as NativeBackend;
  const want = args["bf16-path"] as "default" | "dpbf16" | "widen";
  if (!["default", "dpbf16", "widen"].includes(want)) throw new Error(`--bf16-path must be default, dpbf16 or widen, not "${want}"`);
  const path = be.bf16Path(want);
  const Ms = args.m.split(",").map(Number), seconds = Number(args.seconds);
  const shapes = args.shapes.split(",").map(s => s.split("x").map(Number) as [number, number]);
  const load0 = loadavg()[0];
  const key = (M: number, N: number, K: number) => `${M}x${N}x${K}`;

  let peer: { variant: string; result: Peer }[] = [];
  if (!args["no-peer"] && !args.nn) {
    ensureTorch();
    const list = shapes.flatMap(([N, K]) => Ms.map(M => key(M, N, K))).join(",");
    peer = runPythonPeer<Peer>(fileURLToPath(new URL("./peers/decode_gemm.py", import.meta.url)), ["--shapes", list, "--seconds", String(seconds)]);
  }
  const bestPeer = (dtype: "float32" | "bfloat16", k: string) => {
    if (peer.length === 0) return { value: null as unknown as number, name: args.nn ? "none (--nn)" : "none (--no-peer)" };
    const b = peer.reduce((a, c) => (c.result[dtype][k] > a.result[dtype][k] ? c : a));
    return { value: b.result[dtype][k], name: `torch ${b.result.torch} F.linear ${dtype} (${b.variant}, ${b.result.threads} threads)` };
  };

  const figures: Figure[] = [];
  for (const [N, K] of shapes) {
    const W = rand(N * K), Wb = new Uint16Array(N * K);
    f32ToBf16(W, Wb);
    for (const M of Ms) {
      if (args.nn) { figures.push(...nnFigures(be, W, Wb, M, N, K, seconds)); continue; }
      const A = rand(M * K), C = new Float32Array(M * N), k = key(M, N, K), flop = 2 * M * N * K;
      const t32 = bestTime(() => be.matmul(C, A, W, M, N, K, false, true, false), seconds);
      const t16 = bestTime(() => be.matmulBf16(C, A, Wb, M, N, K, false), seconds);
      const g32 = flop / t32 / 1e9, g16 = flop / t16 / 1e9;
      const p16 = bestPeer("bfloat16", k), p32 = bestPeer("float32", k);
      figures.push(
        figure({ bench: "decode-gemm", figure: `bf16 vs f32 ${k}`, unit: "GFLOP/s", value: g16, peer: `Move37 F32 (${be.threads} threads)`, peer_value: g32 }),
        figure({ bench: "decode-gemm", figure: `bf16 ${k}`, unit: "GFLOP/s", value: g16, peer: p16.name, peer_value: p16.value }),
        figure({ bench: "decode-gemm", figure: `f32 ${k}`, unit: "GFLOP/s", value: g32, peer: p32.name, peer_value: p32.value }),
        figure({ bench: "decode-gemm", figure: `bf16 W stream ${k}`, unit: "GB/s", value: N * K * 2 / t16 / 1e9, peer: "Move37 F32 W stream", peer_value: N * K * 4 / t32 / 1e9 }),
      );
    }
  }
  be.bf16Path("default");
  printFigures(figures, `native: ${info.simd}, ${be.threads} threads, BF16 path ${path}. Load average (1 min): ${load0.toFixed(1)} at the start, ` +
    `${loadavg()[0].toFixed(1)} at the end; best-of times on a shared machine: compare ratios within this run.`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
