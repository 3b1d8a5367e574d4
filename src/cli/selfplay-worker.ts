// `move37 selfplay-worker --redis URL`: plays self-play games for a distributed AlphaZero run (recipe
// trainer `alphazero-distributed`, started with `move37 selfplay RECIPE`) and pushes them through Redis.
import { InvalidArgumentError, type Command } from "commander";
import { DEFAULT_PREFIX } from "../selfplay/distributed/keys.js";
import { withExamples } from "./help.js";
import { output } from "./output.js";

interface Options { redis: string; prefix: string; games?: number; seed?: number; id?: string; backend: "auto" | "native" | "reference"; quiet?: boolean }

export function register(program: Command): void {
  const cmd = program
    .command("selfplay-worker")
    .description("play self-play games for a distributed AlphaZero run (a recipe with trainer: alphazero-distributed): fetches the trainer's current network from Redis, plays with MCTS, pushes each finished game; prints one JSON line per game. Killed at any moment it loses only the game it was playing")
    .option("--redis <url>", "Redis server the trainer uses", "redis://127.0.0.1:6379")
    .option("--prefix <prefix>", "the run's key prefix (the recipe's distributed.prefix)", DEFAULT_PREFIX)
    .option("--games <n>", "stop after this many games (default: run until stopped)", count)
    .option("--seed <n>", "random seed (default: random)", count)
    .option("--id <name>", "worker name in game ids and the trainer's games.jsonl (default: host-pid)")
    .option("--backend <name>", "auto, native or reference", "auto")
    .option("--quiet", "print nothing per game")
    .action(async (opts: Options) => {
      const ac = new AbortController();
      process.once("SIGINT", () => ac.abort());
      process.once("SIGTERM", () => ac.abort());
      const { runWorker } = await import("../selfplay/distributed/worker.js"); // and ioredis with it: only this verb needs them
      await runWorker({
        redisUrl: opts.redis, prefix: opts.prefix, id: opts.id, seed: opts.seed, maxGames: opts.games, backend: opts.backend, signal: ac.signal,
        warn: m => output.err(`selfplay-worker: ${m}\n`),
        onGames: records => { if (!opts.quiet) for (const r of records) output.out(JSON.stringify({ game: r.id, version: r.version, positions: r.z.length }) + "\n"); },
      });
    });
  withExamples(cmd, [
    "move37 selfplay-worker --redis redis://trainer-host:6379",
    "move37 selfplay-worker --redis redis://127.0.0.1:6379 --prefix move37:c4 --games 100",
    "move37 selfplay my-distributed.yaml --distributed.redis=redis://127.0.0.1:6379 --distributed.workers=2",
  ]);
}

function count(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a whole number, got "${text}".`);
  return n;
}
