import type { Game, GameState } from "./games/game.js";

/**
 * Depth-limited negamax alpha-beta, the Deep Blue stand-in: iterative deepening (each
 * iteration's best move is searched first by the next), a transposition table keyed by
 * position, centre-first move ordering, and the game's heuristic at the horizon.
 *
 * Scores are from the mover's side. A finished game scores ±(WIN − ply) with the absolute
 * ply, so quicker wins and later losses are preferred and a position's score does not depend
 * on the path that reached it (which keeps the table sound). Heuristic scores lie in (−1, 1).
 */
export const WIN = 1000;

const EXACT = 0, LOWER = 1, UPPER = 2;
interface Entry { depth: number; value: number; flag: number; best: number }

export interface SearchResult { action: number; value: number; nodes: number; depth: number }

export class AlphaBeta {
  private tt = new Map<number, Entry>();
  nodes = 0;

  constructor(private readonly game: Game) {}

  /** Best action at `depth` plies (depth ≥ game.maxPlies solves the game). */
  search(state: GameState, depth: number): SearchResult {
    if (state.result() !== null) throw new Error("alpha-beta: the game is over, there is no move to search");
    this.tt.clear();
    this.nodes = 0;
    let best = { action: -1, value: 0 };
    const maxDepth = Math.min(depth, this.game.maxPlies - state.ply);
    for (let d = 1; d <= maxDepth; d++) {
      const value = this.negamax(state, d, -Infinity, Infinity);
      best = { action: this.tt.get(state.key())!.best, value };
      if (Math.abs(value) >= WIN - this.game.maxPlies) break; // proven: deeper search changes nothing
    }
    return { ...best, nodes: this.nodes, depth: maxDepth };
  }

  private orderedMoves(state: GameState, first: number): number[] {
    const moves: number[] = [];
    if (first >= 0 && state.isLegal(first)) moves.push(first);
    for (const a of this.game.actionOrder) if (a !== first && state.isLegal(a)) moves.push(a);
    return moves;
  }

  private negamax(state: GameState, depth: number, alpha: number, beta: number): number {
    this.nodes++;
    const r = state.result();
    if (r !== null) return r === 0 ? 0 : -(WIN - state.ply);
    if (depth === 0) return state.heuristic();

    const key = state.key();
    const e = this.tt.get(key);
    const alpha0 = alpha;
    if (e && e.depth >= depth) {
      if (e.flag === EXACT) return e.value;
      if (e.flag === LOWER) alpha = Math.max(alpha, e.value);
      else beta = Math.min(beta, e.value);
      if (alpha >= beta) return e.value;
    }
    let bestValue = -Infinity, bestMove = -1;
    for (const a of this.orderedMoves(state, e ? e.best : -1)) {
      const v = -this.negamax(state.play(a), depth - 1, -beta, -alpha);
      if (v > bestValue) { bestValue = v; bestMove = a; }
      if (v > alpha) alpha = v;
      if (alpha >= beta) break;
    }
    const flag = bestValue <= alpha0 ? UPPER : bestValue >= beta ? LOWER : EXACT;
    this.tt.set(key, { depth, value: bestValue, flag, best: bestMove });
    return bestValue;
  }
}
