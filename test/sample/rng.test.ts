import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/sample/rng.js";

test("xoshiro128** matches the reference outputs from state {1, 2, 3, 4}", () => {
  // First outputs of Vigna's xoshiro128starstar.c with s = {1, 2, 3, 4}.
  const r = Rng.fromState([1, 2, 3, 4]);
  assert.deepEqual([r.nextU32(), r.nextU32(), r.nextU32(), r.nextU32()], [11520, 0, 5927040, 70819200]);
});

test("state() resumes the stream exactly", () => {
  const a = new Rng(42);
  a.nextU32(); a.nextU32();
  const b = Rng.fromState(a.state());
  assert.deepEqual([a.nextU32(), a.nextFloat()], [b.nextU32(), b.nextFloat()]);
});

test("floats are uniform in [0, 1) and streams differ by seed and index", () => {
  const r = new Rng(7);
  const bins = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) {
    const u = r.nextFloat();
    assert.ok(u >= 0 && u < 1);
    bins[Math.floor(u * 10)]++;
  }
  for (const n of bins) assert.ok(Math.abs(n - 2000) < 200, `bin count ${n} far from 2000`);
  const first = (g: Rng) => [g.nextU32(), g.nextU32()].join();
  assert.notEqual(first(Rng.forStream(1, 0)), first(Rng.forStream(1, 1)));
  assert.notEqual(first(Rng.forStream(1, 0)), first(Rng.forStream(2, 0)));
  assert.equal(first(Rng.forStream(3, 5)), first(Rng.forStream(3, 5)));
});
