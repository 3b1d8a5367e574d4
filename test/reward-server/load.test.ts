import { test } from "node:test";
import assert from "node:assert/strict";
import { startRewardServer } from "../../src/reward-server/server.js";
import { scoreBatch } from "../../src/rewards/registry.js";
import { driveLoad, loadBatches } from "./load.js";

// Bounded in count (2,000 requests of 4 samples, 16 clients at once) and in time (the test's timeout);
// its speed is measured by bench/reward-server.ts, not asserted here.
test("2,000 OpenRLHF requests from 16 concurrent clients: none dropped, every answer right", { timeout: 180_000 }, async () => {
  const server = await startRewardServer({ rewards: [{ name: "r1_math", weight: 1 }, { name: "format", weight: 0.5 }], port: 0, concurrency: 4, queue: 64 });
  try {
    const batches = loadBatches(40, 4);
    const want = await Promise.all(batches.map(async b => {
      const math = await scoreBatch("r1_math", b.responses, b.examples), format = await scoreBatch("format", b.responses, b.examples);
      return math.map((m, i) => (m === null && format[i] === null ? 0 : (m ?? 0) + 0.5 * (format[i] ?? 0)));
    }));
    const r = await driveLoad(server.url + "/get_reward", batches, 2000, 16);
    assert.deepEqual([...r.statuses], [[200, 2000]]);
    for (let i = 0; i < 2000; i++) assert.deepEqual((r.bodies[i] as { rewards: number[] }).rewards, want[i % batches.length], `request ${i}`);
    assert.deepEqual(server.stats(), { running: 0, waiting: 0, served: 2000, refused: 0, promptNotFound: 0 });
  } finally { await server.close(); }
});
