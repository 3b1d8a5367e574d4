/**
 * The game interface self-play, search and the arena see. Two-player, zero-sum,
 * alternating moves, perfect information. States are immutable: `play` returns a new state,
 * so search trees can keep states in their nodes.
 *
 * Perspective convention (negamax): every value is from the point of view of the player to move.
 */
export interface GameState {
  /** 0 = first player, 1 = second player. */
  readonly toPlay: 0 | 1;
  /** Plies played from the initial position. */
  readonly ply: number;
  /** Actions in [0, game.actions) that are legal here (empty when terminal). */
  legalActions(): number[];
  isLegal(action: number): boolean;
  play(action: number): GameState;
  /** null while the game goes on; else −1 (the player to move has lost: the last mover won) or 0 (draw). */
  result(): number | null;
  /**
   * Writes the network input at out[offset…]: plane 0 = the mover's stones, plane 1 = the opponent's,
   * each rows×cols, row-major (row 0 at the bottom for Connect Four). Length game.inputSize.
   */
  encode(out: Float32Array | Float64Array, offset: number): void;
  /** Static evaluation for alpha-beta in (−1, 1), from the mover's side (0 when the game has none). */
  heuristic(): number;
  /** A unique key for transposition tables (exact integer below 2^53). */
  key(): number;
  /** A text picture of the board. */
  render(): string;
}

export interface Game {
  readonly name: "tictactoe" | "connect4";
  readonly rows: number;
  readonly cols: number;
  /** Number of action ids (moves are ids in [0, actions)). */
  readonly actions: number;
  /** 2 · rows · cols: the two planes of `encode`. */
  readonly inputSize: number;
  /** Longest possible game, in plies. */
  readonly maxPlies: number;
  initial(): GameState;
  /** The action id that mirrors `action` left-right (the board's only symmetry used for augmentation). */
  mirrorAction(action: number): number;
  /** Move ordering for alpha-beta: actions from most to least promising a priori (e.g. centre first). */
  readonly actionOrder: readonly number[];
  /** Parse a human move ("4" for a column, "5" for a cell) into an action id, or null if malformed. */
  parseAction(text: string): number | null;
  formatAction(action: number): string;
}

/**
 * Writes the left-right mirror of the 2-plane input at src[srcOff…] (GameState.encode's layout) to dst[dstOff…]: the
 * encoding of the mirrored position. src and dst must not overlap.
 */
export function mirrorInput(game: Game, src: ArrayLike<number>, srcOff: number, dst: { [i: number]: number }, dstOff: number): void {
  const { rows, cols } = game;
  for (let p = 0; p < 2; p++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        dst[dstOff + (p * rows + r) * cols + c] = src[srcOff + (p * rows + r) * cols + (cols - 1 - c)];
}

/** Play a list of actions from the initial position. Throws IllegalMoveError on the first illegal one. */
export function playActions(game: Game, actions: number[]): GameState {
  let s = game.initial();
  for (const a of actions) {
    if (!s.isLegal(a)) throw new IllegalMoveError(game, a, s.ply);
    s = s.play(a);
  }
  return s;
}

export class IllegalMoveError extends Error {
  constructor(game: Game, action: number, ply: number) {
    super(`${game.name}: move ${game.formatAction(action)} at ply ${ply + 1} is illegal (column full, cell taken, or game over); ` +
      `give only legal moves`);
    this.name = "IllegalMoveError";
  }
}
