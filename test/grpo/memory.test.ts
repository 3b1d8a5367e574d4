/**
 * The default run's memory (`npm start`, recipes/r1-zero-tiny.yaml, the 3.2M-parameter base-tiny): a short run of the
 * same recipe through the CLI, in a child process, must peak below 500 MB resident. It peaked at 1.76 GB when all 64
 * rows of a step went through one forward/backward (the saved activations alone took 1 GB), each generate() call
 * allocated a fresh KV cache, and a held-out batch's 6,600-token prefill grew the decode scratch to 100 MB.
 * The bound holds the run's shape: held-out decoding in batches of 64 rows, 4 × 16 completions a step, training.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../../", import.meta.url));
const PEAK_MB = 500;

test(`a short default GRPO run peaks below ${PEAK_MB} MB resident`, { skip: existsSync(join(repo, "models/base-tiny/config.json")) ? false : "models/base-tiny is missing (it ships with the repository)" }, () => {
  const runs = mkdtempSync(join(tmpdir(), "move37-grpo-memory-"));
  try {
    const report = "data:text/javascript,process.on('exit',()=>process.stderr.write('MAXRSS_KB='+process.resourceUsage().maxRSS+'\\n'))";
    const r = spawnSync(process.execPath, ["--import", report, join(repo, "bin/move37.js"), "train", join(repo, "recipes/r1-zero-tiny.yaml"),
      "--runs-dir", runs, "--name", "memory", "--grpo.max_steps=2", "--eval_size=64", "--eval_sampled=false", "--eval_every=0", "--grpo.dynamic_sampling=false"],
    { cwd: repo, encoding: "utf8", maxBuffer: 1 << 24 });
    assert.equal(r.status, 0, `the run failed:\n${r.stderr}`);
    const kb = Number(/MAXRSS_KB=(\d+)/.exec(r.stderr)?.[1]);
    assert.ok(kb > 0, `no peak RSS reported:\n${r.stderr}`);
    assert.match(r.stderr, /step 2\/2/, "both steps ran");
    assert.ok(kb / 1024 < PEAK_MB, `peak RSS ${(kb / 1024).toFixed(0)} MB, the bound is ${PEAK_MB} MB`);
  } finally {
    rmSync(runs, { recursive: true, force: true });
  }
});
