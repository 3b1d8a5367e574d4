/**
 * Engine benchmark: SGEMM GFLOP/s of the native backend on the shapes a transformer runs, against the
 * machine's measured FP32 peak (a register-only FMA loop in the addon) and against torch.mm in the same run;
 * then the model benchmark (bench/engine-model.ts) when it exists.
 *
 *   npx tsx bench/engine.ts [--only sgemm|model] [--case a|b] [--seconds S]
 *   move37 bench engine
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { getBackend, nativeInfo } from "../src/engine/index.js";
import type { NativeBackend } from "../src/engine/native.js";
import { bestTime, ensureTorch, figure, printFigures, runPythonPeer, type Figure } from "./common.js";

/** M×N×K: square, a projection over 2048 tokens, an MLP over 256 tokens, and an 8-token decode step. */
export const SGEMM_SHAPES: [number, number, number][] = [[512, 512, 512], [1024, 1024, 1024], [2048, 768, 768], [256, 896, 4864], [8, 896, 4864]];

const key = ([m, n, k]: [number, number, number]) => `${m}x${n}x${k}`;

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

/** SGEMM figures for B stored [K,N] (transB false) and [N,K] (a Linear layer's weight, transB true). */
export function runSgemmBench(seconds = 1): Figure[] {
  const info = nativeInfo();
  if (!info.available) throw new Error(`native addon not available (${info.error}); build it with \`node scripts/build-native.mjs\``);
  const be = getBackend("native") as NativeBackend;
  // Peak gets the same best-of treatment as the SGEMM timings: short readings beside every shape, the best
  // kept (on a shared machine most readings catch a core busy with something else).
  let peak = 0;
  const samplePeak = () => { for (let i = 0; i < 10; i++) peak = Math.max(peak, be.peakGflops(0.03)); };
  const measured: { name: string; gflops: number; peer: string; peerGflops: number }[] = [];
  ensureTorch();
  const peerScript = fileURLToPath(new URL("./peers/sgemm.py", import.meta.url));
  for (const transB of [false, true]) {
    const shapes = SGEMM_SHAPES.map(key).join(",");
    const peers = runPythonPeer<{ threads: number; gflops: Record<string, number> }>(peerScript,
      ["--shapes", shapes, "--seconds", String(seconds), ...(transB ? ["--transb"] : [])]);
    for (const shape of SGEMM_SHAPES) {
      samplePeak();
      const [M, N, K] = shape;
      const A = rand(M * K), B = rand(K * N), C = new Float32Array(M * N);
      const t = bestTime(() => be.matmul(C, A, B, M, N, K, false, transB, false), seconds);
      const gflops = 2 * M * N * K / t / 1e9;
      const best = peers.reduce((a, b) => (b.result.gflops[key(shape)] > a.result.gflops[key(shape)] ? b : a));
      measured.push({ name: `sgemm ${key(shape)}${transB ? " B^T" : ""}`, gflops,
        peer: `torch.mm 1.13 (${best.variant}, ${best.result.threads} threads)`, peerGflops: best.result.gflops[key(shape)] });
    }
  }
  samplePeak();
  return measured.flatMap(m => [
    figure({ bench: "engine", figure: `${m.name} vs peak`, unit: "GFLOP/s", value: m.gflops, peer: `FP32 peak (FMA loop, ${be.threads} threads)`, peer_value: peak }),
    figure({ bench: "engine", figure: m.name, unit: "GFLOP/s", value: m.gflops, peer: m.peer, peer_value: m.peerGflops }),
  ]);
}

async function main(): Promise<void> {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i > 0 ? process.argv[i + 1] : undefined; };
  const only = arg("--only"), seconds = Number(arg("--seconds") ?? 1), modelCase = arg("--case");
  const info = nativeInfo();
  const note = `native: ${info.simd}, ${info.threads} threads. Measured on a machine shared with other jobs: figures are best-of runs and still contended.`;
  // each part prints as soon as it is done, so a long model run never loses the SGEMM figures
  if (only !== "model") printFigures(runSgemmBench(seconds), note);
  if (only === "sgemm") return;
  if (!existsSync(fileURLToPath(new URL("./engine-model.ts", import.meta.url)))) {
    console.log("note: bench/engine-model.ts not present; model figures skipped");
    return;
  }
  const { runModelBench } = await import("./engine-model.js");
  printFigures(await runModelBench({ only: modelCase }), note);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
