import type { Game } from "./game.js";
import { ticTacToe } from "./tictactoe.js";
import { connect4 } from "./connect4.js";

export const GAMES: Record<Game["name"], Game> = { tictactoe: ticTacToe, connect4 };

export class UnknownGameError extends Error {
  constructor(name: string) {
    super(`unknown game "${name}": use one of ${Object.keys(GAMES).join(", ")}`);
    this.name = "UnknownGameError";
  }
}

export function getGame(name: string): Game {
  const g = (GAMES as Record<string, Game | undefined>)[name];
  if (!g) throw new UnknownGameError(name);
  return g;
}
