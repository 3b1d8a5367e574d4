/**
 * The reward server under load: `move37 reward-server` in its own process, a closed loop of 16 clients
 * in this one sending OpenRLHF requests (4 samples each, r1_math + 0.5·format) over loopback.
 * Figures: requests/s served, p50 and p99 latency. Peer: the same batches scored in-process by
 * scoreWeighted, no HTTP (its rate, and its per-batch time quantiles); ratio = served / in-process,
 * so it is the share of the verifiers' own speed that survives HTTP and JSON (< 1 by construction).
 *
 *   npm run bench -- reward-server            (requests default 2000: `npm run bench -- reward-server 500`)
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { scoreWeighted } from "../src/rewards/registry.js";
import { driveLoad, loadBatches, quantile } from "../test/reward-server/load.js";
import { figure, printFigures } from "./common.js";

const REQUESTS = Number(process.argv[2] ?? 2000), CLIENTS = 16, SAMPLES = 4;
const REWARDS = [{ name: "r1_math", weight: 1 }, { name: "format", weight: 0.5 }];
const batches = loadBatches(40, SAMPLES);

// peer: the same scoring in this process, one batch after another
const peerMs: number[] = [];
const t0 = performance.now();
for (let i = 0; i < REQUESTS; i++) {
  const b = batches[i % batches.length], t = performance.now();
  await scoreWeighted(REWARDS, b.responses, b.examples);
  peerMs.push(performance.now() - t);
}
const peerRate = REQUESTS / ((performance.now() - t0) / 1000);

const cli = fileURLToPath(new URL("../bin/move37.js", import.meta.url));
const server = spawn(process.execPath, [cli, "reward-server", "--port", "0", "--rewards", "r1_math,format:0.5"], { stdio: ["ignore", "pipe", "inherit"] });
const url = await new Promise<string>((resolve, reject) => {
  let text = "";
  server.stdout.on("data", d => { text += d; const m = /(http:\/\/\S+)\/get_reward/.exec(text); if (m) resolve(m[1]); });
  server.on("exit", code => reject(new Error(`reward server exited (${code}) before listening`)));
});
try {
  const r = await driveLoad(url + "/get_reward", batches, REQUESTS, CLIENTS);
  const ok = r.statuses.get(200) ?? 0;
  if (ok !== REQUESTS) throw new Error(`only ${ok}/${REQUESTS} requests answered 200: ${JSON.stringify([...r.statuses])}`);
  const peer = `in-process scoreWeighted (no HTTP)`;
  printFigures([
    figure({ bench: "reward-server", figure: `requests/s (${SAMPLES} samples, ${CLIENTS} clients)`, unit: "req/s", value: REQUESTS / r.seconds, peer, peer_value: peerRate }),
    figure({ bench: "reward-server", figure: "p50 latency", unit: "ms", value: quantile(r.latenciesMs, 0.5), peer, peer_value: quantile(peerMs, 0.5) }, true),
    figure({ bench: "reward-server", figure: "p99 latency", unit: "ms", value: quantile(r.latenciesMs, 0.99), peer, peer_value: quantile(peerMs, 0.99) }, true),
  ], `${REQUESTS} requests, none dropped; latency includes waiting behind the other ${CLIENTS - 1} clients (peer: one batch alone)`);
} finally {
  server.kill("SIGTERM");
}
