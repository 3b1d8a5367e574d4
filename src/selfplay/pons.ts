import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Agent } from "./agents.js";
import { connect4, parsePonsSequence } from "./games/connect4.js";
import { playActions, type GameState } from "./games/game.js";
import { fileURLToPath } from "node:url";

/**
 * Pascal Pons' Connect Four test sets (mirrored with per-move solver scores, see
 * data/external/README.md). A move is optimal when its score equals the best score of the
 * position; it keeps the outcome when its score has the same sign as the best (win stays win,
 * draw stays draw, loss stays loss).
 */
export const PONS_SETS = ["easy_end", "easy_middle", "easy_begin", "medium_end", "medium_middle", "hard_begin"] as const;
/** The sets as laid out beside the repository (../shared/data/external/connect4); --pons-data points elsewhere. */
export const PONS_DIR = fileURLToPath(new URL("../../../shared/data/external/connect4", import.meta.url));

export interface PonsPosition { state: GameState; sequence: string; analysis: Array<number | null> }
export interface PonsResult { set: string; positions: number; optimal: number; keepsOutcome: number; seconds: number }

export class PonsDataError extends Error {
  constructor(path: string, why: string) {
    super(`Pons benchmark ${path}: ${why}; expected the JSON sets described in data/external/README.md (use --data DIR to point elsewhere)`);
    this.name = "PonsDataError";
  }
}

export function loadPonsSet(set: string, dir = PONS_DIR, limit = Infinity): PonsPosition[] {
  const path = join(dir, `test_${set}.json`);
  let rows: Array<{ sequence: string; analysis: Array<number | null> }>;
  try { rows = JSON.parse(readFileSync(path, "utf8")); } catch (e) { throw new PonsDataError(path, (e as Error).message); }
  return rows.slice(0, limit).map(r => {
    const actions = parsePonsSequence(r.sequence);
    if (!actions) throw new PonsDataError(path, `bad sequence "${r.sequence}"`);
    return { state: playActions(connect4, actions), sequence: r.sequence, analysis: r.analysis };
  });
}

/** Scores the agent's moves on the positions, asking for `batch` positions at a time. */
export function evaluatePons(agent: Agent, set: string, positions: PonsPosition[], batch = 64): PonsResult {
  const t0 = performance.now();
  let optimal = 0, keeps = 0;
  for (let i = 0; i < positions.length; i += batch) {
    const chunk = positions.slice(i, i + batch);
    const moves = agent.act(chunk.map(p => p.state));
    chunk.forEach((p, k) => {
      const best = Math.max(...p.analysis.filter((x): x is number => x !== null));
      const got = p.analysis[moves[k]];
      if (got === null || got === undefined) return; // an illegal move counts as neither
      if (got === best) optimal++;
      if (Math.sign(got) === Math.sign(best)) keeps++;
    });
  }
  return { set, positions: positions.length, optimal: optimal / positions.length, keepsOutcome: keeps / positions.length, seconds: (performance.now() - t0) / 1000 };
}
