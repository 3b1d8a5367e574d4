import type { Agent } from "./agents.js";
import type { Game, GameState } from "./games/game.js";

/**
 * Plays `agent` against every possible sequence of opponent replies, as first and as second
 * player, and returns the positions where it ends up losing (empty = it never loses).
 * Only for small games (tic-tac-toe): the opponent's tree is enumerated in full. The agent must
 * be deterministic; its move per position is computed once.
 */
export function lossesAgainstAllReplies(game: Game, agent: Agent): string[] {
  const memo = new Map<number, number>();
  const losses: string[] = [];
  const explore = (s: GameState, me: 0 | 1): void => {
    const r = s.result();
    if (r !== null) {
      if (r === -1 && s.toPlay === me) losses.push(s.render());
      return;
    }
    if (s.toPlay === me) {
      let a = memo.get(s.key());
      if (a === undefined) { a = agent.act([s])[0]; memo.set(s.key(), a); }
      explore(s.play(a), me);
    } else for (const a of s.legalActions()) explore(s.play(a), me);
  };
  explore(game.initial(), 0);
  explore(game.initial(), 1);
  return losses;
}
