/**
 * Shared by the benchmarks: the figure format (one JSON line each, plus a table), and running Python peers
 * with Debian's PyTorch under the thread settings that make them fair on a small machine.
 */
import { spawnSync } from "node:child_process";
import { byteLevelTokenizerJson } from "../src/tokenizer/tokenizer-json.js";

/** One measured figure. ratio > 1 means Move37 is better (value/peer_value, or the inverse when lower is better). */
export interface Figure { bench: string; figure: string; unit: string; value: number; peer: string; peer_value: number; ratio: number }

/** Builds a figure, computing the ratio so that > 1 always favours Move37. */
export function figure(f: Omit<Figure, "ratio">, lowerIsBetter = false): Figure {
  return { ...f, ratio: lowerIsBetter ? f.peer_value / f.value : f.value / f.peer_value };
}

/** Prints one figure as a JSON line (the machine-readable record). */
export function printFigure(f: Figure): void {
  console.log(JSON.stringify(f));
}

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Prints an aligned table of figures, then one JSON line per figure. */
export function printFigures(figures: Figure[], note?: string): void {
  const head = ["bench", "figure", "unit", "move37", "peer", "peer value", "ratio"];
  const rows = figures.map(f => [f.bench, f.figure, f.unit, fmt(f.value), f.peer, f.peer_value == null ? "-" : fmt(f.peer_value), f.ratio == null ? "-" : f.ratio.toFixed(2)]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
  const numeric = new Set([3, 5, 6]);
  for (const r of [head, ...rows]) console.log(r.map((x, i) => (numeric.has(i) ? x.padStart(w[i]) : x.padEnd(w[i]))).join("  "));
  if (note) console.log(note);
  for (const f of figures) printFigure(f);
}

/** Kernels whose arguments 3–5 are M, N, K of a product: their FLOPs (2·M·N·K) are counted. */
const PRODUCTS = new Set(["matmul", "matmulBf16", "matmulBf16NN"]);

/** Milliseconds and calls of one backend kernel while a KernelTimer was on (flops: products only). */
export interface KernelTime { ms: number; calls: number; flops: number }

/**
 * Times every kernel of a backend (each of its methods, its own or its class's, wrapped in place): `on()` starts counting, `off()` stops;
 * `times()` gives each kernel's milliseconds, calls and (for matrix products) FLOPs. What the kernels do not cover is
 * JavaScript (sampling's bookkeeping, buffers, the KV cache's copies in JS): the caller's wall time minus the sum.
 */
export function kernelTimer(be: object): { on(): void; off(): void; times(): Record<string, KernelTime>; reset(): void } {
  let timing = false, depth = 0;
  const times: Record<string, KernelTime> = {};
  const target = be as Record<string, unknown>;
  const names = new Set([...Object.getOwnPropertyNames(be), ...Object.getOwnPropertyNames(Object.getPrototypeOf(be))]);
  for (const name of names) {
    const fn = target[name];
    if (name === "constructor" || typeof fn !== "function") continue;
    const bound = (fn as (...a: unknown[]) => unknown).bind(be);
    target[name] = (...a: unknown[]) => {
      if (!timing || depth > 0) return bound(...a); // a kernel's own helpers (this.segments(…)) count as the kernel's time
      const t = performance.now();
      depth++;
      let r: unknown;
      try { r = bound(...a); } finally { depth--; }
      const k = (times[name] ??= { ms: 0, calls: 0, flops: 0 });
      k.ms += performance.now() - t; k.calls++;
      if (PRODUCTS.has(name)) k.flops += 2 * (a[3] as number) * (a[4] as number) * (a[5] as number);
      return r;
    };
  }
  return {
    on: () => { timing = true; }, off: () => { timing = false; }, times: () => times,
    reset: () => { for (const k of Object.keys(times)) delete times[k]; },
  };
}

export const PYTHON = "/usr/bin/python3";

/** A peer process failed or printed no JSON result. */
export class PeerError extends Error {
  constructor(what: string, detail: string) {
    super(`benchmark peer ${what} failed: ${detail.trim().slice(-1500)}`);
    this.name = "PeerError";
  }
}

/**
 * Makes `import torch` work for /usr/bin/python3 with OpenBLAS behind it, installing Debian's python3-torch and
 * libopenblas0-pthread if missing. Without OpenBLAS, Debian's torch falls back to the reference BLAS (~1 GFLOP/s),
 * which would make every peer figure meaningless.
 */
export function ensureTorch(): void {
  const ready = () => spawnSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" }).status === 0 &&
    spawnSync("dpkg", ["-s", "libopenblas0-pthread"], { stdio: "ignore" }).status === 0;
  if (ready()) return;
  console.error("bench: installing python3-torch and libopenblas0-pthread with apt-get (one time)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  spawnSync("apt-get", ["update", "-qq"], { stdio: ["ignore", "ignore", "inherit"], env });
  const r = spawnSync("apt-get", ["install", "-y", "-qq", "python3-torch", "libopenblas0-pthread"], { stdio: ["ignore", "ignore", "inherit"], env });
  if (r.status !== 0 || !ready())
    throw new PeerError("setup", "could not install python3-torch and libopenblas0-pthread (run `apt-get install -y python3-torch libopenblas0-pthread` as root)");
}

/** Runs a command and parses the last line of its stdout as JSON. */
export function runJson<T>(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): T {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 1 << 26 });
  const line = r.stdout?.trim().split("\n").at(-1);
  if (r.status !== 0 || !line) throw new PeerError(`${cmd} ${args.join(" ")}`, `status ${r.status}: ${r.stderr ?? ""}`);
  return JSON.parse(line) as T;
}

