// The supervised "human games" baseline (trainer sl-policy): it learns the heuristic player's moves, and its
// checkpoints resume exactly, after a Ctrl-C-style stop in process and after a real `move37 selfplay` process is
// SIGKILLed at an arbitrary moment (run twice: killed, resumed, killed again, resumed).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { referenceBackend } from "../../src/engine/reference.js";
import { readMetrics } from "../../src/runs/read.js";
import { loadCheckpoint } from "../../src/selfplay/checkpoint.js";
import { metricsOf, runTrainer, tempRoot } from "../train/trainer-harness.js";

const BIN = new URL("../../bin/move37.js", import.meta.url).pathname;

// 200 steps in 10 checkpointed chunks; the arena games make the eval metrics depend on the weights too.
const STEPS = 200;
const RECIPE = {
  trainer: "sl-policy", game: "tictactoe", seed: 3, backend: "reference", network: { hidden: 16, blocks: 1 },
  games: 40, steps: STEPS, batch_size: 16, learning_rate: 0.01, log_every: 20,
  opponents: ["heuristic"], opponent_games: 2, eval_simulations: 4,
};
const { trainer: _, ...CONFIG } = RECIPE;

/** Metrics lines without the wall-clock fields, which differ between any two runs. */
const comparable = (rows: Array<Record<string, unknown>>) =>
  rows.map(({ time: _t, "time/elapsed_seconds": _e, ...rest }) => rest);

function assertSameRun(actualDir: string, expectedDir: string): void {
  assert.deepEqual(comparable(readMetrics(actualDir)), comparable(readMetrics(expectedDir)));
  for (const file of ["latest.safetensors", "best.safetensors"]) {
    const a = loadCheckpoint(join(actualDir, "checkpoints", file), referenceBackend);
    const b = loadCheckpoint(join(expectedDir, "checkpoints", file), referenceBackend);
    assert.equal(a.meta.trained_steps, STEPS, file);
    assert.deepEqual(Array.from(a.net.flatParams), Array.from(b.net.flatParams), file);
    assert.equal(a.optimizer === null, file === "best.safetensors", `${file}: the optimizer is saved with latest only`);
    assert.deepEqual(Array.from(a.optimizer?.m ?? []), Array.from(b.optimizer?.m ?? []), `${file} AdamW m`);
    assert.deepEqual(Array.from(a.optimizer?.v ?? []), Array.from(b.optimizer?.v ?? []), `${file} AdamW v`);
    assert.equal(a.optimizer?.t, b.optimizer?.t, `${file} AdamW t`);
  }
}

const root = tempRoot("sl");
const STEP_LINES = Array.from({ length: 10 }, (_, i) => 20 * (i + 1));
/** The uninterrupted run both tests compare with. */
const whole = runTrainer("sl-policy", CONFIG, { root, runName: "whole" });
after(() => rmSync(root, { recursive: true, force: true }));

test("sl-policy learns the heuristic player's moves; a stopped run resumes to the uninterrupted run's metrics and weights", async () => {
  const rows = metricsOf(await whole);
  assert.deepEqual(rows.map(r => r.step), STEP_LINES);
  assert.ok(rows[9]["loss/policy"] < rows[0]["loss/policy"] - 0.3, `policy loss ${rows[0]["loss/policy"]} → ${rows[9]["loss/policy"]}`);

  // stops after its third logged chunk (as after Ctrl-C), then --resume runs the remaining seven
  const split = await runTrainer("sl-policy", CONFIG, { root, runName: "split", abortAfterLog: 3 });
  assert.deepEqual(metricsOf(split).map(r => r.step), [20, 40, 60]);
  await runTrainer("sl-policy", CONFIG, { root, resumeDir: split.dir });
  assertSameRun(split.dir, (await whole).dir);
});

function selfplay(args: string[]) {
  const child = spawn(process.execPath, [BIN, "selfplay", ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", d => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>(r => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, exited, stderr: () => stderr };
}

/** Starts `move37 selfplay` and SIGKILLs it `delayMs` after its progress display first reports a step. */
async function killedRun(args: string[], delayMs: number): Promise<void> {
  const p = selfplay(args);
  const watch = () => {
    if (!/^step \d+\//m.test(p.stderr())) return;
    p.child.stderr!.off("data", watch);
    setTimeout(() => p.child.kill("SIGKILL"), delayMs);
  };
  p.child.stderr!.on("data", watch);
  const { code, signal } = await p.exited;
  // a run that finished before the kill landed would make this test vacuous
  assert.equal(signal, "SIGKILL", `exited with ${code} before the kill:\n${p.stderr()}`);
}

test("a `move37 selfplay` sl-policy process SIGKILLed at arbitrary moments resumes to the uninterrupted run", { timeout: 600_000 }, async () => {
  // each process needs ~3 s of CPU; the long timeout is for a machine busy with other work
  const recipe = join(root, "sl.yaml");
  writeFileSync(recipe, stringify(RECIPE));

  const killed = join(root, "killed");
  await killedRun([recipe, "--runs-dir", root, "--name", "killed"], 0);
  await killedRun(["--resume", killed], 37);
  const resumed = selfplay(["--resume", killed]);
  assert.equal((await resumed.exited).code, 0, resumed.stderr());
  assert.match(resumed.stderr(), /resumed at step [1-9]/);
  assert.equal(JSON.parse(readFileSync(join(killed, "run.json"), "utf8")).resumed.length, 2);
  assert.deepEqual(readMetrics(killed).map(r => r.step), STEP_LINES);
  assertSameRun(killed, (await whole).dir);
});
