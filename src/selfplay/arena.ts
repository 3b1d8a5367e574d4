import type { Agent } from "./agents.js";
import { IllegalMoveError, type Game, type GameState } from "./games/game.js";
import { randInt, Rng } from "../rng.js";

/**
 * Matches between two agents. Openings are varied: each pair of games starts from the same
 * random opening of `openingPlies` moves, once with each agent moving first, so neither side
 * gains from the first-move advantage or from a lucky opening. All games run in lockstep and
 * each agent gets the positions of every game where it is to move as one batch.
 */
export interface ArenaOptions { games: number; openingPlies: number; seed: number }

export interface ArenaResult {
  a: string; b: string; games: number;
  /** From A's side. */
  wins: number; draws: number; losses: number;
  /** (wins + draws / 2) / games. */
  score: number;
  /** Elo difference A − B implied by the score (score clamped to [½/games, 1 − ½/games] so it stays finite). */
  elo: number;
}

/** A random opening of `plies` moves that does not finish the game. */
export function randomOpening(game: Game, plies: number, rng: Rng): GameState {
  for (;;) {
    let s = game.initial();
    for (let i = 0; i < plies && s.result() === null; i++) {
      const l = s.legalActions();
      s = s.play(l[randInt(rng, l.length)]);
    }
    if (s.result() === null) return s;
  }
}

export function eloFromScore(score: number, games: number): number {
  const s = Math.min(1 - 0.5 / games, Math.max(0.5 / games, score));
  return -400 * Math.log10(1 / s - 1);
}

export function playArena(game: Game, a: Agent, b: Agent, opts: ArenaOptions): ArenaResult {
  const rng = new Rng(opts.seed);
  interface Match { state: GameState; aPlays: 0 | 1 }
  const matches: Match[] = [];
  for (let i = 0; i < opts.games; i += 2) {
    const opening = randomOpening(game, opts.openingPlies, rng);
    matches.push({ state: opening, aPlays: 0 });
    if (i + 1 < opts.games) matches.push({ state: opening, aPlays: 1 });
  }
  while (matches.some(m => m.state.result() === null)) {
    for (const [agent, isA] of [[a, true], [b, false]] as const) {
      const mine = matches.filter(m => m.state.result() === null && (m.state.toPlay === m.aPlays) === isA);
      if (mine.length === 0) continue;
      const moves = agent.act(mine.map(m => m.state));
      mine.forEach((m, k) => {
        if (!m.state.isLegal(moves[k])) throw new IllegalMoveError(game, moves[k], m.state.ply);
        m.state = m.state.play(moves[k]);
      });
    }
  }
  let wins = 0, draws = 0, losses = 0;
  for (const m of matches) {
    if (m.state.result() === 0) draws++;
    else if (m.state.toPlay === m.aPlays) losses++; // A is to move in a lost position
    else wins++;
  }
  const score = (wins + draws / 2) / matches.length;
  return { a: a.name, b: b.name, games: matches.length, wins, draws, losses, score, elo: eloFromScore(score, matches.length) };
}
