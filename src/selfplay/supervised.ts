import { join } from "node:path";
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import { registerTrainer, yieldToEvents, type TrainerContext } from "../recipes/registry.js";
import type { Run } from "../runs/run.js";
import { mctsAgent, netAgent, parseAgent } from "./agents.js";
import { playArena } from "./arena.js";
import { saveCheckpoint } from "./checkpoint.js";
import { networkEvaluator } from "./evaluator.js";
import { getGame } from "./games/index.js";
import type { Game } from "./games/game.js";
import { DEFAULT_HEURISTIC_PLAYER, heuristicMove } from "./heuristic-player.js";
import { Network, NetworkConfigSchema } from "./network.js";
import { ReplayBuffer } from "./replay.js";
import { Rng } from "./rng.js";
import { trainOnBuffer } from "./training.js";

/**
 * The "human games" baseline (AlphaGo's SL policy network): a network trained by supervised
 * learning on games of the imperfect heuristic player, policy = the move it played (one-hot),
 * value = the game's result. Its checkpoint can start an AlphaZero run (`init_checkpoint`),
 * which is AlphaGo's "supervised, then self-play" path.
 */
export const SlPolicyConfig = z.object({
  game: z.enum(["tictactoe", "connect4"]),
  seed: z.number().int().default(1),
  backend: z.enum(["auto", "native", "reference"]).default("auto"),
  network: NetworkConfigSchema.prefault({}),
  /** Heuristic-player games to learn from. */
  games: z.number().int().min(1).default(5000),
  heuristic_temperature: z.number().positive().default(DEFAULT_HEURISTIC_PLAYER.temperature),
  heuristic_blunder: z.number().min(0).max(1).default(DEFAULT_HEURISTIC_PLAYER.blunder),
  steps: z.number().int().min(1).default(5000),
  batch_size: z.number().int().min(1).default(256),
  learning_rate: z.number().positive().default(2e-3),
  weight_decay: z.number().min(0).default(1e-4),
  value_weight: z.number().min(0).default(1.0),
  mirror: z.boolean().default(true),
  /** Log and checkpoint every this many steps. */
  log_every: z.number().int().min(1).default(500),
  /** Opponents the network (MCTS at `eval_simulations`) plays at each log, e.g. ["heuristic", "alphabeta:2"]. */
  opponents: z.array(z.string()).default([]),
  opponent_games: z.number().int().min(2).default(20),
  eval_simulations: z.number().int().min(1).default(50),
}).strict();
export type SlPolicyConfig = z.output<typeof SlPolicyConfig>;

/** Heuristic-vs-heuristic games into a buffer: (position, one-hot move played, result for the mover). */
export function heuristicGames(game: Game, games: number, rng: Rng, opts = DEFAULT_HEURISTIC_PLAYER): ReplayBuffer {
  const records: Array<{ x: Float32Array; pi: Float32Array; z: number }> = [];
  for (let g = 0; g < games; g++) {
    let s = game.initial();
    const hist: Array<{ x: Float32Array; pi: Float32Array; toPlay: number }> = [];
    while (s.result() === null) {
      const a = heuristicMove(s, rng, opts);
      const x = new Float32Array(game.inputSize);
      s.encode(x, 0);
      const pi = new Float32Array(game.actions);
      pi[a] = 1;
      hist.push({ x, pi, toPlay: s.toPlay });
      s = s.play(a);
    }
    const winner = s.result() === 0 ? -1 : 1 - s.toPlay;
    for (const h of hist) records.push({ x: h.x, pi: h.pi, z: winner < 0 ? 0 : h.toPlay === winner ? 1 : -1 });
  }
  const buffer = new ReplayBuffer(game, records.length);
  for (const r of records) buffer.add(r.x, r.pi, r.z);
  return buffer;
}

export async function runSlPolicy(config: SlPolicyConfig, run: Run, ctx: TrainerContext): Promise<void> {
  const game = getGame(config.game);
  const backend = getBackend(config.backend);
  const rng = new Rng(config.seed);
  const net = new Network({ ...config.network, inputSize: game.inputSize, actions: game.actions }, backend);
  net.init(rng);
  const t0 = performance.now();
  const buffer = heuristicGames(game, config.games, rng, { temperature: config.heuristic_temperature, blunder: config.heuristic_blunder });
  ctx.log(`${config.games} heuristic games, ${buffer.size} positions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const bar = ctx.progress({ total: config.steps, fields: [{ label: "pol", metric: "loss/policy" }, { label: "val", metric: "loss/value" }] });
  for (let step = 0; step < config.steps && !ctx.signal.aborted;) {
    await yieldToEvents(); // lets Ctrl-C reach ctx.signal
    const n = Math.min(config.log_every, config.steps - step);
    const losses = trainOnBuffer(net, buffer, {
      steps: n, batchSize: config.batch_size, learningRate: config.learning_rate,
      weightDecay: config.weight_decay, valueWeight: config.value_weight, mirror: config.mirror,
    }, rng);
    step += n;
    const metrics: Record<string, number | null> = { "loss/policy": losses.policyLoss, "loss/value": losses.valueLoss, "data/positions": buffer.size };
    const ev = networkEvaluator(game, net);
    for (const spec of config.opponents) {
      const opp = parseAgent(spec, game, backend, config.seed);
      metrics[`eval/score_vs_${spec}`] = playArena(game, mctsAgent("sl", game, ev, config.eval_simulations), opp,
        { games: config.opponent_games, openingPlies: 2, seed: config.seed + step }).score;
      metrics[`eval/net_score_vs_${spec}`] = playArena(game, netAgent("sl-net", ev), opp,
        { games: config.opponent_games, openingPlies: 2, seed: config.seed + step }).score;
    }
    metrics["time/elapsed_seconds"] = (performance.now() - t0) / 1000;
    saveCheckpoint(join(run.checkpointsDir, "best.safetensors"), game, net, { step, trainer: "sl-policy" });
    run.logMetrics(step, metrics);
    bar.update(step, metrics);
  }
  bar.stop();
}

export const slPolicy = registerTrainer({
  name: "sl-policy",
  description: "supervised policy/value network on an imperfect heuristic player's games (AlphaGo's human-data baseline)",
  schema: SlPolicyConfig,
  run: runSlPolicy,
});
