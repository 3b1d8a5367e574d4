// `move37 train` as a real process: Ctrl-C stops the trainer gracefully, --dashboard serves the run alongside.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readMetrics } from "../../src/runs/read.js";

const FIXTURE = new URL("./fixtures/slow-trainer.ts", import.meta.url).pathname;

async function until<T>(what: string, f: () => T | undefined | false, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 50));
  }
}

test("Ctrl-C stops training after the step, marks the run interrupted; --dashboard serves it from another process", async () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-proc-"));
  const recipe = join(dir, "slow.yaml");
  writeFileSync(recipe, "trainer: slow-test\n");
  const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, "train", recipe, "--runs-dir", dir, "--name", "s", "--dashboard", "--port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", d => (stderr += d));
  const exited = new Promise<number | null>(r => child.on("exit", code => r(code)));
  const runDir = join(dir, "s");
  try {
    const url = await until("the dashboard URL", () => /dashboard: (http:\S+)/.exec(stderr)?.[1]);
    const runPid = await until("run.json", () => existsSync(join(runDir, "run.json")) && (JSON.parse(readFileSync(join(runDir, "run.json"), "utf8")).pid as number));
    assert.equal(runPid, child.pid, "run.json records the training process");
    const runs = (await (await fetch(new URL("api/runs", url))).json()) as { id: string; status: string }[];
    assert.deepEqual(runs.map(r => [r.id, r.status]), [["s", "running"]]);
    await until("a few steps", () => readMetrics(runDir).length >= 3);

    child.kill("SIGINT");
    await until("the trainer to stop", () => existsSync(join(runDir, "stopped.json")));
    assert.deepEqual(JSON.parse(readFileSync(join(runDir, "stopped.json"), "utf8")), { aborted: true });
    assert.match(stderr, /stopping after this step/);
    const info = await until("status interrupted", () => {
      const i = JSON.parse(readFileSync(join(runDir, "run.json"), "utf8"));
      return i.status === "interrupted" && i;
    });
    assert.ok(info.ended !== null);
    // the dashboard outlives the training process's first Ctrl-C and reports the final status
    await until("the page to see the new status", () => stderr.includes("the dashboard stays up"));
    const after = (await (await fetch(new URL("api/runs", url))).json()) as { status: string }[];
    assert.equal(after[0].status, "interrupted");
    const steps = readMetrics(runDir).length;
    child.kill("SIGINT");
    assert.equal(await exited, 0);
    await assert.rejects(fetch(url), "the dashboard process ended with the training process");
    assert.equal(readMetrics(runDir).length, steps, "no step after the stop");
  } finally {
    child.kill("SIGKILL");
  }
});
