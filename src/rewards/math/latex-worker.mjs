// Worker thread that parses LaTeX with @cortex-js/compute-engine and hands back MathJSON through
// shared memory. It exists so a pathological input (the parser is exponential on some ambiguous
// strings) can be abandoned after a deadline: the caller waits with Atomics.wait and terminates the
// worker on timeout. Plain .mjs so it starts without a TypeScript loader.
import { parentPort, workerData } from "node:worker_threads";
import { ComputeEngine } from "@cortex-js/compute-engine";

// the engine logs canonicalisation failures of junk input; a verifier's junk input is routine
console.error = () => {};
console.warn = () => {};
console.log = () => {};
const ce = new ComputeEngine();
const ctrl = new Int32Array(workerData.ctrl);
const bytes = new Uint8Array(workerData.data);
const encoder = new TextEncoder();

function reply(id, text) {
  const encoded = encoder.encode(text);
  const fits = encoded.length <= bytes.length;
  if (fits) bytes.set(encoded);
  ctrl[1] = fits ? encoded.length : -1;
  ctrl[2] = id;
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}

parentPort.on("message", ({ id, latex }) => {
  let text = "null";
  try {
    text = JSON.stringify(ce.parse(latex).json);
  } catch {
    text = "null";
  }
  reply(id, text);
});
ce.parse("\\frac{x+1}{2} \\le \\sqrt{3}").json; // first parse loads the dictionaries: not charged to a request
reply(-1, "ready");
