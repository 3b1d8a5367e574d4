/**
 * The rollout server pool (src/train/rollout/pool.ts) against loopback fakes: least-outstanding balancing, failover
 * and backoff, a clear error when no server is left, and the policy-version check on every answer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ServerPool, RolloutUnavailableError, WeightVersionError } from "../../src/train/rollout/pool.js";
import { RolloutConfigSchema } from "../../src/train/rollout/index.js";

/** A loopback server answering each POST as handle(n) says (once `wait` resolves, if given); counts requests. */
async function fake(handle: (n: number) => { status: number; body: unknown; wait?: Promise<void> }) {
  let n = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const r = handle(n++);
      void (r.wait ?? Promise.resolve()).then(() => res.writeHead(r.status, { "content-type": "application/json" }).end(JSON.stringify(r.body)));
    });
  });
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen: () => n, close: () => new Promise<void>(ok => { server.closeAllConnections(); server.close(() => ok()); }) };
}

const opts = { timeoutMs: 1000, maxRetries: 2, backoffMs: 5, maxConcurrency: 8, serverRetryMs: 50 };

test("requests go to the server with the least work in flight", async () => {
  let release!: () => void;
  const gate = new Promise<void>(ok => { release = ok; });
  // the first server holds its answers until released, so its rows stay in flight for as long as the test needs
  const held = await fake(() => ({ status: 200, body: { ok: "held" }, wait: gate }));
  const idle = await fake(() => ({ status: 200, body: { ok: "idle" } }));
  const pool = new ServerPool([held.url, idle.url], { ...opts, timeoutMs: 60_000 }); // never a timeout while held
  try {
    const first = pool.post<{ ok: string }>("/completions", {}, 8); // to the first server (index 0 wins the tie)
    const second = pool.post<{ ok: string }>("/completions", {}, 4); // picked at the same moment: the first already counts 8 rows
    const rest = [(await second).value.ok];
    for (let i = 0; i < 2; i++) rest.push((await pool.post<{ ok: string }>("/completions", {}, 4)).value.ok);
    assert.deepEqual(rest, ["idle", "idle", "idle"], "while the first server holds 8 rows, the idle one takes every request");
    release();
    assert.equal((await first).value.ok, "held");
    assert.equal(held.seen(), 1);
    assert.equal(idle.seen(), 3);
  } finally {
    release(); pool.close(); await held.close(); await idle.close();
  }
});

test("a failing server leaves the rotation, its request goes elsewhere, and it is tried again after its backoff", async () => {
  let broken = true;
  const flaky = await fake(() => (broken ? { status: 503, body: { error: { message: "down" } } } : { status: 200, body: { ok: "flaky" } }));
  const good = await fake(() => ({ status: 200, body: { ok: "good" } }));
  const pool = new ServerPool([flaky.url, good.url], opts);
  try {
    const r = await pool.post<{ ok: string }>("/completions", {}, 1);
    assert.equal(r.value.ok, "good", "the 503 was retried on the other server");
    assert.equal(pool.servers[0].stats.failures, 1);
    assert.equal(pool.live().length, 1, "the failing server is out of rotation");
    broken = false;
    await new Promise(ok => setTimeout(ok, 80)); // past its 50 ms backoff
    const back = await pool.post<{ ok: string }>("/completions", {}, 1);
    assert.equal(back.value.ok, "flaky", "after the backoff it is back in rotation (and the least loaded)");
    assert.equal(pool.metrics()["rollout/server0/failures"], 1);
    assert.equal(pool.metrics()["rollout/server0/in_rotation"], 1);
  } finally {
    pool.close(); await flaky.close(); await good.close();
  }
});

test("with every server down the request fails by name within its budget instead of waiting forever", async () => {
  const dead = await fake(() => ({ status: 500, body: { error: { message: "boom" } } }));
  const pool = new ServerPool([dead.url, "http://127.0.0.1:9/v1"], { ...opts, deadlineMs: 300 });
  try {
    await assert.rejects(pool.post("/completions", {}, 1), (e: Error) => e instanceof RolloutUnavailableError && /boom/.test(e.message) && /127\.0\.0\.1:9/.test(e.message));
  } finally {
    pool.close(); await dead.close();
  }
});

test("an answer from a policy version the server was not given is a WeightVersionError", async () => {
  let version = 3;
  const server = await fake(() => ({ status: 200, body: { ok: 1, policy_version: version } }));
  const pool = new ServerPool([server.url], opts);
  try {
    pool.servers[0].acked = 3; pool.servers[0].sent = 3; // the trainer pushed version 3 and the server confirmed it
    assert.equal((await pool.post("/completions", {}, 1)).version, 3);
    version = 2; // the server decodes an older policy (the stale-policy bug)
    await assert.rejects(pool.post("/completions", {}, 1), (e: Error) => e instanceof WeightVersionError && /policy version 2/.test(e.message));
    version = 4; // or one it was never sent
    await assert.rejects(pool.post("/completions", {}, 1), WeightVersionError);
  } finally {
    pool.close(); await server.close();
  }
});

test("rollout config: servers or base_url (not both), max_staleness only with servers that get weights", () => {
  const ok = RolloutConfigSchema.parse({ backend: "openai", servers: ["http://a:1/v1", "http://b:1/v1"], weight_sync: "http", max_staleness: 2 });
  assert.equal(ok.max_staleness, 2);
  assert.equal(RolloutConfigSchema.parse({ backend: "openai", base_url: "http://a:1/v1" }).max_staleness, 0, "synchronous by default");
  const issues = (c: unknown) => { const r = RolloutConfigSchema.safeParse(c); return r.success ? "" : r.error.issues.map(i => i.message).join("; "); };
  assert.match(issues({ backend: "openai" }), /base_url.*or servers/);
  assert.match(issues({ backend: "openai", base_url: "http://a:1/v1", servers: ["http://b:1/v1"] }), /not both/);
  assert.match(issues({ max_staleness: 1 }), /needs backend openai/);
  assert.match(issues({ backend: "openai", servers: ["http://a:1/v1"], max_staleness: 1, reload_endpoint: null }), /never sends the servers new weights/);
});
