import type { Game, GameState } from "./game.js";

/**
 * Connect Four, 6 rows × 7 columns, action = column 0…6 (Pons' notation is column + 1).
 *
 * Bitboard (Pons' layout): bit col·7 + row, row 0 at the bottom, row 6 of each column an
 * always-empty sentinel, 49 bits in all. JS bit operators are 32-bit and BigInt is slow, so a
 * board is two uint32 words: lo = bits 0…31, hi = bits 32…48, and shifts carry across the seam.
 * Four in a row in direction s (1 vertical, 7 horizontal, 6 and 8 diagonals):
 * m = b & (b >> s); m & (m >> 2s) ≠ 0. The sentinel row stops lines wrapping between columns.
 */
export const ROWS = 6, COLS = 7;
const H1 = ROWS + 1;

/** (b >> s) & b, then & (>> 2s): true if the 49-bit board (lo, hi) has four aligned in direction s. */
function aligned(lo: number, hi: number, s: number): boolean {
  const mLo = lo & ((lo >>> s) | (hi << (32 - s)));
  const mHi = hi & (hi >>> s);
  const s2 = 2 * s;
  return ((mLo & ((mLo >>> s2) | (mHi << (32 - s2)))) | (mHi & (mHi >>> s2))) !== 0;
}

export function hasFour(lo: number, hi: number): boolean {
  return aligned(lo, hi, 1) || aligned(lo, hi, H1) || aligned(lo, hi, H1 - 1) || aligned(lo, hi, H1 + 1);
}

function bitOf(lo: number, hi: number, i: number): number {
  return i < 32 ? (lo >>> i) & 1 : (hi >>> (i - 32)) & 1;
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The 69 windows of four cells, as (lo, hi) masks, for the heuristic. */
const WINDOWS: Array<[number, number]> = [];
for (let c = 0; c < COLS; c++)
  for (let r = 0; r < ROWS; r++)
    for (const [dc, dr] of [[0, 1], [1, 0], [1, 1], [1, -1]]) {
      const ec = c + 3 * dc, er = r + 3 * dr;
      if (ec >= COLS || er < 0 || er >= ROWS) continue;
      let lo = 0, hi = 0;
      for (let k = 0; k < 4; k++) {
        const i = (c + k * dc) * H1 + r + k * dr;
        if (i < 32) lo |= 1 << i; else hi |= 1 << (i - 32);
      }
      WINDOWS.push([lo >>> 0, hi]);
    }
/** Window weights by stone count (0…3 stones of one side, none of the other). */
const WINDOW_WEIGHT = [0, 1, 5, 25];
const CENTRE_LO = (0x3f << (3 * H1)) >>> 0;

class Connect4State implements GameState {
  constructor(
    /** The mover's stones and the opponent's stones, each (lo, hi). */
    readonly mineLo: number, readonly mineHi: number,
    readonly theirsLo: number, readonly theirsHi: number,
    /** Stones per column [7]. */
    readonly heights: Uint8Array,
    readonly ply: number,
    /** Whether the last move made four in a row. */
    readonly lastWon: boolean) {}

  get toPlay(): 0 | 1 { return (this.ply & 1) as 0 | 1; }

  result(): number | null {
    if (this.lastWon) return -1;
    return this.ply === ROWS * COLS ? 0 : null;
  }

  isLegal(a: number): boolean {
    return Number.isInteger(a) && a >= 0 && a < COLS && this.heights[a] < ROWS && this.result() === null;
  }

  legalActions(): number[] {
    if (this.result() !== null) return [];
    const out: number[] = [];
    for (let c = 0; c < COLS; c++) if (this.heights[c] < ROWS) out.push(c);
    return out;
  }

  play(a: number): Connect4State {
    const i = a * H1 + this.heights[a];
    let lo = this.mineLo, hi = this.mineHi;
    if (i < 32) lo = (lo | (1 << i)) >>> 0; else hi |= 1 << (i - 32);
    const heights = this.heights.slice();
    heights[a]++;
    return new Connect4State(this.theirsLo, this.theirsHi, lo, hi, heights, this.ply + 1, hasFour(lo, hi));
  }

  encode(out: Float32Array | Float64Array, offset: number): void {
    for (let r = 0; r < ROWS; r++)
      for (let c = 0; c < COLS; c++) {
        const i = c * H1 + r;
        out[offset + r * COLS + c] = bitOf(this.mineLo, this.mineHi, i);
        out[offset + ROWS * COLS + r * COLS + c] = bitOf(this.theirsLo, this.theirsHi, i);
      }
  }

  /** Open windows of four weighted by how full they are, plus centre-column stones; squashed to (−1, 1). */
  heuristic(): number {
    let score = 0;
    for (const [wLo, wHi] of WINDOWS) {
      const m = popcount(this.mineLo & wLo) + popcount(this.mineHi & wHi);
      const t = popcount(this.theirsLo & wLo) + popcount(this.theirsHi & wHi);
      if (t === 0) score += WINDOW_WEIGHT[m] ?? 0;
      else if (m === 0) score -= WINDOW_WEIGHT[t] ?? 0;
    }
    score += 3 * (popcount(this.mineLo & CENTRE_LO) - popcount(this.theirsLo & CENTRE_LO));
    return Math.tanh(score / 200);
  }

  /** Pons' key current + mask (+ a constant): unique per position. */
  key(): number {
    const mine = this.mineHi * 4294967296 + this.mineLo;
    const theirs = this.theirsHi * 4294967296 + this.theirsLo;
    return 2 * mine + theirs;
  }

  render(): string {
    const xIsMine = this.toPlay === 0;
    const lines: string[] = [];
    for (let r = ROWS - 1; r >= 0; r--) {
      let line = "|";
      for (let c = 0; c < COLS; c++) {
        const i = c * H1 + r;
        const m = bitOf(this.mineLo, this.mineHi, i), t = bitOf(this.theirsLo, this.theirsHi, i);
        line += m || t ? ((m === 1) === xIsMine ? "X" : "O") : ".";
        line += c < COLS - 1 ? " " : "|";
      }
      lines.push(line);
    }
    lines.push(" 1 2 3 4 5 6 7");
    return lines.join("\n");
  }
}

export const connect4: Game = {
  name: "connect4",
  rows: ROWS, cols: COLS, actions: COLS, inputSize: 2 * ROWS * COLS, maxPlies: ROWS * COLS,
  initial: () => new Connect4State(0, 0, 0, 0, new Uint8Array(COLS), 0, false),
  mirrorAction: a => COLS - 1 - a,
  actionOrder: [3, 2, 4, 1, 5, 0, 6],
  parseAction(text) {
    const n = Number(text.trim());
    return Number.isInteger(n) && n >= 1 && n <= COLS ? n - 1 : null;
  },
  formatAction: a => String(a + 1),
};

/** Parse Pons' move sequence ("4453", columns 1–7) into actions; null if a character is not 1–7. */
export function parsePonsSequence(seq: string): number[] | null {
  const out: number[] = [];
  for (const ch of seq.trim()) {
    const n = ch.charCodeAt(0) - 49;
    if (n < 0 || n >= COLS) return null;
    out.push(n);
  }
  return out;
}
