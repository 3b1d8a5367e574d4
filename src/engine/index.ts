/**
 * Picking a backend: the native addon when it is built, else the pure-TypeScript reference backend
 * (correct but slow) with one loud warning.
 */
import type { Backend } from "./backend.js";
import { NativeBackend, addonError, loadAddon } from "./native.js";
import { referenceBackend } from "./reference.js";

export type { Backend, Buf } from "./backend.js";
export { NativeBackend, NativeDtypeError, NativeAddonOutdatedError } from "./native.js";
export { referenceBackend } from "./reference.js";

export type BackendKind = "auto" | "native" | "reference";

/** The native backend was requested but build/Release/move37.node is missing or does not load. */
export class NativeUnavailableError extends Error {
  constructor(reason: string) {
    super(`native backend unavailable (${reason}); build it with \`npm rebuild move37\` or \`node scripts/build-native.mjs\`, or use --backend reference`);
    this.name = "NativeUnavailableError";
  }
}

let native: NativeBackend | null = null;
let warned = false;

/** True when the native addon loads. */
export function nativeAvailable(): boolean {
  return loadAddon() !== null;
}

export interface NativeInfo {
  available: boolean;
  /** Kernel threads (MOVE37_THREADS or the available cores); 0 when unavailable. */
  threads: number;
  /** SIMD level the addon was compiled for on this machine; null when unavailable. */
  simd: "avx512" | "avx2" | "scalar" | null;
  /** Why the addon did not load, when it did not. */
  error: string | null;
}

/** What `move37 doctor` reports about the native engine. */
export function nativeInfo(): NativeInfo {
  const addon = loadAddon();
  if (!addon) return { available: false, threads: 0, simd: null, error: addonError() };
  return { available: true, threads: addon.threads(), simd: addon.simd(), error: null };
}

/** The backend for `kind`: "auto" = native if the addon loads, else reference with a one-line warning. */
export function getBackend(kind: BackendKind = "auto"): Backend {
  if (kind === "reference") return referenceBackend;
  const addon = loadAddon();
  if (addon) return (native ??= new NativeBackend(addon));
  if (kind === "native") throw new NativeUnavailableError(addonError() ?? "not built");
  if (!warned) {
    warned = true;
    console.warn(`move37: WARNING native addon not available (${addonError()}); using the slow reference backend. ` +
      "Build it with `npm rebuild move37` or `node scripts/build-native.mjs`.");
  }
  return referenceBackend;
}
