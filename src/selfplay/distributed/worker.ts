// A self-play worker: fetches the trainer's current network from Redis whenever its version changes,
// plays games with MCTS (the same playSelfPlayGames as in-process AlphaZero) and pushes each finished
// batch in one LPUSH. It keeps no state worth saving: killed at any moment, it loses only the games it
// was playing (`concurrency` of them, 1 by default in the workers' config).
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { getBackend } from "../../engine/index.js";
import { networkEvaluator } from "../evaluator.js";
import { getGame } from "../games/index.js";
import type { Game } from "../games/game.js";
import { createNetwork, shapeFor, type PolicyValueNetwork } from "../network.js";
import { Rng } from "../../rng.js";
import { playSelfPlayGames, playoutCapOption } from "../selfplay-games.js";
import { DEFAULT_PREFIX, keysFor } from "./keys.js";
import { pushGames } from "./queue.js";
import { abortable, connectRedis, StoppedError } from "./redis.js";
import { GameRecorder, type GameRecord } from "./record.js";
import { fetchWeights, weightsVersion, WeightsError, type WorkerConfig } from "./weights.js";

export interface WorkerOptions {
  redisUrl: string;
  prefix?: string;
  /** Names this worker in game ids and logs. Default host-pid. */
  id?: string;
  seed?: number;
  /** Stop after this many games (default: until the signal aborts). */
  maxGames?: number;
  backend?: "auto" | "native" | "reference";
  signal?: AbortSignal;
  /** Reports a Redis outage (once per outage). Default: process.emitWarning. */
  warn?: (message: string) => void;
  /** Called after each push with the games it held. */
  onGames?: (records: GameRecord[]) => void;
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

export async function runWorker(opts: WorkerOptions): Promise<{ games: number }> {
  const keys = keysFor(opts.prefix ?? DEFAULT_PREFIX);
  const worker = opts.id ?? `${hostname()}-${process.pid}`;
  const rng = new Rng(opts.seed ?? randomBytes(4).readUInt32LE(0));
  const backend = getBackend(opts.backend ?? "auto");
  // a worker may start before Redis and waits out a Redis restart instead of failing
  const redis = await connectRedis(opts.redisUrl, opts.warn ?? (m => process.emitWarning(m)), false);
  let net: PolicyValueNetwork | undefined, game: Game | undefined, config: WorkerConfig | undefined, version = -1;
  let played = 0, seq = 0;
  const stopped = () => opts.signal?.aborted || (opts.maxGames !== undefined && played >= opts.maxGames);
  const cmd = abortable(opts.signal);
  try {
    while (!stopped()) {
      const v = await cmd(weightsVersion(redis, keys));
      if (v === null) { await sleep(250); continue; } // no trainer yet
      if (v !== version) {
        const w = await cmd(fetchWeights(redis, keys));
        if (!w) continue;
        if (!net || !config || config.game !== w.config.game || JSON.stringify(config.network) !== JSON.stringify(w.config.network)) {
          game = getGame(w.config.game);
          net = createNetwork(shapeFor(w.config.network, game), backend);
        }
        if (w.params.length !== net.size) throw new WeightsError(`${w.params.length} parameters for a network of ${net.size}`);
        net.flatParams.set(w.params);
        ({ version, config } = w);
      }
      if ((await cmd(redis.llen(keys.games))) >= config!.max_queued_games) { await sleep(100); continue; } // the trainer is behind
      const c = config!, g = game!;
      const n = Math.min(c.concurrency, opts.maxGames === undefined ? Infinity : opts.maxGames - played);
      const recorder = new GameRecorder(g, n);
      playSelfPlayGames(g, networkEvaluator(g, net!, { mirror: c.test_time_mirror }), {
        games: n, concurrency: n, simulations: c.simulations, cPuct: c.c_puct, dirichletAlpha: c.dirichlet_alpha,
        dirichletWeight: c.dirichlet_weight, temperatureMoves: c.temperature_moves, leavesPerTree: c.leaves_per_tree,
        valueTargetQ: c.value_target_q, playoutCap: playoutCapOption(c.playout_cap),
      }, rng, recorder);
      const records = recorder.games().map(p => ({ id: `${worker}:${seq++}:${randomBytes(4).toString("hex")}`, worker, version, game: g.name, ...p }));
      await cmd(pushGames(redis, keys, records));
      played += records.length;
      opts.onGames?.(records);
      await new Promise(r => setImmediate(r)); // lets SIGTERM reach the signal between batches
    }
  } catch (e) {
    if (!(e instanceof StoppedError)) throw e;
  } finally {
    redis.disconnect();
  }
  return { games: played };
}
