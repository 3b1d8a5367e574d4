import type { Game, GameState } from "./game.js";

/** Tic-tac-toe: action = cell r·3 + c. Each player's stones are a 9-bit mask. */
const LINES = [0o007, 0o070, 0o700, 0o111, 0o222, 0o444, 0o421, 0o124];

function hasLine(mask: number): boolean {
  for (const l of LINES) if ((mask & l) === l) return true;
  return false;
}

class TicTacToeState implements GameState {
  constructor(
    /** Stones of the player to move / of the opponent. */
    readonly mine: number, readonly theirs: number,
    readonly ply: number) {}

  get toPlay(): 0 | 1 { return (this.ply & 1) as 0 | 1; }

  result(): number | null {
    if (hasLine(this.theirs)) return -1;
    return this.ply === 9 ? 0 : null;
  }

  isLegal(a: number): boolean {
    return Number.isInteger(a) && a >= 0 && a < 9 && ((this.mine | this.theirs) >> a & 1) === 0 && this.result() === null;
  }

  legalActions(): number[] {
    if (this.result() !== null) return [];
    const out: number[] = [];
    const occ = this.mine | this.theirs;
    for (let a = 0; a < 9; a++) if ((occ >> a & 1) === 0) out.push(a);
    return out;
  }

  play(a: number): TicTacToeState {
    return new TicTacToeState(this.theirs, this.mine | (1 << a), this.ply + 1);
  }

  encode(out: Float32Array | Float64Array, offset: number): void {
    for (let i = 0; i < 9; i++) {
      out[offset + i] = this.mine >> i & 1;
      out[offset + 9 + i] = this.theirs >> i & 1;
    }
  }

  heuristic(): number { return 0; }

  key(): number { return this.mine * 512 + this.theirs; }

  render(): string {
    const x = this.toPlay === 0 ? this.mine : this.theirs;
    const o = this.toPlay === 0 ? this.theirs : this.mine;
    const rows: string[] = [];
    for (let r = 2; r >= 0; r--) {
      let line = "";
      for (let c = 0; c < 3; c++) {
        const i = r * 3 + c;
        line += (x >> i & 1) ? "X" : (o >> i & 1) ? "O" : String(i + 1);
      }
      rows.push(line.split("").join(" "));
    }
    return rows.join("\n");
  }
}

export const ticTacToe: Game = {
  name: "tictactoe",
  rows: 3, cols: 3, actions: 9, inputSize: 18, maxPlies: 9,
  initial: () => new TicTacToeState(0, 0, 0),
  mirrorAction: a => Math.floor(a / 3) * 3 + (2 - (a % 3)),
  actionOrder: [4, 0, 2, 6, 8, 1, 3, 5, 7],
  parseAction(text) {
    const n = Number(text.trim());
    return Number.isInteger(n) && n >= 1 && n <= 9 ? n - 1 : null;
  },
  formatAction: a => String(a + 1),
};
