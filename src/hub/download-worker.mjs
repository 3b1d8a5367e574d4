// Worker thread that runs one downloadSnapshot for a caller blocked on Atomics.wait (see sync.ts), so that model and
// dataset paths resolve synchronously where recipes are read. Registers tsx itself (bin/move37.js registers it in
// the main thread only). Progress goes to fd 2 synchronously (progress.ts), so bars move while the caller waits.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

const { port, ctrl: ctrlBuf, id, env, maxAttempts } = workerData;
const ctrl = new Int32Array(ctrlBuf);
let answered = false;
function answer(message) {
  if (answered) return;
  answered = true;
  port.postMessage(message);
  Atomics.store(ctrl, 0, 1);
  Atomics.notify(ctrl, 0);
}
process.on("exit", () => answer({ error: { name: "HubDownloadError", message: "the download worker stopped without an answer" } }));

try {
  register();
  const { downloadSnapshot } = await import("./download.ts");
  const r = await downloadSnapshot(id, { env, maxAttempts });
  answer({ result: r });
} catch (e) {
  answer({ error: { name: e?.name ?? "Error", message: String(e?.message ?? e) } });
}
