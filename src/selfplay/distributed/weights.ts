// The network workers play with, versioned in one Redis hash: publishing writes version, config and
// parameters in a single HSET (atomic), and a worker reads all three in a single HMGET, so it never
// mixes one version's parameters with another's config.
import type { Redis } from "ioredis";
import { z } from "zod";
import { PlayoutCapSchema } from "../selfplay-games.js";
import type { PolicyValueNetwork } from "../network.js";
import { NetworkConfigSchema } from "../network.js";
import type { Keys } from "./keys.js";

/** What a worker needs besides the parameters: the game, the network shape and how to search. */
export const WorkerConfig = z.object({
  game: z.enum(["tictactoe", "connect4"]),
  network: NetworkConfigSchema,
  simulations: z.number().int().min(1),
  c_puct: z.number().positive(),
  dirichlet_alpha: z.number().positive(),
  dirichlet_weight: z.number().min(0).max(1),
  temperature_moves: z.number().int().min(0),
  /** Default for weights published before the option existed. */
  leaves_per_tree: z.number().int().min(1).default(1),
  /** Weight of the root value in the value target (the alphazero recipe's selfplay.value_target_q); default as above. */
  value_target_q: z.number().min(0).max(1).default(0),
  /** The recipe's selfplay.test_time_mirror (evaluator.ts); default for weights published before the option existed. */
  test_time_mirror: z.boolean().default(false),
  /** The recipe's selfplay.playout_cap (selfplay-games.ts); default for weights published before the option existed. */
  playout_cap: PlayoutCapSchema.nullable().default(null),
  /** Games one worker plays at once (its network batch size); a worker that dies loses these. */
  concurrency: z.number().int().min(1),
  /** Workers pause while the queue holds this many unclaimed games (back-pressure). */
  max_queued_games: z.number().int().min(1),
}).strict();
export type WorkerConfig = z.infer<typeof WorkerConfig>;

export interface Weights { version: number; config: WorkerConfig; params: Float32Array }

export async function publishWeights(redis: Redis, keys: Keys, version: number, config: WorkerConfig, net: PolicyValueNetwork): Promise<void> {
  const p = net.flatParams;
  await redis.hset(keys.weights, { version: String(version), config: JSON.stringify(config), params: Buffer.from(p.buffer, p.byteOffset, p.byteLength) });
}

/** The published version, or null before the trainer has published any. */
export async function weightsVersion(redis: Redis, keys: Keys): Promise<number | null> {
  const v = await redis.hget(keys.weights, "version");
  return v === null ? null : Number(v);
}

export class WeightsError extends Error {
  constructor(why: string) {
    super(`published self-play weights are unusable: ${why}; restart the trainer (it republishes) or check that workers and trainer run the same Move37 version`);
    this.name = "WeightsError";
  }
}

export async function fetchWeights(redis: Redis, keys: Keys): Promise<Weights | null> {
  const [version, config, params] = await redis.hmgetBuffer(keys.weights, "version", "config", "params");
  if (!version || !config || !params) return null;
  const parsed = WorkerConfig.safeParse(JSON.parse(config.toString("utf8")));
  if (!parsed.success) throw new WeightsError(parsed.error.issues.map(i => `${i.path.join(".")}: ${i.message}`).join("; "));
  if (params.byteLength % 4 !== 0) throw new WeightsError(`${params.byteLength} parameter bytes is not a whole number of floats`);
  const copy = new Float32Array(params.byteLength / 4);
  new Uint8Array(copy.buffer).set(params);
  return { version: Number(version.toString("utf8")), config: parsed.data, params: copy };
}
