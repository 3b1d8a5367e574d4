// Fuzz: 100,000 random and mutated strings through the rewards: no exception reaches a guard and no
// call exceeds its reward's time limit. To keep CI under a minute the strings are dealt round-robin,
// string i to reward i mod K (about 8,000 each); code runs a handful (each is a sandboxed process).
// `FUZZ_N` changes the count; `FUZZ_ALL=1` sends every string through every reward (the bench's big run).
import { test } from "node:test";
import assert from "node:assert/strict";
import { listRewards } from "../../src/rewards/registry.js";
import { guardStats } from "../../src/rewards/guard.js";
import { fuzzString, FUZZ_EXAMPLES } from "./fuzz-gen.js";

const N = Number(process.env.FUZZ_N ?? 100_000);
const ALL = process.env.FUZZ_ALL === "1";

test(`fuzz: ${N} strings, no exception, every call within its time limit`, { timeout: 1_800_000 }, async () => {
  const specs = listRewards().filter(s => s.sync);
  // one-time start-up (the LaTeX parser's worker loads the compute engine) is not a per-call cost
  for (const spec of specs) spec.sync!("\\boxed{1}", FUZZ_EXAMPLES[0]);
  const before = guardStats.exceptions;
  const worst: Record<string, number> = {};
  let calls = 0;
  for (let i = 0; i < N; i++) {
    const s = fuzzString(i);
    for (const spec of ALL ? specs : [specs[i % specs.length]]) {
      const t = performance.now();
      const v = spec.sync!(s, FUZZ_EXAMPLES[i % FUZZ_EXAMPLES.length]);
      const dt = performance.now() - t;
      calls++;
      worst[spec.name] = Math.max(worst[spec.name] ?? 0, Math.round(dt));
      assert.ok(v === null || Number.isFinite(v), `${spec.name} returned ${v}`);
      assert.ok(dt <= spec.timeLimitMs, `${spec.name} took ${dt.toFixed(0)} ms on fuzz string ${i}: ${JSON.stringify(s.slice(0, 200))}`);
    }
  }
  const code = listRewards().find(s => s.name === "code")!;
  for (let i = 0; i < 6; i++) {
    const t = performance.now();
    const v = await code.call("```python\n" + fuzzString(i * 13 + 5) + "\n```", { tests: ["assert f(1) == 2"], language: i % 2 ? "javascript" : "python" });
    assert.ok(v === 0 || v === null, `code scored ${v} on junk`);
    assert.ok(performance.now() - t <= code.timeLimitMs);
  }
  console.log(`fuzz: ${calls} calls over ${N} strings; slowest call per reward (ms): ${JSON.stringify(worst)}`);
  assert.equal(guardStats.exceptions - before, 0, `a reward threw: ${String(guardStats.lastError)}`);
});
