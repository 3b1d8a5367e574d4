import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { getBackend } from "../engine/index.js";
import { SafetensorsFile, writeSafetensors } from "../model/io/safetensors.js";
import { yieldToEvents, type Trainer, type TrainerContext } from "../recipes/registry.js";
import type { Run } from "../runs/run.js";
import { lrMultiplier, ScheduleConfigSchema } from "../train/schedule.js";
import { mctsAgent, parseAgent } from "./agents.js";
import { playArena } from "./arena.js";
import { NetworkCheckpointError, loadCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { networkEvaluator } from "./evaluator.js";
import { getGame } from "./games/index.js";
import { NetworkConfigSchema, createNetwork, describeNetwork, networkConfigOf, shapeFor } from "./network.js";
import { evaluatePons, loadPonsSet, type PonsPosition } from "./pons.js";
import { ReplayBuffer } from "./replay.js";
import { Rng } from "../rng.js";
import { playSelfPlayGames, playoutCapOption, PlayoutCapSchema } from "./selfplay-games.js";
import { networkOptimizer, trainOnBuffer } from "./training.js";

/**
 * The AlphaZero loop (AlphaGo Zero's gated variant): each iteration the best network plays
 * itself with MCTS, the positions go to the replay buffer, the candidate network trains on
 * minibatches from it, and every `evaluate.every` iterations the candidate plays the best; it
 * is promoted when it scores at least `promote_threshold`. After every iteration, each file written
 * atomically: the replay buffer as replay-<iteration>.safetensors, best.safetensors, then the commit
 * point latest.safetensors (candidate + optimizer + the best network + generator state + the name of
 * its replay file). Whenever a SIGKILL lands, --resume finds a consistent latest and continues exactly.
 */
export const AlphaZeroConfig = z.object({
  game: z.enum(["tictactoe", "connect4"]),
  seed: z.number().int().default(1),
  backend: z.enum(["auto", "native", "reference"]).default("auto"),
  network: NetworkConfigSchema.prefault({}),
  /** Start from these weights (e.g. the supervised baseline) instead of a random network. */
  init_checkpoint: z.string().nullable().default(null),
  iterations: z.number().int().min(1).default(100),
  /** Stop after this many minutes of wall time (checked between iterations); null = no limit. */
  max_minutes: z.number().positive().nullable().default(null),
  selfplay: z.object({
    games_per_iteration: z.number().int().min(1).default(64),
    /** Games played at once: the network's batch size during self-play. */
    concurrency: z.number().int().min(1).default(64),
    simulations: z.number().int().min(1).default(100),
    c_puct: z.number().positive().default(1.5),
    dirichlet_alpha: z.number().positive().default(1.0),
    dirichlet_weight: z.number().min(0).max(1).default(0.25),
    /** Plies played with temperature 1 (sampled from visit counts); after that, the most visited move. */
    temperature_moves: z.number().int().min(0).default(10),
    /** Leaves each game's tree adds to one network batch, kept apart by virtual loss (for few concurrent games). */
    leaves_per_tree: z.number().int().min(1).default(1),
    /** Weight of the search's root value in the value target: (1 − w)·result + w·root value (0 = result only). */
    value_target_q: z.number().min(0).max(1).default(0),
    /** Evaluate each leaf as the mean of the position and its left-right mirror (twice the network's work): evaluator.ts. */
    test_time_mirror: z.boolean().default(false),
    /**
     * Playout-cap randomisation (KataGo): a move is a full search (`simulations`) with this probability, else a fast one
     * of `fast_simulations`, and only full searches are recorded for training (selfplay-games.ts). null = every move full.
     */
    playout_cap: PlayoutCapSchema.nullable().default(null),
  }).strict().prefault({}).refine(sp => sp.playout_cap === null || sp.playout_cap.fast_simulations < sp.simulations,
    { message: "playout_cap.fast_simulations must be below simulations (the full search's count)", path: ["playout_cap", "fast_simulations"] }),
  /**
   * Learning-rate schedule over the run's budget (Hugging Face's names; warmup_steps counts iterations). Progress is
   * the larger of iterations done / iterations and minutes / max_minutes, so a run stopped by its time limit decays on time.
   */
  schedule: ScheduleConfigSchema.default(ScheduleConfigSchema.parse({ lr_scheduler_type: "constant" })),
  train: z.object({
    batch_size: z.number().int().min(1).default(256),
    steps_per_iteration: z.number().int().min(1).default(100),
    learning_rate: z.number().positive().default(2e-3),
    weight_decay: z.number().min(0).default(1e-4),
    value_weight: z.number().min(0).default(1.0),
    replay_capacity: z.number().int().min(1).default(100_000),
    /** Left-right mirror augmentation. */
    mirror: z.boolean().default(true),
  }).strict().prefault({}),
  evaluate: z.object({
    /** Evaluate every this many iterations (0 = never: no gate, the candidate is always promoted). */
    every: z.number().int().min(0).default(1),
    /**
     * AlphaGo Zero's gate: at each evaluation the candidate plays the best and replaces it at ≥ promote_threshold.
     * false = AlphaZero's variant: self-play always uses the latest network; evaluations only measure it.
     */
    gate: z.boolean().default(true),
    games: z.number().int().min(2).default(40),
    simulations: z.number().int().min(1).default(50),
    promote_threshold: z.number().min(0).max(1).default(0.55),
    /** Random plies before each evaluation pair (each opening is played with both colours). */
    opening_plies: z.number().int().min(0).default(2),
    /** Fixed opponents the best network (MCTS at `simulations`) plays after each gate, e.g. ["alphabeta:4"]. */
    opponents: z.array(z.string()).default([]),
    opponent_games: z.number().int().min(2).default(20),
    /** Connect Four only: positions of each listed Pons set scored by the best network after each gate. */
    pons_sets: z.array(z.string()).default([]),
    pons_positions: z.number().int().min(1).default(200),
    /** The measured agents (gate, opponents, Pons) average each evaluation with the mirrored position's. */
    test_time_mirror: z.boolean().default(false),
  }).strict().prefault({}),
}).strict();
export type AlphaZeroConfig = z.output<typeof AlphaZeroConfig>;

const LATEST = "latest.safetensors", BEST = "best.safetensors";
/** Runs from before the replay file was named by its iteration (and latest held the best network) wrote these. */
const LEGACY_REPLAY = "replay.safetensors";
const replayFile = (iteration: number) => `replay-${iteration}.safetensors`;

export async function runAlphaZero(config: AlphaZeroConfig, run: Run, ctx: TrainerContext): Promise<void> {
  const game = getGame(config.game);
  const backend = getBackend(config.backend);
  const shape = shapeFor(config.network, game);
  let candidate = createNetwork(shape, backend);
  const best = createNetwork(shape, backend);
  const buffer = new ReplayBuffer(game, config.train.replay_capacity);
  let rng = new Rng(config.seed);
  let iteration = 0, promotions = 0, elapsedBefore = 0;

  const latestPath = join(run.checkpointsDir, LATEST), bestPath = join(run.checkpointsDir, BEST);
  let restored: ReturnType<typeof loadCheckpoint>["optimizer"] = null;
  if (ctx.resume && existsSync(latestPath)) {
    const ck = loadCheckpoint(latestPath, backend, ["best"]);
    candidate = ck.net;
    restored = ck.optimizer;
    best.copyFrom(ck.companions.best ?? loadCheckpoint(bestPath, backend).net);
    iteration = ck.meta.iteration as number;
    promotions = ck.meta.promotions as number;
    elapsedBefore = ck.meta.elapsed_seconds as number;
    rng = Rng.fromState(ck.meta.rng as [number, number, number, number]);
    loadReplay(join(run.checkpointsDir, (ck.meta.replay as string | undefined) ?? LEGACY_REPLAY), buffer);
    run.rewind(iteration);
    ctx.log(`resumed at iteration ${iteration} (${buffer.size} replay positions)`);
  } else if (config.init_checkpoint) {
    const ck = loadCheckpoint(config.init_checkpoint, backend);
    if (ck.game.name !== game.name) throw new NetworkCheckpointError(config.init_checkpoint, `init_checkpoint is a ${ck.game.name} network but the recipe plays ${game.name}`);
    const has = networkConfigOf(ck.net.shape), want = networkConfigOf(shape);
    if (JSON.stringify(has) !== JSON.stringify(want))
      throw new NetworkCheckpointError(config.init_checkpoint, `init_checkpoint is ${describeNetwork(has)} but the recipe's is ${describeNetwork(want)}: set the recipe's network to the checkpoint's`);
    candidate.copyFrom(ck.net);
    best.copyFrom(ck.net);
  } else {
    candidate.init(rng);
    best.copyFrom(candidate);
  }
  if (ctx.resume && iteration === 0) run.rewind(0); // killed before its first checkpoint: drop the line it may have logged
  const optimizer = networkOptimizer(candidate, backend, config.train.learning_rate, config.train.weight_decay);
  if (restored) optimizer.load(restored);

  const pons: Array<[string, PonsPosition[]]> = game.name === "connect4"
    ? config.evaluate.pons_sets.map(s => [s, loadPonsSet(s, undefined, config.evaluate.pons_positions)]) : [];
  const bar = ctx.progress({
    total: config.iterations, startStep: iteration,
    fields: [{ label: "pol", metric: "loss/policy" }, { label: "val", metric: "loss/value" }, { label: "vsBest", metric: "eval/score_vs_best" }, { label: "len", metric: "selfplay/mean_length" }],
  });
  const t0 = performance.now();
  const elapsed = () => elapsedBefore + (performance.now() - t0) / 1000;
  const sp = config.selfplay, tr = config.train, ev = config.evaluate;
  /** Iterations done (from 0) or, if further along, the time budget's share of the iterations. */
  const budgetStep = (done: number) =>
    config.max_minutes === null ? done : Math.max(done, Math.min(1, elapsed() / (config.max_minutes * 60)) * config.iterations);

  while (iteration < config.iterations && !ctx.signal.aborted) {
    await yieldToEvents(); // lets Ctrl-C reach ctx.signal
    if (config.max_minutes !== null && elapsed() >= config.max_minutes * 60) { ctx.log(`time limit of ${config.max_minutes} min reached`); break; }
    iteration++;
    const metrics: Record<string, number | null> = {};
    const tSp = performance.now();
    const stats = playSelfPlayGames(game, networkEvaluator(game, best, { mirror: sp.test_time_mirror }), {
      games: sp.games_per_iteration, concurrency: sp.concurrency, simulations: sp.simulations,
      cPuct: sp.c_puct, dirichletAlpha: sp.dirichlet_alpha, dirichletWeight: sp.dirichlet_weight, temperatureMoves: sp.temperature_moves,
      leavesPerTree: sp.leaves_per_tree, valueTargetQ: sp.value_target_q, playoutCap: playoutCapOption(sp.playout_cap),
    }, rng, buffer);
    const spSeconds = (performance.now() - tSp) / 1000;
    Object.assign(metrics, {
      "selfplay/games": stats.games, "selfplay/positions": stats.positions, "selfplay/mean_length": stats.meanLength,
      "selfplay/first_player_win_rate": stats.firstPlayerWins / stats.games, "selfplay/draw_rate": stats.draws / stats.games,
      "selfplay/simulations_per_second": stats.simulations / spSeconds, "selfplay/seconds": spSeconds, "replay/size": buffer.size,
    });
    const tTr = performance.now();
    const learningRate = tr.learning_rate * lrMultiplier(config.schedule, budgetStep(iteration - 1), config.iterations);
    const losses = trainOnBuffer(candidate, optimizer, buffer, {
      steps: tr.steps_per_iteration, batchSize: tr.batch_size, learningRate, valueWeight: tr.value_weight, mirror: tr.mirror,
    }, rng);
    Object.assign(metrics, {
      "loss/policy": losses.policyLoss, "loss/value": losses.valueLoss, "train/learning_rate": learningRate,
      "train/seconds": (performance.now() - tTr) / 1000,
    });

    if (ev.every === 0 || !ev.gate) { best.copyFrom(candidate); promotions++; }
    if (ev.every > 0 && iteration % ev.every === 0) {
      if (ev.gate) {
        const r = playArena(game,
          mctsAgent("candidate", game, networkEvaluator(game, candidate, { mirror: ev.test_time_mirror }), ev.simulations, sp.c_puct),
          mctsAgent("best", game, networkEvaluator(game, best, { mirror: ev.test_time_mirror }), ev.simulations, sp.c_puct),
          { games: ev.games, openingPlies: ev.opening_plies, seed: config.seed * 1000 + iteration });
        metrics["eval/score_vs_best"] = r.score;
        if (r.score >= ev.promote_threshold) { best.copyFrom(candidate); promotions++; metrics["eval/promoted"] = 1; }
        else metrics["eval/promoted"] = 0;
      }
      const bestAgent = mctsAgent("best", game, networkEvaluator(game, best, { mirror: ev.test_time_mirror }), ev.simulations, sp.c_puct);
      for (const spec of ev.opponents) {
        const o = playArena(game, bestAgent, parseAgent(spec, game, backend, config.seed),
          { games: ev.opponent_games, openingPlies: ev.opening_plies, seed: config.seed * 7919 + iteration });
        metrics[`eval/score_vs_${spec}`] = o.score;
        metrics[`eval/elo_vs_${spec}`] = o.elo;
      }
      for (const [set, positions] of pons) {
        const p = evaluatePons(bestAgent, set, positions);
        metrics[`pons/${set}/optimal`] = p.optimal;
        metrics[`pons/${set}/keeps_outcome`] = p.keepsOutcome;
      }
    }
    metrics["eval/promotions"] = promotions;
    metrics["time/elapsed_seconds"] = elapsed();
    // Logged before the checkpoint: a kill between the two leaves a line --resume rewinds, never a checkpointed
    // iteration without its line. Until latest is replaced, the previous replay file and latest's copy of the
    // best network are still what it names and holds, so a kill between any two writes loses only this iteration.
    run.logMetrics(iteration, metrics);
    const replay = replayFile(iteration);
    saveReplay(join(run.checkpointsDir, replay), buffer);
    saveCheckpoint(bestPath, game, best, { iteration, promotions });
    saveCheckpoint(latestPath, game, candidate,
      { iteration, promotions, elapsed_seconds: elapsed(), rng: rng.state(), replay }, optimizer, { best });
    for (const f of readdirSync(run.checkpointsDir))
      if (f !== replay && (f === LEGACY_REPLAY || /^replay-\d+\.safetensors$/.test(f))) rmSync(join(run.checkpointsDir, f), { force: true });
    bar.update(iteration, metrics);
  }
  bar.stop();
}

function saveReplay(path: string, b: ReplayBuffer): void {
  const n = b.size;
  writeSafetensors(path, [
    { name: "x", shape: [n, b.game.inputSize], data: b.x.subarray(0, n * b.game.inputSize) },
    { name: "pi", shape: [n, b.game.actions], data: b.pi.subarray(0, n * b.game.actions) },
    { name: "z", shape: [n], data: b.z.subarray(0, n) },
  ], "F32", { added: String(b.added) });
}

function loadReplay(path: string, b: ReplayBuffer): void {
  if (!existsSync(path)) return;
  const f = new SafetensorsFile(path);
  try {
    const n = f.entry("z")!.shape[0];
    b.x.set(f.read("x"));
    b.pi.set(f.read("pi"));
    b.z.set(f.read("z"));
    b.size = n;
    b.added = Number(f.header.metadata.added);
  } finally {
    f.close();
  }
}

export const alphazero: Trainer<typeof AlphaZeroConfig> = {
  name: "alphazero",
  description: "AlphaZero self-play (MCTS + policy/value network) on tic-tac-toe or Connect Four",
  schema: AlphaZeroConfig,
  run: runAlphaZero,
};
