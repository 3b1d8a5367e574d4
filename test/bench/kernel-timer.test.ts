// bench/common.ts kernelTimer: the per-kernel breakdown of the rollout and GRPO benchmarks (issue 18).
import { test } from "node:test";
import assert from "node:assert/strict";
import { kernelTimer } from "../../bench/common.js";
import { getBackend } from "../../src/engine/index.js";

test("kernelTimer counts calls and product FLOPs only while on, and a kernel's nested calls once", () => {
  class Fake {
    log: string[] = [];
    matmul(_c: unknown, _a: unknown, _b: unknown, M: number, N: number, K: number) { this.log.push(`matmul ${M}x${N}x${K}`); }
    attention() { this.check(); this.log.push("attention"); }
    check() { this.log.push("check"); }
  }
  const be = new Fake();
  const t = kernelTimer(be);
  be.matmul(null, null, null, 2, 3, 4); // off: not counted
  t.on();
  be.matmul(null, null, null, 2, 3, 4);
  be.matmul(null, null, null, 1, 5, 7);
  be.attention();
  t.off();
  be.attention();
  assert.deepEqual(be.log, ["matmul 2x3x4", "matmul 2x3x4", "matmul 1x5x7", "check", "attention", "check", "attention"]);
  const times = t.times();
  assert.equal(times.matmul.calls, 2);
  assert.equal(times.matmul.flops, 2 * 2 * 3 * 4 + 2 * 1 * 5 * 7);
  assert.equal(times.attention.calls, 1);
  assert.equal(times.attention.flops, 0);
  assert.equal(times.check, undefined, "check ran inside attention: its time is attention's");
  t.reset();
  assert.deepEqual(t.times(), {});
});

test("kernelTimer leaves a real backend's results unchanged", () => {
  const be = getBackend("reference");
  const C = new Float32Array(4), A = Float32Array.from([1, 2, 3, 4]), B = Float32Array.from([5, 6, 7, 8]);
  const t = kernelTimer(be);
  t.on();
  be.matmul(C, A, B, 2, 2, 2, false, false, false);
  t.off();
  assert.deepEqual([...C], [19, 22, 43, 50]);
  assert.equal(t.times().matmul.calls, 1);
});
