// A real `move37 train` process: Ctrl-C stops pretraining after the step with a checkpoint, and a run killed
// with SIGKILL resumes from its last good checkpoint to the same end as an uninterrupted run.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { readMetrics } from "../../src/runs/read.js";
import { tempRoot } from "./trainer-harness.js";

const BIN = new URL("../../bin/move37.js", import.meta.url).pathname;

function recipe(dir: string, max_steps: number): string {
  const path = join(dir, `micro-${max_steps}.yaml`);
  writeFileSync(path, stringify({
    trainer: "pretrain", output_dir: join(dir, "out"), seed: 3, seq_len: 32, batch_size: 4, max_steps, eval_every: 0, save_steps: 5,
    model: { vocab_size: 258, hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64, max_position_embeddings: 64 },
    optimizer: { learning_rate: 3e-3 }, schedule: { lr_scheduler_type: "constant" },
  }));
  return path;
}

function train(args: string[]) {
  const child = spawn(process.execPath, [BIN, "train", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", d => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>(r => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 90_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

test("Ctrl-C stops a pretraining process after the step, with a checkpoint of that step", { timeout: 120_000 }, async () => {
  const dir = tempRoot("sigint");
  const p = train([recipe(dir, 100000), "--runs-dir", dir, "--name", "r"]);
  try {
    await until("two steps", () => readMetrics(join(dir, "r")).length >= 2);
    p.child.kill("SIGINT");
    const { code } = await p.exited;
    assert.equal(code, 0, p.stderr());
    const info = JSON.parse(readFileSync(join(dir, "r", "run.json"), "utf8"));
    assert.equal(info.status, "interrupted");
    const last = readMetrics(join(dir, "r")).at(-1)!.step;
    assert.ok(last < 100000);
    assert.equal(JSON.parse(readFileSync(join(dir, "r", "checkpoints", "latest.json"), "utf8")).step, last);
  } finally {
    p.child.kill("SIGKILL");
  }
});

test("a run killed with SIGKILL resumes from its last good checkpoint and ends as the uninterrupted run", { timeout: 180_000 }, async () => {
  const dir = tempRoot("sigkill");
  const path = recipe(dir, 20);
  const straight = train([path, "--runs-dir", dir, "--name", "straight"]);
  assert.equal((await straight.exited).code, 0, straight.stderr());
  const killed = train([path, "--runs-dir", dir, "--name", "killed"]);
  await until("a checkpoint", () => existsSync(join(dir, "killed", "checkpoints", "latest.json")) && readMetrics(join(dir, "killed")).length >= 7);
  killed.child.kill("SIGKILL");
  assert.equal((await killed.exited).signal, "SIGKILL");
  const resumed = train(["--resume", join(dir, "killed")]);
  assert.equal((await resumed.exited).code, 0, resumed.stderr());
  const a = readMetrics(join(dir, "straight")), b = readMetrics(join(dir, "killed"));
  assert.equal(b.length, 20);
  assert.deepEqual(b.map(r => r.loss), a.map(r => r.loss));
});
