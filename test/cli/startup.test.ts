// The verbs load what they run: the trainer list (src/cli/trainers.ts) and ioredis are imported by the verbs that run
// a recipe or a self-play worker, not at every CLI start (a side-effect registry used to load them all).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const BIN = new URL("../../bin/move37.js", import.meta.url).pathname;
const TRACE = new URL("./fixtures/import-trace.mjs", import.meta.url).pathname;

/** Every module URL `move37 ...args` resolves. */
function modulesOf(args: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), "m37-trace-"));
  try {
    const trace = join(dir, "trace.txt");
    const r = spawnSync(process.execPath, ["--import", TRACE, BIN, ...args], { env: { ...process.env, M37_TRACE: trace }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return readFileSync(trace, "utf8").split("\n").filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a verb that runs no trainer starts without the trainer list and without ioredis; config schema loads them", () => {
  const help = modulesOf(["verify", "--help"]);
  assert.ok(help.some(u => u.endsWith("/src/cli/program.ts")), "the trace sees the CLI's modules");
  assert.ok(!help.some(u => u.endsWith("/src/cli/trainers.ts")), "src/cli/trainers.ts was loaded");
  assert.ok(!help.some(u => u.includes("/node_modules/ioredis/")), "ioredis was loaded");
  const schema = modulesOf(["config", "schema", "alphazero-distributed"]);
  assert.ok(schema.some(u => u.endsWith("/src/cli/trainers.ts")));
  assert.ok(schema.some(u => u.includes("/node_modules/ioredis/")));
});
