// JavaScript sandbox: QuickJS compiled to WebAssembly (quickjs-emscripten) in a worker thread.
// The guest has no `process`, `require`, filesystem or network: only the ECMAScript built-ins.
// Each run gets a fresh QuickJS runtime with a memory limit, a stack limit and a deadline checked by
// the interrupt handler; a run that overstays its whole budget (stuck in one native call) has its
// worker terminated, and a new worker is built for the next run.
import { Worker } from "node:worker_threads";

export interface JsLimits {
  /** Deadline for the program and for each test (ms). Default 2000. */
  timeoutMs?: number;
  /** Heap limit (bytes). Default 64 MiB. */
  memoryBytes?: number;
}

let worker: Worker | undefined;
let nextId = 0;
let queue: Promise<unknown> = Promise.resolve();

function getWorker(): Worker {
  if (!worker) {
    worker = new Worker(new URL("./quickjs-worker.mjs", import.meta.url), { execArgv: [] });
    worker.unref();
    worker.on("error", () => { worker = undefined; });
  }
  return worker;
}

function runOnce(program: string, tests: string[], timeoutMs: number, memoryBytes: number): Promise<number> {
  return new Promise(resolve => {
    const fresh = worker === undefined;
    const w = getWorker();
    const id = nextId++;
    // + the worker's start-up and WebAssembly compile when it is new, else a margin for messaging
    const budget = timeoutMs * (tests.length + 1) + (fresh ? 5000 : 1000);
    const finish = (passed: number) => { clearTimeout(timer); w.off("message", onMessage); w.off("exit", onExit); resolve(passed); };
    const onMessage = (m: { id: number; passed: number }) => { if (m.id === id) finish(m.passed); };
    const onExit = () => { if (worker === w) worker = undefined; finish(0); };
    const timer = setTimeout(() => { if (worker === w) worker = undefined; void w.terminate(); finish(0); }, budget);
    w.on("message", onMessage);
    w.on("exit", onExit);
    w.postMessage({ id, program, tests, timeoutMs, memoryBytes });
  });
}

/** Fraction of test snippets (each throws on failure) that pass after running the program. */
export function runJavaScriptTests(program: string, tests: string[], limits: JsLimits = {}): Promise<number> {
  if (tests.length === 0) return Promise.resolve(0);
  const run = queue.then(() => runOnce(program, tests, limits.timeoutMs ?? 2000, limits.memoryBytes ?? 64 * 2 ** 20));
  queue = run.catch(() => 0);
  return run.then(passed => passed / tests.length, () => 0);
}
