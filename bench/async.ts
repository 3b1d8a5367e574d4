/**
 * Asynchronous GRPO benchmark (issue 23): the default tiny recipe (recipes/r1-zero-tiny.yaml on models/base-tiny)
 * with its rollouts on one `move37 serve` and the trainer beside it, each pinned to its own core (`taskset -c`),
 * synchronous (rollout.max_staleness 0) against max_staleness 1 and 2, each run for the same training wall time
 * (max_minutes). Figures: steps per minute of training time, and held-out accuracy (greedy) after the run, each
 * k > 0 against k = 0; also the share of training time overlapped with generation and the mean staleness.
 * Each variant gets a fresh server and trainer process (MOVE37_THREADS=1 for both); weights go over HTTP.
 *
 *   npm run bench -- async [--minutes 5] [--staleness 0,1,2] [--eval-size 256] [--trainer-core 0] [--server-core 1]
 *                          [--model models/base-tiny] [--recipe recipes/r1-zero-tiny.yaml] [--max-completion-length N]
 *                          [--keep DIR]   (keep each variant's run folder, metrics.jsonl and report.json, under DIR)
 *   npm run bench -- async --minutes 0.2 --eval-size 8 --max-completion-length 32     (a smoke run)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { figure, printFigures, type Figure } from "./common.js";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "5" }, staleness: { type: "string", default: "0,1,2" }, "eval-size": { type: "string", default: "256" },
    "trainer-core": { type: "string", default: "0" }, "server-core": { type: "string", default: "1" },
    model: { type: "string", default: "models/base-tiny" }, recipe: { type: "string", default: "recipes/r1-zero-tiny.yaml" },
    "max-completion-length": { type: "string" }, keep: { type: "string" },
  },
});
const BIN = fileURLToPath(new URL("../bin/move37.js", import.meta.url));
const ks = args.staleness.split(",").map(Number);
if (!existsSync(join(args.model, "config.json"))) throw new Error(`${args.model} holds no model: run \`move37 train recipes/base-tiny.yaml\` first, or pass --model`);
const pinned = spawnSync("taskset", ["--version"]).status === 0;
const pin = (core: string, cmd: string[]) => (pinned ? ["taskset", "-c", core, ...cmd] : cmd);
const env = { ...process.env, MOVE37_THREADS: "1" };

function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const [cmd, ...rest] = pin(args["server-core"], [process.execPath, BIN, "serve", args.model, "--port", "0"]);
  const child = spawn(cmd, rest, { stdio: ["ignore", "pipe", "pipe"], env });
  let out = "", err = "";
  child.stderr!.on("data", d => { err += d; });
  return new Promise((ok, fail) => {
    child.stdout!.on("data", d => { out += d; const m = /at (http:\/\/\S+\/v1)/.exec(out); if (m) ok({ url: m[1], child }); });
    child.once("exit", code => fail(new Error(`move37 serve exited (${code}): ${err}`)));
  });
}

interface Result { k: number; steps: number; trainMinutes: number; accuracy: number; overlap: number; trainingSeconds: number; staleness: number; dropped: number; load: number }

async function variant(k: number, root: string): Promise<Result> {
  const server = await startServer();
  try {
    const recipe = parseYaml(readFileSync(args.recipe, "utf8")) as Record<string, unknown> & { grpo: Record<string, unknown> };
    Object.assign(recipe, {
      model: args.model, max_minutes: Number(args.minutes), eval_every: 0, eval_size: Number(args["eval-size"]), eval_sampled: false, save_steps: 0,
      rollout: { backend: "openai", servers: [server.url], weight_sync: "http", max_staleness: k, max_concurrency: k + 2 },
    });
    recipe.grpo = { ...recipe.grpo, max_steps: 100_000, ...(args["max-completion-length"] ? { max_completion_length: Number(args["max-completion-length"]) } : {}) };
    const file = join(root, `async-k${k}.yaml`);
    writeFileSync(file, stringify(recipe));
    const [cmd, ...rest] = pin(args["trainer-core"], [process.execPath, BIN, "train", file, "--runs-dir", root, "--name", `k${k}`]);
    const r = spawnSync(cmd, rest, { env, encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`the trainer (max_staleness ${k}) failed: ${(r.stderr || r.stdout).slice(-2000)}`);
    const dir = join(root, `k${k}`);
    const rows = readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l) as Record<string, number>).filter(m => m.reward !== undefined);
    const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as { after: { accuracy: number }; train_minutes: number };
    const sum = (key: string) => rows.reduce((a, m) => a + (m[key] ?? 0), 0);
    return {
      k, steps: rows.length, trainMinutes: report.train_minutes, accuracy: report.after.accuracy,
      overlap: sum("time/overlap"), trainingSeconds: sum("time/training"), staleness: rows.length ? sum("off_policy/staleness_mean") / rows.length : 0,
      dropped: sum("off_policy/dropped"), load: loadavg()[0],
    };
  } finally {
    server.child.kill("SIGTERM");
  }
}

const root = args.keep ? (mkdirSync(args.keep, { recursive: true }), args.keep) : mkdtempSync(join(tmpdir(), "move37-bench-async-"));
try {
  const results: Result[] = [];
  for (const k of ks) {
    const r = await variant(k, root);
    console.error(`max_staleness ${k}: ${r.steps} steps in ${r.trainMinutes.toFixed(2)} min of training, held-out accuracy ${(100 * r.accuracy).toFixed(1)}%, overlap ${r.overlap.toFixed(1)} s of ${r.trainingSeconds.toFixed(1)} s training, mean staleness ${r.staleness.toFixed(2)}, dropped ${r.dropped}`);
    results.push(r);
  }
  const base = results.find(r => r.k === 0);
  const figures: Figure[] = [];
  for (const r of results) {
    const spm = r.steps / Math.max(1e-9, r.trainMinutes);
    const name = `max_staleness ${r.k}`;
    if (r.k === 0 || !base) {
      figures.push({ bench: "async", figure: `steps per minute (${name})`, unit: "steps/min", value: spm, peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
      figures.push({ bench: "async", figure: `held-out accuracy (${name})`, unit: "fraction", value: r.accuracy, peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
    } else {
      figures.push(figure({ bench: "async", figure: `steps per minute (${name})`, unit: "steps/min", value: spm, peer: "max_staleness 0", peer_value: base.steps / Math.max(1e-9, base.trainMinutes) }));
      figures.push(figure({ bench: "async", figure: `held-out accuracy (${name})`, unit: "fraction", value: r.accuracy, peer: "max_staleness 0", peer_value: base.accuracy }));
      figures.push({ bench: "async", figure: `training time overlapped with generation (${name})`, unit: "fraction", value: r.overlap / Math.max(1e-9, r.trainingSeconds), peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
      figures.push({ bench: "async", figure: `mean staleness (${name})`, unit: "versions", value: r.staleness, peer: "none", peer_value: null as unknown as number, ratio: null as unknown as number });
    }
  }
  printFigures(figures, `${args.minutes} min of training each; trainer on core ${args["trainer-core"]}, server on core ${args["server-core"]}${pinned ? "" : " (taskset missing: not pinned)"}; load average ${results.map(r => r.load.toFixed(2)).join(", ")}`);
} finally {
  if (!args.keep) rmSync(root, { recursive: true, force: true });
}
