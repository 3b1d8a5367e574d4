import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import { yieldToEvents, type Trainer, type TrainerContext } from "../recipes/registry.js";
import type { Run } from "../runs/run.js";
import { mctsAgent, netAgent, parseAgent } from "./agents.js";
import { playArena } from "./arena.js";
import { NetworkCheckpointError, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { networkEvaluator } from "./evaluator.js";
import { getGame } from "./games/index.js";
import type { Game } from "./games/game.js";
import { DEFAULT_HEURISTIC_PLAYER, heuristicMove } from "./heuristic-player.js";
import { NetworkConfigSchema, createNetwork, shapeFor } from "./network.js";
import { ReplayBuffer } from "./replay.js";
import { Rng } from "../rng.js";
import { networkOptimizer, trainOnBuffer } from "./training.js";

/**
 * The "human games" baseline (AlphaGo's SL policy network): a network trained by supervised
 * learning on games of the imperfect heuristic player, policy = the move it played (one-hot),
 * value = the game's result. Its checkpoint can start an AlphaZero run (`init_checkpoint`),
 * which is AlphaGo's "supervised, then self-play" path. Every `log_every` steps it logs metrics, then writes
 * best.safetensors (weights) and latest.safetensors (weights, AdamW moments, step, generator state, the
 * dataset's digest) atomically, so --resume continues exactly as the uninterrupted run.
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
  /** Log and checkpoint every this many steps (a kill loses at most this much work). */
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

const LATEST = "latest.safetensors", BEST = "best.safetensors";

/** SHA-256 of a buffer's positions: a resumed run checks that it regenerated the very games it trained on. */
function datasetDigest(b: ReplayBuffer): string {
  const h = createHash("sha256");
  for (const a of [b.x, b.pi, b.z]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest("hex");
}

export async function runSlPolicy(config: SlPolicyConfig, run: Run, ctx: TrainerContext): Promise<void> {
  const game = getGame(config.game);
  const backend = getBackend(config.backend);
  let rng = new Rng(config.seed);
  let net = createNetwork(shapeFor(config.network, game), backend);
  net.init(rng);
  const t0 = performance.now();
  // The games are regenerated from the seed on --resume rather than stored: 5000 Connect Four games are ~50 MB of
  // planes but a few seconds of play. The generator state saved with each checkpoint is the data position.
  const buffer = heuristicGames(game, config.games, rng, { temperature: config.heuristic_temperature, blunder: config.heuristic_blunder });
  const digest = datasetDigest(buffer);
  ctx.log(`${config.games} heuristic games, ${buffer.size} positions in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  let step = 0, elapsedBefore = 0;
  let restored: ReturnType<typeof loadCheckpoint>["optimizer"] = null;
  const latestPath = join(run.checkpointsDir, LATEST), bestPath = join(run.checkpointsDir, BEST);
  if (ctx.resume) {
    if (existsSync(latestPath)) {
      const ck = loadCheckpoint(latestPath, backend);
      if (!ck.optimizer) throw new NetworkCheckpointError(latestPath, "has no AdamW moments, so the run cannot continue exactly");
      if (ck.meta.dataset !== digest)
        throw new NetworkCheckpointError(latestPath, "the heuristic games regenerated from the seed differ from the ones this run trained on (the heuristic player changed since); start a new run");
      net = ck.net;
      restored = ck.optimizer;
      step = ck.meta.trained_steps as number;
      elapsedBefore = ck.meta.elapsed_seconds as number;
      rng = Rng.fromState(ck.meta.rng as [number, number, number, number]);
    }
    run.rewind(step); // also drops a line logged just before a kill that came ahead of the first checkpoint
    ctx.log(`resumed at step ${step}`);
  }

  const optimizer = networkOptimizer(net, backend, config.learning_rate, config.weight_decay);
  if (restored) optimizer.load(restored);
  const bar = ctx.progress({ total: config.steps, startStep: step, fields: [{ label: "pol", metric: "loss/policy" }, { label: "val", metric: "loss/value" }] });
  const tLoop = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - tLoop) / 1000;
  while (step < config.steps && !ctx.signal.aborted) {
    await yieldToEvents(); // lets Ctrl-C reach ctx.signal
    const n = Math.min(config.log_every, config.steps - step);
    const losses = trainOnBuffer(net, optimizer, buffer, {
      steps: n, batchSize: config.batch_size, learningRate: config.learning_rate, valueWeight: config.value_weight, mirror: config.mirror,
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
    metrics["time/elapsed_seconds"] = elapsed();
    // Logged before the checkpoint: a kill between the two leaves a line --resume rewinds, never a checkpointed
    // step without its line. Both files are written atomically; best first, so latest never runs ahead of it.
    run.logMetrics(step, metrics);
    saveCheckpoint(bestPath, game, net, { trained_steps: step, trainer: "sl-policy" });
    saveCheckpoint(latestPath, game, net,
      { trained_steps: step, trainer: "sl-policy", elapsed_seconds: elapsed(), rng: rng.state(), dataset: digest }, optimizer);
    bar.update(step, metrics);
  }
  bar.stop();
}

export const slPolicy: Trainer<typeof SlPolicyConfig> = {
  name: "sl-policy",
  description: "supervised policy/value network on an imperfect heuristic player's games (AlphaGo's human-data baseline)",
  schema: SlPolicyConfig,
  run: runSlPolicy,
};
