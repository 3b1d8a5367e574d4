import type { GameState } from "./games/game.js";
import { randInt, type Rng } from "../rng.js";

/**
 * An imperfect rule-based player, the stand-in for AlphaGo's human games: it takes a win in one;
 * otherwise, with probability `blunder`, plays a uniformly random legal move; else it keeps to the
 * "safe" moves (after which the opponent has no win in one: this also blocks a single threat) and
 * samples among them by softmax(heuristic / temperature). It never looks beyond one reply.
 */
export interface HeuristicPlayerOptions { temperature: number; blunder: number }
export const DEFAULT_HEURISTIC_PLAYER: HeuristicPlayerOptions = { temperature: 0.05, blunder: 0.1 };

export function heuristicMove(s: GameState, rng: Rng, opts: HeuristicPlayerOptions = DEFAULT_HEURISTIC_PLAYER): number {
  const legal = s.legalActions();
  const children = legal.map(a => s.play(a));
  const win = children.findIndex(c => c.result() === -1);
  if (win >= 0) return legal[win];
  if (rng.nextFloat() < opts.blunder) return legal[randInt(rng, legal.length)];
  const safe = legal.filter((_, i) => !children[i].legalActions().some(b => children[i].play(b).result() === -1));
  const candidates = safe.length > 0 ? safe : legal;
  const scores = candidates.map(a => -s.play(a).heuristic() / opts.temperature);
  const max = Math.max(...scores);
  const w = scores.map(x => Math.exp(x - max));
  let u = rng.nextFloat() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < w.length; i++) { u -= w[i]; if (u < 0) return candidates[i]; }
  return candidates[candidates.length - 1];
}
