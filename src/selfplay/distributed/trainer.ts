// The distributed AlphaZero trainer (recipe `trainer: alphazero-distributed`): self-play happens in
// worker processes (`move37 selfplay-worker`, here or on other machines) that share a Redis server
// with it. Each iteration it publishes its network, takes `games_per_iteration` finished games from
// the queue into its replay buffer, trains, writes a checkpoint, and only then acknowledges those
// games: a trainer that dies before the checkpoint leaves them for its --resume to re-queue and train
// on again; one that dies after it has them acknowledged on --resume from the checkpoint's list, so no
// game is ever trained on twice. AlphaZero's variant, not AlphaGo Zero's: no gate, workers always play the latest network.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { getBackend } from "../../engine/index.js";
import { yieldToEvents, type Trainer, type TrainerContext } from "../../recipes/registry.js";
import type { Run } from "../../runs/run.js";
import { AlphaZeroConfig } from "../alphazero.js";
import { NetworkCheckpointError, loadCheckpoint, saveCheckpoint } from "../checkpoint.js";
import { getGame } from "../games/index.js";
import { createNetwork, shapeFor } from "../network.js";
import { ReplayBuffer } from "../replay.js";
import { Rng } from "../../rng.js";
import { networkOptimizer, trainOnBuffer } from "../training.js";
import { DEFAULT_PREFIX, keysFor } from "./keys.js";
import { GameQueue } from "./queue.js";
import { abortable, connectRedis, StoppedError } from "./redis.js";
import { publishWeights, type WorkerConfig } from "./weights.js";

export const DistributedAlphaZeroConfig = AlphaZeroConfig.omit({ evaluate: true }).extend({
  distributed: z.object({
    redis: z.string().default("redis://127.0.0.1:6379"),
    /** Key prefix: runs sharing a Redis server need different prefixes. */
    prefix: z.string().min(1).default(DEFAULT_PREFIX),
    /** Worker processes to start on this machine (0 = only workers started elsewhere). */
    workers: z.number().int().min(0).default(0),
    /** Workers pause while this many games wait unclaimed; null = 2 × games_per_iteration. */
    max_queued_games: z.number().int().min(1).nullable().default(null),
  }).strict().prefault({}),
}).strict();
export type DistributedAlphaZeroConfig = z.output<typeof DistributedAlphaZeroConfig>;

const LATEST = "latest.safetensors", BEST = "best.safetensors", GAMES_LOG = "games.jsonl";
const CLI = fileURLToPath(new URL("../../../bin/move37.js", import.meta.url));

