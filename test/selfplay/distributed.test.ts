// Distributed self-play against a real redis-server started here: the queue's claim/acknowledge
// semantics, and a run with two worker processes, one SIGKILLed mid-game, counted game by game.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { getBackend } from "../../src/engine/index.js";
import { networkEvaluator } from "../../src/selfplay/evaluator.js";
import { getGame } from "../../src/selfplay/games/index.js";
import { MlpNetwork } from "../../src/selfplay/network.js";
import { Rng } from "../../src/rng.js";
import { playSelfPlayGames } from "../../src/selfplay/selfplay-games.js";
import { keysFor } from "../../src/selfplay/distributed/keys.js";
import { GameQueue, pushGames } from "../../src/selfplay/distributed/queue.js";
import { decodeRecord, GameRecorder, type GameRecord } from "../../src/selfplay/distributed/record.js";
import { readMetrics } from "../../src/runs/read.js";
import { DistributedAlphaZeroConfig } from "../../src/selfplay/distributed/trainer.js";
import { connectRedis, RedisUnreachableError } from "../../src/selfplay/distributed/redis.js";
import { runWorker } from "../../src/selfplay/distributed/worker.js";

const CLI = new URL("../../bin/move37.js", import.meta.url).pathname;
const HAVE_REDIS = spawnSync("redis-server", ["--version"]).status === 0;
const skip = HAVE_REDIS ? false : "redis-server is not installed (apt-get install -y redis-server); CI installs it in .ci/run";
const ttt = getGame("tictactoe");

let redisProc: ChildProcess | undefined, url = "";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>(r => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise(r => s.close(r));
  return port;
}

async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>, ms = 50_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 20));
  }
}

before(async () => {
  if (!HAVE_REDIS) return;
  const port = await freePort();
  redisProc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  let log = "";
  redisProc.stdout!.on("data", d => (log += d));
  await until("redis-server to accept connections", () => /Ready to accept connections/.test(log), 10_000);
  url = `redis://127.0.0.1:${port}`;
});
after(() => { redisProc?.kill("SIGTERM"); });

/** Self-played tic-tac-toe games with a random tiny network, as records. */
function someGames(n: number, seed: number): GameRecord[] {
  const net = new MlpNetwork({ hidden: 8, blocks: 0, inputSize: ttt.inputSize, actions: ttt.actions }, getBackend("reference"));
  const rng = new Rng(seed);
  net.init(rng);
  const rec = new GameRecorder(ttt, n);
  playSelfPlayGames(ttt, networkEvaluator(ttt, net), { games: n, concurrency: n, simulations: 4, cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25, temperatureMoves: 4 }, rng, rec);
  return rec.games().map((g, i) => ({ id: `t:${seed}:${i}`, worker: "t", version: 0, game: "tictactoe", ...g }));
}

test("the distributed recipe is strict: no gate section (workers play the latest network), typos in distributed fail", () => {
  assert.equal(DistributedAlphaZeroConfig.safeParse({ game: "tictactoe" }).data?.distributed.prefix, "move37:selfplay");
  assert.ok(!DistributedAlphaZeroConfig.safeParse({ game: "tictactoe", evaluate: { every: 1 } }).success);
  assert.ok(!DistributedAlphaZeroConfig.safeParse({ game: "tictactoe", distributed: { redsi: "redis://x" } }).success);
});

test("no Redis: the trainer's connection fails at once with what to do; a waiting worker warns once and stops when asked", async () => {
  const port = await freePort(); // nothing listens there
  await assert.rejects(connectRedis(`redis://127.0.0.1:${port}`, () => {}, true), (e: Error) => e instanceof RedisUnreachableError && /ECONNREFUSED.*redis-server/.test(e.message));
  const warnings: string[] = [], ac = new AbortController();
  const done = runWorker({ redisUrl: `redis://127.0.0.1:${port}`, signal: ac.signal, warn: m => warnings.push(m), backend: "reference" });
  await until("the outage warning", () => warnings.length > 0, 10_000);
  await new Promise(r => setTimeout(r, 300)); // several reconnect attempts: still one warning
  ac.abort();
  assert.deepEqual(await done, { games: 0 });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /cannot reach Redis .* retrying/);
});

