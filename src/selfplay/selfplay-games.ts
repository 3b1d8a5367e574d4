import { z } from "zod";
import type { Game, GameState } from "./games/game.js";
import { Mcts, runSimulations, type Evaluator, type MctsOptions } from "./mcts.js";
import type { ReplayBuffer } from "./replay.js";
import type { Rng } from "../rng.js";

/**
 * Self-play: `games` games of the evaluator against itself, `concurrency` at a time so each MCTS
 * step evaluates one leaf of every live game in a single batch. Moves are sampled from the visit
 * counts (temperature 1) for the first `temperatureMoves` plies, then the most visited is played;
 * the tree below the played move is kept. Each position becomes (input, visit policy, value target)
 * once the game ends: the result for its mover, or with `valueTargetQ` = λ > 0, (1 − λ)·result + λ·the
 * search's root value (the mean of its simulations). The result alone is the unbiased target but one
 * game's outcome is a noisy label for every position of the game; the root value is a lower-variance
 * (if biased) one, and averaging the two learned faster in Oracle's AlphaZero Connect Four study.
 *
 * Playout-cap randomisation (KataGo, Wu 2019), when `playoutCap` is set: each move of each game is a full search
 * (`simulations`) with probability `probability`, else a fast one (`fastSimulations`), and only full searches become
 * training positions. More games per simulation for the value target, full-strength visit policies for the policy
 * target. (KataGo also drops the root noise on fast searches; here every root gets the same noise.)
 */
export interface SelfPlayOptions extends MctsOptions {
  games: number;
  concurrency: number;
  simulations: number;
  temperatureMoves: number;
  /** Weight λ of the root value in the value target (0 = the game result only). */
  valueTargetQ?: number;
  /** Playout-cap randomisation: full searches with this probability, else `fastSimulations`, which are not recorded. */
  playoutCap?: { probability: number; fastSimulations: number } | null;
}

/** The recipe's (and distributed workers' config's) `selfplay.playout_cap`. */
export const PlayoutCapSchema = z.object({
  probability: z.number().gt(0).max(1),
  fast_simulations: z.number().int().min(1),
}).strict();

export function playoutCapOption(cap: z.infer<typeof PlayoutCapSchema> | null): SelfPlayOptions["playoutCap"] {
  return cap === null ? null : { probability: cap.probability, fastSimulations: cap.fast_simulations };
}

/** positions: those recorded (all moves, or the full searches under a playout cap); meanLength: plies a game. */
export interface SelfPlayStats { games: number; positions: number; firstPlayerWins: number; draws: number; meanLength: number; simulations: number }

export function playSelfPlayGames(game: Game, evaluator: Evaluator, opts: SelfPlayOptions, rng: Rng, buffer: ReplayBuffer): SelfPlayStats {
  const stats: SelfPlayStats = { games: 0, positions: 0, firstPlayerWins: 0, draws: 0, meanLength: 0, simulations: 0 };
  interface Live { tree: Mcts; history: Array<{ x: Float32Array; pi: Float32Array; toPlay: 0 | 1; q: number }> }
  const lambda = opts.valueTargetQ ?? 0;
  let started = 0;
  const live: Live[] = [];
  const start = (): void => { live.push({ tree: new Mcts(game, game.initial(), opts, rng), history: [] }); started++; };
  while (started < Math.min(opts.games, opts.concurrency)) start();
  const cap = opts.playoutCap ?? null;
  while (live.length > 0) {
    // which games search fully this move (all without a cap); the fast part is shared, the rest only for the full ones
    const full = live.map(() => cap === null || rng.nextFloat() < cap.probability);
    const first = cap === null ? opts.simulations : cap.fastSimulations;
    runSimulations(live.map(g => g.tree), evaluator, first);
    stats.simulations += live.length * first;
    if (cap !== null) {
      const fullTrees = live.filter((_g, k) => full[k]).map(g => g.tree);
      if (fullTrees.length > 0) runSimulations(fullTrees, evaluator, opts.simulations - cap.fastSimulations);
      stats.simulations += fullTrees.length * (opts.simulations - cap.fastSimulations);
    }
    for (let k = live.length - 1; k >= 0; k--) {
      const g = live[k];
      const s: GameState = g.tree.root.state;
      if (full[k]) {
        const x = new Float32Array(game.inputSize);
        s.encode(x, 0);
        g.history.push({ x, pi: g.tree.visitPolicy(), toPlay: s.toPlay, q: g.tree.rootValue() });
      }
      const action = g.tree.chooseAction(s.ply < opts.temperatureMoves ? 1 : 0);
      g.tree.advance(action);
      const end = g.tree.root.state;
      const r = end.result();
      if (r === null) continue;
      // r is −1 when the last mover won: the winner is the side not to move at the end
      const winner = r === 0 ? -1 : 1 - end.toPlay;
      for (const h of g.history) {
        const z = winner < 0 ? 0 : h.toPlay === winner ? 1 : -1;
        buffer.add(h.x, h.pi, (1 - lambda) * z + lambda * h.q); // exactly z at λ = 0
      }
      stats.games++;
      stats.positions += g.history.length;
      stats.meanLength += end.ply;
      if (winner === 0) stats.firstPlayerWins++;
      if (r === 0) stats.draws++;
      live.splice(k, 1);
      if (started < opts.games) start();
    }
  }
  stats.meanLength /= Math.max(1, stats.games);
  return stats;
}
