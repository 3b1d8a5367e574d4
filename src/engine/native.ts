/**
 * The native backend: C kernels (native/, built by scripts/build-native.mjs into build/Release/move37.node)
 * called through N-API on Float32Array buffers, threaded by a persistent pool and SIMD-vectorised.
 * Semantics are those documented on `Backend` in ./backend.ts; the C glue checks every buffer's type and length.
 */
import { createRequire } from "node:module";
import type { Backend, Buf } from "./backend.js";
import { referenceBackend } from "./reference.js";

/** A Backend kernel's signature with every float buffer narrowed to Float32Array (what the C glue accepts). */
type Float32Kernel<T> = T extends (...args: infer A) => infer R
  ? (...args: { [I in keyof A]: A[I] extends Buf ? Float32Array : A[I] extends Buf | null ? Float32Array | null : A[I] }) => R
  : never;
type Kernel = Exclude<keyof Backend, "name" | "threads">;

/** What build/Release/move37.node exports (see native/napi.c): every kernel, plus pool and machine queries. */
export type Addon = { [K in Kernel]: Float32Kernel<Backend[K]> } & {
  /** True when attention takes segment ids (builds before it ignore the argument). */
  segmentAttention?: boolean;
  /** True when attention takes a sliding window, a score scale and a soft-cap (builds before it ignore them). */
  windowAttention?: boolean;
  /** True when attention takes `causal` (builds before it ignore the argument and stay causal). */
  bidirectionalAttention?: boolean;
  peakGflops(seconds: number): number;
  threads(): number;
  setThreads(n: number): number;
  simd(): "avx512" | "avx2" | "scalar";
  /** Which matmulBf16 path runs ("default": dpbf16 when the CPU has it unless MOVE37_BF16_PATH=widen); returns it. */
  bf16Path?(want?: "widen" | "dpbf16" | "default"): "widen" | "dpbf16";
};

/** A kernel of the native backend got a Float64Array (or another non-float32 buffer). */
export class NativeDtypeError extends Error {
  constructor(op: string) {
    super(`native backend ${op}: buffers must be Float32Array; use the reference backend (getBackend("reference")) for float64, e.g. finite-difference checks`);
    this.name = "NativeDtypeError";
  }
}

/** The loaded addon was built before segment-masked attention and would silently ignore the segments. */
export class NativeAddonOutdatedError extends Error {
  constructor(feature: string) {
    super(`the native addon was built before ${feature} was added: rebuild it with \`node scripts/build-native.mjs\` (or use --backend reference)`);
    this.name = "NativeAddonOutdatedError";
  }
}

let cached: { addon: Addon | null; error: string | null } | null = null;

/**
 * Loads the addon once; returns null (and remembers why) when it is not built or fails to load.
 * MOVE37_NATIVE_ADDON may name another build of it (e.g. an AVX2 or scalar build, to test the fallbacks).
 */
export function loadAddon(): Addon | null {
  if (!cached) {
    try {
      const addon = createRequire(import.meta.url)(process.env.MOVE37_NATIVE_ADDON || "../../build/Release/move37.node") as Addon;
      // a build from before a kernel was added (sources pulled, addon not rebuilt) would fail at the first call of it
      const missing = Object.keys(referenceBackend).filter(k => k !== "sampleRows" && typeof referenceBackend[k as keyof Backend] === "function" && typeof addon[k as Kernel] !== "function");
      cached = missing.length === 0 ? { addon, error: null }
        : { addon: null, error: `the addon was built before ${missing.join(", ")} (rebuild it with \`node scripts/build-native.mjs\`)` };
    } catch (e) {
      cached = { addon: null, error: (e as Error).message.split("\n")[0] };
    }
  }
  return cached.addon;
}

/** Why the addon did not load (null when it did). */
export function addonError(): string | null {
  loadAddon();
  return cached!.error;
}

function f32(op: string, x: Buf): Float32Array {
  if (!(x instanceof Float32Array)) throw new NativeDtypeError(op);
  return x;
}

function f32OrNull(op: string, x: Buf | null): Float32Array | null {
  return x === null ? null : f32(op, x);
}

export class NativeBackend implements Backend {
  readonly name = "native" as const;
  constructor(private readonly addon: Addon) {}

  get threads(): number { return this.addon.threads(); }
  /** Resize the kernel thread pool (n ≤ 0: back to MOVE37_THREADS or the available cores). Returns the new size. */
  setThreads(n: number): number { return this.addon.setThreads(n); }
  /** Sustained FP32 GFLOP/s of a register-only FMA loop on every pool thread, timed for about `seconds`. */
  peakGflops(seconds = 0.5): number { return this.addon.peakGflops(seconds); }

  matmul(C: Buf, A: Buf, B: Buf, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    this.addon.matmul(f32("matmul", C), f32("matmul", A), f32("matmul", B), M, N, K, transA, transB, accumulate);
  }