test("GameRecorder splits self-play back into its games", () => {
  const net = new MlpNetwork({ hidden: 8, blocks: 0, inputSize: ttt.inputSize, actions: ttt.actions }, getBackend("reference"));
  const rng = new Rng(3);
  net.init(rng);
  const rec = new GameRecorder(ttt, 5);
  const stats = playSelfPlayGames(ttt, networkEvaluator(ttt, net), { games: 5, concurrency: 3, simulations: 4, cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25, temperatureMoves: 4 }, rng, rec);
  const games = rec.games();
  assert.equal(games.length, stats.games);
  assert.equal(games.reduce((s, g) => s + g.z.length, 0), stats.positions);
  assert.equal(games.filter(g => g.z[0] === 0).length, stats.draws);
  for (const g of games) {
    // results alternate by mover within a decisive game, and the last mover won
    for (let p = 1; p < g.z.length; p++) assert.equal(g.z[p], g.z[0] === 0 ? 0 : -g.z[p - 1]);
    if (g.z[0] !== 0) assert.equal(g.z[g.z.length - 1], 1);
    assert.ok(g.z.length >= 5 && g.z.length <= 9);
  }
});

test("queue: a claim is atomic, a re-sent game is counted once, malformed entries are dropped, unacknowledged claims are re-queued", { skip }, async () => {
  const redis = new Redis(url), blocking = redis.duplicate();
  const keys = keysFor("q");
  try {
    const [a, b] = someGames(2, 1);
    await pushGames(redis, keys, [a, a, b]); // a twice: a worker's retry after a lost reply
    await redis.lpush(keys.games, "{not a game", JSON.stringify({ id: "x", game: "connect4", version: 0 }));
    const q = new GameQueue(redis, blocking, keys, ttt);
    const first = await q.claim(0.2), second = await q.claim(0.2), third = await q.claim(0.2);
    assert.deepEqual([first?.record.id, second?.record.id, third], [a.id, b.id, null]);
    assert.deepEqual(first!.record.z, a.z);
    assert.deepEqual([q.duplicates, q.malformed], [1, 2]);
    assert.equal(await redis.llen(keys.processing), 2, "claimed, not yet acknowledged");
    assert.equal(await q.acknowledge(), 2);
    assert.deepEqual([await redis.llen(keys.processing), (await redis.smembers(keys.consumed)).sort()], [0, [a.id, b.id].sort()]);
    // a consumed game sent again is dropped
    await pushGames(redis, keys, [a]);
    assert.equal(await q.claim(0.2), null);
    // a trainer that dies after claiming: the next one puts the claim back in the queue
    const [c] = someGames(1, 2);
    await pushGames(redis, keys, [c]);
    assert.equal((await new GameQueue(redis, blocking, keys, ttt).claim(0.2))?.record.id, c.id);
    const next = new GameQueue(redis, blocking, keys, ttt);
    assert.equal(await next.requeueUnacknowledged(), 1);
    assert.equal((await next.claim(0.2))?.record.id, c.id);
    // ...unless it died after its checkpoint took the game in: the resumed trainer settles it, not re-queues it
    const resumed = new GameQueue(redis, blocking, keys, ttt);
    await resumed.settle([c.id]);
    assert.equal(await resumed.requeueUnacknowledged(), 0);
    assert.equal(await redis.sismember(keys.consumed, c.id), 1);
  } finally { redis.disconnect(); blocking.disconnect(); }
});

interface Proc { child: ChildProcess; ids: string[]; exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; stderr: () => string }