export async function runDistributedAlphaZero(config: DistributedAlphaZeroConfig, run: Run, ctx: TrainerContext): Promise<void> {
  const game = getGame(config.game);
  const backend = getBackend(config.backend);
  const sp = config.selfplay, tr = config.train, dist = config.distributed;
  let net = createNetwork(shapeFor(config.network, game), backend);
  const buffer = new ReplayBuffer(game, tr.replay_capacity);
  let rng = new Rng(config.seed);
  let iteration = 0, elapsedBefore = 0;
  /** The last checkpointed iteration's games (games.jsonl lines), when resuming. */
  let checkpointed: string[] = [];
  const latestPath = join(run.checkpointsDir, LATEST);
  let restored: ReturnType<typeof loadCheckpoint>["optimizer"] = null;
  if (ctx.resume && existsSync(latestPath)) {
    const ck = loadCheckpoint(latestPath, backend);
    net = ck.net;
    restored = ck.optimizer;
    iteration = ck.meta.iteration as number;
    elapsedBefore = ck.meta.elapsed_seconds as number;
    rng = Rng.fromState(ck.meta.rng as [number, number, number, number]);
    checkpointed = (ck.meta.games as string[] | undefined) ?? [];
    run.rewind(iteration);
    ctx.log(`resumed at iteration ${iteration}; the replay buffer refills from the queue`);
  } else if (config.init_checkpoint) {
    const ck = loadCheckpoint(config.init_checkpoint, backend);
    if (ck.game.name !== game.name) throw new NetworkCheckpointError(config.init_checkpoint, `init_checkpoint is a ${ck.game.name} network but the recipe plays ${game.name}`);
    net.copyFrom(ck.net);
  } else net.init(rng);
  const optimizer = networkOptimizer(net, backend, tr.learning_rate, tr.weight_decay);
  if (restored) optimizer.load(restored);

  const keys = keysFor(dist.prefix);
  const redis = await connectRedis(dist.redis, m => ctx.log(m), true);
  const blocking = await connectRedis(dist.redis, () => { /* the first connection reports outages */ }, true); // BLMOVE holds its connection
  const workers: ChildProcess[] = [];
  let stopping = false;
  // Ctrl-C also ends a claim waiting on an unreachable Redis; other commands (an acknowledgement) complete
  const cmd = abortable(ctx.signal);
  try {
    // a new run starts from an empty queue; a resumed one keeps its queue and re-queues unacknowledged claims
    if (!ctx.resume) await redis.del(keys.weights, keys.games, keys.processing, keys.consumed);
    const queue = new GameQueue(redis, blocking, keys, game);
    const lastGames = checkpointed.map(l => JSON.parse(l) as { id: string });
    await queue.settle(lastGames.map(g => g.id));
    const logPath = join(run.dir, GAMES_LOG);
    // the checkpoint's games reach the log even when the trainer died before writing them there
    const logged = new Set((existsSync(logPath) ? readFileSync(logPath, "utf8") : "").split("\n").filter(Boolean).map(l => (JSON.parse(l) as { id: string }).id));
    appendFileSync(logPath, checkpointed.filter((_l, i) => !logged.has(lastGames[i].id)).map(l => l + "\n").join(""));
    const requeued = await queue.requeueUnacknowledged();
    if (requeued > 0) ctx.log(`re-queued ${requeued} games a previous trainer claimed but never checkpointed`);
    const workerConfig: WorkerConfig = {
      game: game.name, network: config.network, simulations: sp.simulations,
      c_puct: sp.c_puct, dirichlet_alpha: sp.dirichlet_alpha, dirichlet_weight: sp.dirichlet_weight, temperature_moves: sp.temperature_moves,
      leaves_per_tree: sp.leaves_per_tree, value_target_q: sp.value_target_q, test_time_mirror: sp.test_time_mirror, playout_cap: sp.playout_cap, concurrency: sp.concurrency, max_queued_games: dist.max_queued_games ?? 2 * sp.games_per_iteration,
    };
    await publishWeights(redis, keys, iteration, workerConfig, net);
    for (let k = 0; k < dist.workers; k++) {
      const child = spawn(process.execPath, [CLI, "selfplay-worker", "--redis", dist.redis, "--prefix", dist.prefix, "--seed", String(config.seed * 1000 + k), "--quiet"], { stdio: ["ignore", "ignore", "inherit"] });
      child.on("exit", (code, signal) => { if (!stopping) ctx.log(`local worker ${k + 1} exited (${signal ?? `code ${code}`}); its current game is lost, the others go on`); });
      workers.push(child);
    }

    const bar = ctx.progress({
      total: config.iterations, startStep: iteration,
      fields: [{ label: "pol", metric: "loss/policy" }, { label: "val", metric: "loss/value" }, { label: "len", metric: "selfplay/mean_length" }, { label: "workers", metric: "distributed/workers" }],
    });
    const t0 = performance.now();
    const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
    while (iteration < config.iterations && !ctx.signal.aborted) {
      await yieldToEvents();
      if (config.max_minutes !== null && elapsed() >= config.max_minutes * 60) { ctx.log(`time limit of ${config.max_minutes} min reached`); break; }
      const tSp = performance.now();
      let games = 0, positions = 0, firstWins = 0, draws = 0, staleness = 0;
      const seen = new Set<string>(), log: string[] = [];
      let hinted = false;
      while (games < sp.games_per_iteration && !ctx.signal.aborted) {
        const c = await cmd(queue.claim(0.5)).catch(e => { if (e instanceof StoppedError) return null; throw e; });
        if (!c) {
          if (!hinted && games === 0 && performance.now() - tSp > 15_000) {
            hinted = true;
            ctx.log(`no games for 15 s: start workers with \`move37 selfplay-worker --redis ${dist.redis} --prefix ${dist.prefix}\` (or set distributed.workers)`);
          }
          await yieldToEvents();
          continue;
        }
        const { record: r } = c, I = game.inputSize, A = game.actions;
        for (let p = 0; p < r.z.length; p++) buffer.add(r.x.subarray(p * I, (p + 1) * I), r.pi.subarray(p * A, (p + 1) * A), r.z[p]);
        games++;
        positions += r.z.length;
        if (r.z[0] === 1) firstWins++; else if (r.z[0] === 0) draws++;
        staleness += iteration - r.version;
        seen.add(r.worker);
        log.push(JSON.stringify({ iteration: iteration + 1, id: r.id, worker: r.worker, version: r.version, positions: r.z.length }));
      }
      if (games < sp.games_per_iteration) break; // interrupted while collecting: the claims stay unacknowledged, a resume re-queues them
      iteration++;
      const spSeconds = (performance.now() - tSp) / 1000;
      const tTr = performance.now();
      const losses = trainOnBuffer(net, optimizer, buffer, {
        steps: tr.steps_per_iteration, batchSize: tr.batch_size, learningRate: tr.learning_rate, valueWeight: tr.value_weight, mirror: tr.mirror,
      }, rng);
      const trSeconds = (performance.now() - tTr) / 1000;
      const metrics = {
        "selfplay/games": games, "selfplay/positions": positions, "selfplay/mean_length": positions / games,
        "selfplay/first_player_win_rate": firstWins / games, "selfplay/draw_rate": draws / games,
        "selfplay/games_per_second": games / spSeconds, "selfplay/seconds": spSeconds, "replay/size": buffer.size,
        "loss/policy": losses.policyLoss, "loss/value": losses.valueLoss, "train/seconds": trSeconds,
        "distributed/workers": seen.size, "distributed/mean_staleness": staleness / games,
        "distributed/duplicates": queue.duplicates, "distributed/malformed": queue.malformed,
        "distributed/queued": await redis.llen(keys.games), "time/elapsed_seconds": elapsed(),
      };
      // Logged before the checkpoint: a kill between the two leaves a line that --resume rewinds, never a checkpointed
      // iteration without its line.
      run.logMetrics(iteration, metrics);
      saveCheckpoint(join(run.checkpointsDir, BEST), game, net, { iteration });
      saveCheckpoint(latestPath, game, net, { iteration, elapsed_seconds: elapsed(), rng: rng.state(), games: log }, optimizer);
      await queue.acknowledge(); // only now: these games are in a checkpointed network
      appendFileSync(logPath, log.map(l => l + "\n").join(""));
      await publishWeights(redis, keys, iteration, workerConfig, net);
      bar.update(iteration, metrics);
    }
    bar.stop();
  } finally {
    stopping = true;
    for (const w of workers) w.kill("SIGTERM");
    redis.disconnect();
    blocking.disconnect();
  }
}

export const alphazeroDistributed: Trainer<typeof DistributedAlphaZeroConfig> = {
  name: "alphazero-distributed",
  description: "AlphaZero with self-play in worker processes or machines (move37 selfplay-worker) coordinated through Redis",
  schema: DistributedAlphaZeroConfig,
  run: runDistributedAlphaZero,
};