  matmulBf16(C: Buf, A: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void {
    if (!this.addon.matmulBf16) throw new NativeAddonOutdatedError("the BF16-weight matmul");
    this.addon.matmulBf16(f32("matmulBf16", C), f32("matmulBf16", A), W, M, N, K, accumulate);
  }
  matmulBf16NN(X: Buf, Y: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void {
    if (!this.addon.matmulBf16NN) throw new NativeAddonOutdatedError("the BF16-weight backward matmul");
    this.addon.matmulBf16NN(f32("matmulBf16NN", X), f32("matmulBf16NN", Y), W, M, N, K, accumulate);
  }
  /**
   * The matmulBf16 path: "dpbf16" (AVX512-BF16 dot products, A rounded to BF16) or "widen" (W widened to F32).
   * With an argument, sets it first ("dpbf16" falls back to "widen" on a CPU without AVX512-BF16).
   */
  bf16Path(want?: "widen" | "dpbf16" | "default"): "widen" | "dpbf16" {
    if (!this.addon.bf16Path) throw new NativeAddonOutdatedError("the BF16-weight matmul");
    return want === undefined ? this.addon.bf16Path() : this.addon.bf16Path(want);
  }

  addBias(y: Buf, b: Buf, R: number, N: number): void {
    this.addon.addBias(f32("addBias", y), f32("addBias", b), R, N);
  }
  biasBackward(db: Buf, dy: Buf, R: number, N: number): void {
    this.addon.biasBackward(f32("biasBackward", db), f32("biasBackward", dy), R, N);
  }
  add(y: Buf, a: Buf, b: Buf, N: number): void {
    this.addon.add(f32("add", y), f32("add", a), f32("add", b), N);
  }
  scale(x: Buf, alpha: number, N: number): void {
    this.addon.scale(f32("scale", x), alpha, N);
  }
  sumSquares(x: Buf, N: number): number {
    return this.addon.sumSquares(f32("sumSquares", x), N);
  }

  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, R: number, N: number, eps: number): void {
    const op = "rmsnorm";
    this.addon.rmsnorm(f32(op, y), f32(op, rstd), f32(op, x), f32(op, w), R, N, eps);
  }
  rmsnormBackward(dx: Buf, dw: Buf, dy: Buf, x: Buf, w: Buf, rstd: Buf, R: number, N: number): void {
    const op = "rmsnormBackward";
    this.addon.rmsnormBackward(f32(op, dx), f32(op, dw), f32(op, dy), f32(op, x), f32(op, w), f32(op, rstd), R, N);
  }
  layernorm(y: Buf, mean: Buf, rstd: Buf, x: Buf, w: Buf, b: Buf, R: number, N: number, eps: number): void {
    const op = "layernorm";
    this.addon.layernorm(f32(op, y), f32(op, mean), f32(op, rstd), f32(op, x), f32(op, w), f32(op, b), R, N, eps);
  }
  layernormBackward(dx: Buf, dw: Buf, db: Buf, dy: Buf, x: Buf, w: Buf, mean: Buf, rstd: Buf, R: number, N: number): void {
    const op = "layernormBackward";
    this.addon.layernormBackward(f32(op, dx), f32(op, dw), f32(op, db), f32(op, dy), f32(op, x), f32(op, w), f32(op, mean), f32(op, rstd), R, N);
  }

  rope(x: Buf, pos: Int32Array, cos: Buf, sin: Buf, R: number, heads: number, hd: number, inverse: boolean): void {
    this.addon.rope(f32("rope", x), pos, f32("rope", cos), f32("rope", sin), R, heads, hd, inverse);
  }

  attention(out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number, causal?: boolean): void {
    const op = "attention";
    this.windowed(window, scale, hd, softcap);
    this.addon.attention(f32(op, out), f32(op, lse), f32(op, q), f32(op, k), f32(op, v), keyMask, B, T, S, Smax, nh, nkv, hd, this.segments(segments), window, scale, softcap, this.causal(causal));
  }
  attentionKvBf16(out: Buf, lse: Buf, q: Buf, k: Uint16Array, v: Uint16Array, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number): void {
    const op = "attentionKvBf16";
    if (!this.addon.attentionKvBf16) throw new NativeAddonOutdatedError("the BF16 KV cache's attention");
    this.windowed(window, scale, hd, softcap);
    this.addon.attentionKvBf16(f32(op, out), f32(op, lse), f32(op, q), k, v, keyMask, B, T, S, Smax, nh, nkv, hd, this.segments(segments), window, scale, softcap);
  }
  attentionBackward(dq: Buf, dk: Buf, dv: Buf, dout: Buf, out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number, causal?: boolean): void {
    const op = "attentionBackward";
    this.windowed(window, scale, hd, softcap);
    this.addon.attentionBackward(f32(op, dq), f32(op, dk), f32(op, dv), f32(op, dout), f32(op, out), f32(op, lse),
      f32(op, q), f32(op, k), f32(op, v), keyMask, B, T, S, Smax, nh, nkv, hd, this.segments(segments), window, scale, softcap, this.causal(causal));
  }
  /** Bidirectional attention (causal = false), refused (not silently made causal) by a build that predates it. */
  private causal(causal: boolean | undefined): boolean | undefined {
    if (causal === false && !this.addon.bidirectionalAttention) throw new NativeAddonOutdatedError("bidirectional attention (causal = false)");
    return causal;
  }
  /** A window, a non-default scale or a soft-cap is refused (not ignored) by a build that predates them. */
  private windowed(window: number | undefined, scale: number | undefined, hd: number, softcap: number | undefined): void {
    if (this.addon.windowAttention) return;
    if ((window ?? 0) > 0 || (softcap ?? 0) > 0 || (scale !== undefined && scale !== 1 / Math.sqrt(hd))) {
      throw new NativeAddonOutdatedError("sliding-window, scaled and soft-capped attention (Gemma 3)");
    }
  }
  /** Segment ids for the addon, refused (not ignored) by a build that predates them. */
  private segments(segments: Int32Array | null | undefined): Int32Array | null {
    if (!segments) return null;
    if (!this.addon.segmentAttention) throw new NativeAddonOutdatedError("segment-masked attention (packed sequences)");
    return segments;
  }

  swiglu(h: Buf, gate: Buf, up: Buf, N: number): void {
    this.addon.swiglu(f32("swiglu", h), f32("swiglu", gate), f32("swiglu", up), N);
  }
  swigluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void {
    const op = "swigluBackward";
    this.addon.swigluBackward(f32(op, dgate), f32(op, dup), f32(op, dh), f32(op, gate), f32(op, up), N);
  }
  relu(y: Buf, x: Buf, N: number): void {
    this.addon.relu(f32("relu", y), f32("relu", x), N);
  }
  reluMask(dy: Buf, y: Buf, N: number): void {
    this.addon.reluMask(f32("reluMask", dy), f32("reluMask", y), N);
  }
  gelu(y: Buf, x: Buf, N: number): void {
    this.addon.gelu(f32("gelu", y), f32("gelu", x), N);
  }
  geluBackward(dx: Buf, dy: Buf, x: Buf, N: number): void {
    this.addon.geluBackward(f32("geluBackward", dx), f32("geluBackward", dy), f32("geluBackward", x), N);
  }

  geglu(h: Buf, gate: Buf, up: Buf, N: number): void {
    if (!this.addon.geglu) throw new NativeAddonOutdatedError("the GeGLU kernel (Gemma 3)");
    this.addon.geglu(f32("geglu", h), f32("geglu", gate), f32("geglu", up), N);
  }
  gegluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void {
    const op = "gegluBackward";
    if (!this.addon.gegluBackward) throw new NativeAddonOutdatedError("the GeGLU kernel (Gemma 3)");
    this.addon.gegluBackward(f32(op, dgate), f32(op, dup), f32(op, dh), f32(op, gate), f32(op, up), N);
  }

  im2col3x3(cols: Buf, act: Buf, B: number, rows: number, width: number, C: number, sb: number, sc: number, sch: number): void {
    this.addon.im2col3x3(f32("im2col3x3", cols), f32("im2col3x3", act), B, rows, width, C, sb, sc, sch);
  }
  embedding(out: Buf, table: Buf, ids: Int32Array, R: number, H: number): void {
    this.addon.embedding(f32("embedding", out), f32("embedding", table), ids, R, H);
  }
  embeddingBackward(dtable: Buf, dout: Buf, ids: Int32Array, R: number, H: number): void {
    this.addon.embeddingBackward(f32("embeddingBackward", dtable), f32("embeddingBackward", dout), ids, R, H);
  }

  logSoftmaxGather(logp: Buf, entropy: Buf, lse: Buf, logits: Buf, targets: Int32Array, R: number, V: number, temperature: number): void {
    const op = "logSoftmaxGather";
    this.addon.logSoftmaxGather(f32(op, logp), f32(op, entropy), f32(op, lse), f32(op, logits), targets, R, V, temperature);
  }
  sampleRows(tokens: Int32Array, logprobs: Buf, logits: Buf, temps: Buf, u: Float64Array, R: number, V: number, Vs: number,
    topK: Int32Array | null, topP: Buf | null, minP: Buf | null): void {
    const op = "sampleRows";
    if (!this.addon.sampleRows) throw new NativeAddonOutdatedError("the sampler's native pass (sampleRows)");
    // u stays float64 (the draws' full precision); the addon's type maps every float buffer to Float32Array
    this.addon.sampleRows(tokens, f32(op, logprobs), f32(op, logits), f32(op, temps), u as unknown as Float32Array, R, V, Vs,
      topK, f32OrNull(op, topP), f32OrNull(op, minP));
  }
  logSoftmaxGatherBackward(logits: Buf, lse: Buf, targets: Int32Array, dlogp: Buf | null, dentropy: Buf | null, R: number, V: number, temperature: number): void {
    const op = "logSoftmaxGatherBackward";
    this.addon.logSoftmaxGatherBackward(f32(op, logits), f32(op, lse), targets, f32OrNull(op, dlogp), f32OrNull(op, dentropy), R, V, temperature);
  }

  adamw(p: Buf, g: Buf, m: Buf, v: Buf, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void {
    const op = "adamw";
    this.addon.adamw(f32(op, p), f32(op, g), f32(op, m), f32(op, v), N, lr, beta1, beta2, eps, weightDecay, t);
  }
}
