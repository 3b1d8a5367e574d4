// Synchronous LaTeX → MathJSON with a hard deadline: parsing runs in a worker thread
// (latex-worker.mjs) while this thread blocks on Atomics.wait; on timeout the worker is terminated
// and rebuilt for the next call. Cheap pre-checks reject inputs known to be slow (unbalanced
// brackets, deep nesting, many | bars) before any parsing, and a small cache serves repeats.
import { Worker } from "node:worker_threads";
import type { MathJson } from "./evaluate.js";

/** Longest one parse may take (ms) once the worker is up. */
export const PARSE_TIMEOUT_MS = 1000;
/** Longest wait for the worker to start (loading the compute engine). */
const START_TIMEOUT_MS = 60_000;
const MAX_CHARS = 400;
const MAX_DEPTH = 8;
const MAX_BARS = 6;
const CACHE_SIZE = 4096;

interface Channel { worker: Worker; ctrl: Int32Array; data: Uint8Array; ready: boolean }
let channel: Channel | undefined;
let nextId = 0;
let warned = false;
const cache = new Map<string, MathJson | undefined>();
const decoder = new TextDecoder();

function open(): Channel {
  const ctrlBuf = new SharedArrayBuffer(12), dataBuf = new SharedArrayBuffer(1 << 20);
  const worker = new Worker(new URL("./latex-worker.mjs", import.meta.url), { workerData: { ctrl: ctrlBuf, data: dataBuf }, execArgv: [] });
  worker.unref();
  worker.on("error", () => { if (channel?.worker === worker) channel = undefined; });
  return { worker, ctrl: new Int32Array(ctrlBuf), data: new Uint8Array(dataBuf), ready: false };
}

function wait(c: Channel, id: number, timeoutMs: number): string | undefined {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    Atomics.wait(c.ctrl, 0, 0, left);
    if (Atomics.load(c.ctrl, 0) === 1 && c.ctrl[2] === id) {
      const len = c.ctrl[1];
      return len < 0 ? undefined : decoder.decode(c.data.slice(0, len));
    }
    if (Atomics.load(c.ctrl, 0) === 1) Atomics.store(c.ctrl, 0, 0); // a stale reply: keep waiting
  }
}

function abandon(c: Channel): void {
  if (channel === c) channel = undefined;
  void c.worker.terminate();
}

/** Brackets balance (any type, \{ \} included) and nest at most MAX_DEPTH deep. */
export function shapeOk(s: string): boolean {
  let depth = 0, bars = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "\\") { i++; if (s[i] === "{") depth++; else if (s[i] === "}") depth--; else if (s[i] === "|") bars++; }
    else if (ch === "(" || ch === "[" || ch === "{") depth++;
    else if (ch === ")" || ch === "]" || ch === "}") depth--;
    else if (ch === "|") bars++;
    if (depth < 0 || depth > MAX_DEPTH) return false;
  }
  return depth === 0 && bars <= MAX_BARS;
}

/** Starts the parser worker and waits until it is ready (so start-up is not charged to a deadline). */
export function warmLatexParser(): boolean {
  const c = (channel ??= open());
  if (c.ready) return true;
  if (wait(c, -1, START_TIMEOUT_MS) !== "ready") {
    abandon(c);
    if (!warned) process.emitWarning("the LaTeX parser worker (src/rewards/math/latex-worker.mjs) did not start: math answers cannot be parsed and math rewards return null", "Move37RewardWarning");
    warned = true;
    return false;
  }
  c.ready = true;
  return true;
}

/**
 * MathJSON of a LaTeX string, or undefined when it is rejected, fails or overruns the deadline.
 * With `waitForStart` false (inside a time-bounded verification) a worker that is not up yet (it was
 * just replaced after a timeout) is started but not waited for: the parse fails instead.
 */
export function parseLatexJson(latex: string, waitForStart = true): MathJson | undefined {
  if (latex.length > MAX_CHARS || latex.trim() === "" || !shapeOk(latex)) return undefined;
  if (cache.has(latex)) return cache.get(latex);
  if (!waitForStart && !channel?.ready) { channel ??= open(); return undefined; }
  if (!warmLatexParser()) return undefined;
  const c = channel!;
  const id = nextId++;
  Atomics.store(c.ctrl, 0, 0);
  c.worker.postMessage({ id, latex });
  const text = wait(c, id, PARSE_TIMEOUT_MS);
  Atomics.store(c.ctrl, 0, 0);
  if (text === undefined) { abandon(c); return undefined; }
  const json = JSON.parse(text) as MathJson | null;
  const value = json === null ? undefined : json;
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(latex, value);
  return value;
}
