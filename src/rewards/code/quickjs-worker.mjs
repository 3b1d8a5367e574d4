// Worker thread that evaluates untrusted JavaScript in QuickJS (WebAssembly). It lives in a worker
// so the parent can terminate it when a single native call (e.g. Array.prototype.fill on a huge
// array) runs past the deadline, which QuickJS's interrupt handler cannot stop. Plain .mjs so it
// starts without a TypeScript loader.
import { parentPort } from "node:worker_threads";
import { newQuickJSWASMModule, shouldInterruptAfterDeadline } from "quickjs-emscripten";

let qjs = await newQuickJSWASMModule();

function runTests({ program, tests, timeoutMs, memoryBytes }) {
  const runtime = qjs.newRuntime();
  try {
    runtime.setMemoryLimit(memoryBytes);
    runtime.setMaxStackSize(1024 * 1024);
    const vm = runtime.newContext();
    const run = code => {
      runtime.setInterruptHandler(shouldInterruptAfterDeadline(Date.now() + timeoutMs));
      const r = vm.evalCode(code, "solution.js");
      if (r.error) { r.error.dispose(); return false; }
      r.value.dispose();
      return true;
    };
    let passed = 0;
    if (run(program)) for (const t of tests) if (run(t)) passed++;
    vm.dispose();
    return passed;
  } finally {
    runtime.dispose();
  }
}

parentPort.on("message", async msg => {
  let passed = 0;
  try {
    passed = runTests(msg);
  } catch {
    // the WebAssembly instance may be corrupt after a failure inside it: rebuild it
    qjs = await newQuickJSWASMModule();
  }
  parentPort.postMessage({ id: msg.id, passed });
});