/** The two thread settings a fair PyTorch peer is tried with on a small machine (OpenMP and OpenBLAS threads oversubscribe). */
export const PEER_THREAD_VARIANTS = [
  { name: "OPENBLAS_NUM_THREADS=1", env: { OPENBLAS_NUM_THREADS: "1" } as Record<string, string> },
  { name: "default", env: {} as Record<string, string> },
];

/** Runs a Python peer script under each thread variant (or the ones given); returns every result with the variant's name. */
export function runPythonPeer<T>(script: string, args: string[], variants = PEER_THREAD_VARIANTS): { variant: string; result: T }[] {
  return variants.map(v => {
    const env = { ...process.env, ...v.env };
    if (!("OPENBLAS_NUM_THREADS" in v.env)) delete env.OPENBLAS_NUM_THREADS;
    return { variant: v.name, result: runJson<T>(PYTHON, [script, ...args], env) };
  });
}

/** Best-of timing: runs fn once to warm up, then repeats until `seconds` have passed (at least `minReps` times) and returns the fastest run in seconds. Best-of filters out time stolen by other processes on a shared machine. */
export function bestTime(fn: () => void, seconds = 1, minReps = 3): number {
  fn();
  let best = Infinity, reps = 0;
  const start = performance.now();
  while (reps < minReps || (performance.now() - start) / 1000 < seconds) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
    reps++;
  }
  return best;
}

/**
 * A byte-level BPE with exactly `vocab` ids: all 65,536 byte pairs, then (pair, byte) triples, then the two special
 * tokens. Prompts are random ids, so the merges only need to be valid for llama.cpp to load the GGUF.
 */
export function syntheticTokenizer(vocab: number) {
  const merges: [number, number][] = [];
  const want = vocab - 256 - 2;
  for (let a = 0; a < 256 && merges.length < want; a++) for (let b = 0; b < 256 && merges.length < want; b++) merges.push([a, b]);
  for (let p = 256; merges.length < want; p++) for (let b = 0; b < 256 && merges.length < want; b++) merges.push([p, b]);
  return byteLevelTokenizerJson(merges, ["<|endoftext|>", "<|im_end|>"]);
}
