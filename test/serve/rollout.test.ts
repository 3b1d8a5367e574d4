import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { JsonClient } from "../../src/train/rollout/http.js";
import { RolloutRequestError, RolloutConfigError, RolloutConfigSchema, createRollout, importanceWeights, slotLogprobs } from "../../src/train/rollout/index.js";
import { packBatch } from "../../src/train/grpo/index.js";

/** A loopback server whose handler decides each answer; returns its URL and how many requests it saw. */
async function fakeServer(handle: (n: number, reply: (status: number, body: unknown) => void) => void): Promise<{ url: string; seen: () => number; peak: () => number; close: () => Promise<void> }> {
  let n = 0, open = 0, peak = 0;
  const server: Server = createServer((req, res) => {
    open++; peak = Math.max(peak, open);
    req.resume();
    req.on("end", () => handle(n++, (status, body) => { open--; res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body)); }));
  });
  await new Promise<void>(ok => server.listen(0, "127.0.0.1", ok));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`, seen: () => n, peak: () => peak,
    close: () => new Promise(ok => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}
/** Runs `body` against a fakeServer and closes the server whatever happens, so a failing assertion cannot leave it open and hang the test process. */
async function withFakeServer(handle: Parameters<typeof fakeServer>[0], body: (server: Awaited<ReturnType<typeof fakeServer>>) => Promise<void>): Promise<void> {
  const server = await fakeServer(handle);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
const opts = { timeoutMs: 2000, maxRetries: 3, backoffMs: 5, maxConcurrency: 4 };

test("the rollout client retries 503s with backoff, never a 400, and reports the server's message", async () => {
  await withFakeServer((n, reply) => (n < 2 ? reply(503, { error: { message: "busy" } }) : reply(200, { ok: n })), async flaky => {
    assert.deepEqual(await new JsonClient(opts).post(flaky.url, {}), { ok: 2 });
    assert.equal(flaky.seen(), 3);
  });
  await withFakeServer((_, reply) => reply(400, { error: { message: "max_tokens is too large" } }), async bad => {
    await assert.rejects(new JsonClient(opts).post(bad.url, {}), (e: Error) => e instanceof RolloutRequestError && /HTTP 400: max_tokens is too large/.test(e.message));
    assert.equal(bad.seen(), 1);
  });
  await withFakeServer((_, reply) => reply(503, {}), async down => {
    await assert.rejects(new JsonClient({ ...opts, maxRetries: 2 }).post(down.url, {}), /after 3 attempts.*HTTP 503/);
  });
});

test("a request with no answer times out and is retried; in-flight requests never exceed max_concurrency", async () => {
  await withFakeServer(() => {}, async silent => {
    // The client counts its attempts: the server's count can miss the retry when a loaded machine lets the
    // 100 ms timer fire before the server has read that request.
    await assert.rejects(new JsonClient({ ...opts, timeoutMs: 100, maxRetries: 1 }).post(silent.url, {}), /failed after 2 attempts: no answer within 100 ms/);
  });
  await withFakeServer((n, reply) => setTimeout(() => reply(200, { n }), 40), async slow => {
    const client = new JsonClient({ ...opts, maxConcurrency: 3 });
    const answers = await Promise.all(Array.from({ length: 9 }, () => client.post<{ n: number }>(slow.url, {})));
    assert.deepEqual(answers.map(a => a.n).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(slow.peak(), 3);
    assert.equal(client.peakInFlight, 3);
  });
});

test("truncated importance weights: π_trainer/π_sampler capped (truncate) or zeroed above the cap (mask), per token or per completion; 1 off the mask", () => {
  // Two rows of T = 4 slots; the last slot of row 0 and the first of row 1 are off the mask.
  const trainer = [-1, -2, -0.5, -3, -9, -1, -1, -1], sampler = [-1.5, -1, -2, 0, 0, -1.2, -1.1, -1.3], mask = [1, 1, 1, 0, 0, 1, 1, 1];
  const w = (mode: "token_truncate" | "token_mask" | "sequence_truncate" | "sequence_mask") => importanceWeights(trainer, sampler, mask, 4, { cap: 2, mode });
  const close = (a: ArrayLike<number>, b: number[]) => b.forEach((x, i) => assert.ok(Math.abs(a[i] - x) < 1e-6, `slot ${i}: ${a[i]} vs ${x}`));
  const e = Math.exp;
  close(w("token_truncate"), [e(0.5), e(-1), 2, 1, 1, e(0.2), e(0.1), e(0.3)]);
  close(w("token_mask"), [e(0.5), e(-1), 0, 1, 1, e(0.2), e(0.1), e(0.3)]);
  // Row sums of the log-ratios: 0.5 − 1 + 1.5 = 1 (ratio e ≈ 2.72, above the cap) and 0.2 + 0.1 + 0.3 = 0.6.
  close(w("sequence_truncate"), [2, 2, 2, 1, 1, e(0.6), e(0.6), e(0.6)]);
  close(w("sequence_mask"), [0, 0, 0, 1, 1, e(0.6), e(0.6), e(0.6)]);
});

test("per-token importance weights with GSPO's sequence-level ratio are refused by name", () => {
  const ctx = { policy: null as never, tokenizer: null as never, weightsDir: "/tmp/x", save: {}, log: () => {}, ratioLevel: "sequence" as const };
  const c = RolloutConfigSchema.parse({ backend: "openai", base_url: "http://127.0.0.1:1/v1" });
  assert.throws(() => createRollout(c, ctx), (e: Error) => e instanceof RolloutConfigError && /sequence_truncate or sequence_mask/.test(e.message));
  assert.doesNotThrow(() => createRollout({ ...c, importance_sampling_mode: "sequence_mask" }, ctx));
});

test("sampling log-probs land on the slots where packBatch scores the same completion tokens", () => {
  const prompts = [[5, 6, 7], [8]], completions = [[1, 2], [3, 4, 9]];
  const p = packBatch(prompts, completions, completions.map(c => c.map(() => 1)));
  // Use each token's id as its "log-prob": every scored slot must then hold its target's id.
  const slots = slotLogprobs(prompts.map(x => x.length), completions, p.T);
  for (let i = 0; i < p.B * p.T; i++) assert.equal(slots[i], p.lossMask[i] ? p.targets[i] : 0, `slot ${i}`);
});

test("rollout config: openai needs base_url; the defaults keep in-process sampling", () => {
  assert.equal(RolloutConfigSchema.parse({}).backend, "local");
  assert.throws(() => RolloutConfigSchema.parse({ backend: "openai" }), /base_url/);
  assert.throws(() => RolloutConfigSchema.parse({ backend: "openai", base_url: "http://x/v1", retries: 2 }), /retries/);
});
