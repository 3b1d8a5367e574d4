/**
 * Asynchronous GRPO over several `move37 serve` processes on loopback (the micro task of grpo-micro.ts):
 * - max_staleness 0 over servers with weights pushed over HTTP reproduces the one-server disk-reload run's losses
 *   exactly (today's synchronous path);
 * - with three servers and max_staleness 2, one server SIGKILLed mid-run: training goes on, every sample lies
 *   within the bound, every step trains once, the dead server's failures are counted, and the task is learnt;
 * - the trainer SIGKILLed mid-run and resumed: steps after the checkpoint are sampled again, none trains twice.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runTrainer, metricsOf, tempRoot } from "../train/trainer-harness.js";
import { byteModelFolder, microRecipe } from "../train/grpo-micro.js";
import { spawnServe } from "./spawn-serve.js";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const gain = (rows: Record<string, number>[]) => mean(rows.slice(-3).map(r => r.reward)) - mean(rows.slice(0, 3).map(r => r.reward));
const stepRows = (rows: Record<string, number>[]) => rows.filter(r => r.reward !== undefined);
const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(l => l.includes("\"reward\"")).length : 0);

test("max_staleness 0 over servers with weights over HTTP reproduces the synchronous one-server run's losses exactly", async () => {
  const root = tempRoot("async-k0");
  const model = byteModelFolder(root);
  const server = await spawnServe(model);
  try {
    const short = { ...microRecipe(model).grpo, max_steps: 4 };
    const legacy = stepRows(metricsOf(await runTrainer("grpo", microRecipe(model, { grpo: short, rollout: { backend: "openai", base_url: server.url, max_concurrency: 2 } }), { root, runName: "legacy" })));
    const pushed = stepRows(metricsOf(await runTrainer("grpo", microRecipe(model, { grpo: short, rollout: { backend: "openai", servers: [server.url], weight_sync: "http", max_staleness: 0, max_concurrency: 2 } }), { root, runName: "http" })));
    assert.equal(legacy.length, 4);
    assert.deepEqual(pushed.map(r => r.loss), legacy.map(r => r.loss));
    assert.deepEqual(pushed.map(r => r.reward), legacy.map(r => r.reward));
    assert.deepEqual(pushed.map(r => r.grad_norm), legacy.map(r => r.grad_norm));
    assert.equal(pushed[0]["off_policy/staleness_max"], undefined, "the synchronous path has no pipeline");
  } finally {
    await server.stop();
  }
});

test("three servers, max_staleness 2, one server SIGKILLed mid-run: training goes on within the bound and learns", async () => {
  const root = tempRoot("async-3");
  const model = byteModelFolder(root);
  const servers = await Promise.all([0, 1, 2].map(() => spawnServe(model)));
  const k = 2;
  let rows: Record<string, number>[];
  const metricsFile = join(root, "async", "metrics.jsonl");
  let killedAt = -1;
  const watch = setInterval(() => { // SIGKILL server 1 once three steps are logged
    if (killedAt < 0 && lines(metricsFile) >= 3) { killedAt = lines(metricsFile); process.kill(servers[1].pid, "SIGKILL"); }
  }, 20);
  try {
    rows = stepRows(metricsOf(await runTrainer("grpo", microRecipe(model, {
      rollout: { backend: "openai", servers: servers.map(s => s.url), weight_sync: "http", max_staleness: k, max_concurrency: 4, retry_backoff_ms: 200, timeout_ms: 20_000 },
    }), { root, runName: "async" })));
  } finally {
    clearInterval(watch);
    await Promise.all(servers.map(s => s.stop()));
  }
  assert.ok(killedAt >= 3 && killedAt < 12, `server 1 was killed after step ${killedAt}`);
  assert.deepEqual(rows.map(r => r.step), Array.from({ length: 12 }, (_, i) => i + 1), "every step trained once");
  for (const r of rows) {
    assert.ok(r["off_policy/staleness_max"] <= k, `step ${r.step}: staleness ${r["off_policy/staleness_max"]} beyond ${k}`);
    assert.ok(r["frac_groups_kept"] > 0);
  }
  const last = rows[rows.length - 1];
  assert.ok(last["rollout/server1/failures"] >= 1, "the killed server's failures are counted");
  assert.ok(last["rollout/server0/requests"] > 0 && last["rollout/server2/requests"] > 0);
  assert.ok(rows.some(r => r["off_policy/staleness_mean"] > 0), "some samples came from an older policy (generation ran ahead)");
  assert.ok(rows.some(r => r["time/overlap"] > 0), "generation overlapped training");
  assert.ok(gain(rows) > 0.2, `reward gain with max_staleness ${k}: ${gain(rows).toFixed(3)} (first ${rows.slice(0, 3).map(r => r.reward.toFixed(3))}, last ${rows.slice(-3).map(r => r.reward.toFixed(3))})`);
});

test("the trainer SIGKILLed mid-run resumes from its checkpoint: in-flight samples are dropped, no step trains twice", async () => {
  const root = tempRoot("async-kill");
  const model = byteModelFolder(root);
  const servers = await Promise.all([0, 1].map(() => spawnServe(model)));
  const recipe = microRecipe(model, { rollout: { backend: "openai", servers: servers.map(s => s.url), weight_sync: "http", max_staleness: 2, max_concurrency: 4 } });
  const runDir = join(root, "killed");
  try {
    const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(new URL("./async-trainer-child.ts", import.meta.url)), JSON.stringify({ recipe, root, runName: "killed" })], { stdio: "ignore" });
    const exited = new Promise<void>(ok => child.once("exit", () => ok()));
    await new Promise<void>((ok, fail) => {
      const t = setInterval(() => {
        if (lines(join(runDir, "metrics.jsonl")) >= 5) { clearInterval(t); child.kill("SIGKILL"); ok(); }
        if (child.exitCode !== null) { clearInterval(t); fail(new Error("the trainer ended before it could be killed")); }
      }, 20);
    });
    await exited;
    const before = stepRows(metricsOf({ dir: runDir } as never));
    assert.ok(before.length >= 5 && before.length < 12, `killed after ${before.length} steps`);
    const resumed = stepRows(metricsOf(await runTrainer("grpo", recipe, { root, resumeDir: runDir })));
    assert.deepEqual(resumed.map(r => r.step), Array.from({ length: 12 }, (_, i) => i + 1), "after the resume every step appears once");
    for (const r of resumed) assert.ok(r["off_policy/staleness_max"] <= 2);
    // the steps kept from before the kill are the checkpointed ones, unchanged
    const checkpointed = resumed.filter(r => before.some(b => b.step === r.step && b.loss === r.loss));
    assert.ok(checkpointed.length >= 4, `${checkpointed.length} steps kept from before the kill`);
  } finally {
    await Promise.all(servers.map(s => s.stop()));
  }
});

test("LoRA GRPO with weight_sync http: only the adapter travels, and the server samples the adapted policy of every step", async () => {
  const root = tempRoot("async-lora");
  const src = byteModelFolder(root), model = join(root, "micro-wide");
  const { model: m } = loadPretrained(src, getBackend("auto"));
  const e = m.params.find(p => p.name === "model.embed_tokens.weight")!.data;
  for (let i = 0; i < e.length; i++) e[i] *= 6; // as lora-serve.test.ts: a head the adapters can move
  savePretrained(m, model, { copyFrom: src });
  const server = await spawnServe(model);
  try {
    const rows = stepRows(metricsOf(await runTrainer("grpo", microRecipe(model, {
      lora: { r: 8, lora_alpha: 16, target_modules: "all-linear" },
      grpo: { ...microRecipe(model).grpo, max_steps: 4, learning_rate: 0.2 },
      rollout: { backend: "openai", servers: [server.url], weight_sync: "http", max_concurrency: 2 },
    }), { root, runName: "lora" })));
    assert.equal(rows.length, 4);
    // the adapters move from step 2 on; a server left on the base would differ by > 0.05 (lora-serve.test.ts)
    for (const r of rows) assert.ok(r["sampling/sampling_logp_difference/max"] < 1e-3, `step ${r.step}: server vs trainer log-prob difference ${r["sampling/sampling_logp_difference/max"]}`);
    const origin = new URL(server.url).origin;
    const version = await (await fetch(`${origin}/v1/weights/version`)).json() as { version: number; pushes: number };
    assert.equal(version.version, 4, "the last push is version 4 (after step 4)");
    assert.equal(version.pushes, 5, "one push before the first step and one after each step");
    const served = Buffer.from(await (await fetch(`${origin}/v1/weights`)).arrayBuffer());
    const header = JSON.parse(served.subarray(8, 8 + Number(served.readBigUInt64LE(0))).toString("utf8")) as Record<string, unknown> & { __metadata__: Record<string, string> };
    assert.equal(header.__metadata__.move37_kind, "lora_adapter");
    assert.ok(Object.keys(header).filter(k => k !== "__metadata__").every(k => /lora_[AB]\.weight$/.test(k)), "the server holds the adapter, its base untouched");
  } finally {
    await server.stop();
  }
});