function start(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const ids: string[] = [];
  let out = "", err = "";
  child.stdout!.on("data", d => {
    out += d;
    const lines = out.split("\n");
    out = lines.pop()!;
    for (const l of lines) if (l.startsWith("{")) ids.push((JSON.parse(l) as { game: string }).game);
  });
  child.stderr!.on("data", d => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>(r => child.on("exit", (code, signal) => r({ code, signal })));
  return { child, ids, exit, stderr: () => err };
}

test("two workers, one SIGKILLed mid-game: training continues and every finished game is consumed exactly once", { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-dist-"));
  const recipe = join(dir, "dist.yaml");
  const ITER = 8, PER = 8;
  writeFileSync(recipe, [
    "trainer: alphazero-distributed", "game: tictactoe", "seed: 5", "backend: reference", "network: { hidden: 16, blocks: 1 }", `iterations: ${ITER}`,
    `selfplay: { games_per_iteration: ${PER}, concurrency: 1, simulations: 48 }`, "train: { batch_size: 32, steps_per_iteration: 4 }",
    `distributed: { redis: "${url}", prefix: "e2e", max_queued_games: 1000 }`,
  ].join("\n") + "\n");
  const trainer = start(["selfplay", recipe, "--runs-dir", dir, "--name", "d"]);
  const redis = new Redis(url);
  const keys = keysFor("e2e");
  const workerA = start(["selfplay-worker", "--redis", url, "--prefix", "e2e", "--id", "wA", "--seed", "1", "--backend", "reference"]);
  const workerB = start(["selfplay-worker", "--redis", url, "--prefix", "e2e", "--id", "wB", "--seed", "2", "--backend", "reference"]);
  try {
    await until("worker A's second game", () => workerA.ids.length >= 2);
    workerA.child.kill("SIGKILL"); // in the middle of its next game: the game loop never waits
    const killedAt = Number(await redis.hget(keys.weights, "version"));
    assert.deepEqual(await workerA.exit, { code: null, signal: "SIGKILL" });
    const t = await trainer.exit;
    assert.equal(t.code, 0, trainer.stderr());
    workerB.child.kill("SIGTERM");
    assert.equal((await workerB.exit).code, 0, workerB.stderr());

    const metrics = readMetrics(join(dir, "d"));
    assert.equal(metrics.length, ITER, "every iteration ran");
    const consumed = readFileSync(join(dir, "d", "games.jsonl"), "utf8").trim().split("\n").map(l => JSON.parse(l) as { id: string; worker: string; version: number; positions: number; iteration: number });
    const ids = consumed.map(g => g.id);
    assert.equal(new Set(ids).size, ids.length, "no game counted twice");
    assert.equal(ids.length, ITER * PER);
    assert.equal(metrics.reduce((s, m) => s + (m["selfplay/games"] as number), 0), ids.length);
    assert.equal(metrics.at(-1)!["replay/size"], consumed.reduce((s, g) => s + g.positions, 0), "every consumed position reached the replay buffer");
    assert.deepEqual((await redis.smembers(keys.consumed)).sort(), [...ids].sort());
    assert.equal(await redis.llen(keys.processing), 0, "nothing claimed and left unacknowledged");
    // no finished game lost: everything a worker reported pushing was consumed or still waits in the queue
    const queued = (await redis.lrange(keys.games, 0, -1)).map(raw => decodeRecord(raw, ttt)!.id);
    const accounted = new Set([...ids, ...queued]);
    for (const id of [...workerA.ids, ...workerB.ids]) assert.ok(accounted.has(id), `game ${id} was lost`);
    assert.equal(accounted.size, ids.length + queued.length, "a queued game is never also consumed");
    // the killed worker's games count; after it died, worker B's games (on newer networks) kept training going
    assert.ok(consumed.filter(g => g.worker === "wA").length >= 2);
    assert.ok(consumed.some(g => g.worker === "wB" && g.version > killedAt));
    assert.deepEqual([...new Set(consumed.map(g => g.worker))].sort(), ["wA", "wB"]);
  } finally {
    for (const p of [trainer, workerA, workerB]) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    redis.disconnect();
  }
});

test("the trainer SIGKILLed mid-run and resumed: every game is trained on exactly once", { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "move37-dist-"));
  const recipe = join(dir, "resume.yaml"), runDir = join(dir, "r");
  const ITER = 6, PER = 6;
  writeFileSync(recipe, [
    "trainer: alphazero-distributed", "game: tictactoe", "seed: 7", "backend: reference", "network: { hidden: 16, blocks: 1 }", `iterations: ${ITER}`,
    `selfplay: { games_per_iteration: ${PER}, concurrency: 2, simulations: 32 }`, "train: { batch_size: 32, steps_per_iteration: 4 }",
    `distributed: { redis: "${url}", prefix: "resume" }`,
  ].join("\n") + "\n");
  const redis = new Redis(url);
  const keys = keysFor("resume");
  const first = start(["selfplay", recipe, "--runs-dir", dir, "--name", "r"]);
  const worker = start(["selfplay-worker", "--redis", url, "--prefix", "resume", "--id", "w", "--seed", "3", "--backend", "reference"]);
  let second: Proc | undefined;
  try {
    await until("two iterations", () => existsSync(join(runDir, "metrics.jsonl")) && readMetrics(runDir).length >= 2);
    first.child.kill("SIGKILL");
    await first.exit;
    second = start(["selfplay", "--resume", runDir]);
    assert.equal((await second.exit).code, 0, second.stderr());
    worker.child.kill("SIGTERM");
    await worker.exit;
    assert.equal(readMetrics(runDir).length, ITER);
    const ids = readFileSync(join(runDir, "games.jsonl"), "utf8").trim().split("\n").map(l => (JSON.parse(l) as { id: string }).id);
    assert.equal(new Set(ids).size, ids.length, "no game trained on twice");
    assert.equal(ids.length, ITER * PER, "every checkpointed iteration's games are logged");
    assert.deepEqual((await redis.smembers(keys.consumed)).sort(), [...ids].sort());
    assert.equal(await redis.llen(keys.processing), 0);
  } finally {
    for (const p of [first, worker, second]) if (p && p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    redis.disconnect();
  }
});
