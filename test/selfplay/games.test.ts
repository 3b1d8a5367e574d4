import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PONS_DIR } from "../../src/selfplay/pons.js";
import { connect4, parsePonsSequence } from "../../src/selfplay/games/connect4.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { playActions, type GameState } from "../../src/selfplay/games/game.js";
import { Rng, randInt } from "../../src/rng.js";
import { externalSkip } from "../external-data.js";

// Brute-force reference: a plain 6×7 grid filled by the same moves, lines found by scanning every cell and direction.
function refGrid(moves: number[]): number[][] {
  const g = Array.from({ length: 6 }, () => new Array(7).fill(0));
  moves.forEach((c, k) => {
    let r = 0;
    while (g[r][c] !== 0) r++;
    g[r][c] = (k % 2) + 1;
  });
  return g;
}
function refWinner(g: number[][]): number {
  for (let r = 0; r < 6; r++) for (let c = 0; c < 7; c++) {
    const p = g[r][c];
    if (!p) continue;
    for (const [dr, dc] of [[0, 1], [1, 0], [1, 1], [1, -1]]) {
      let k = 1;
      while (k < 4) {
        const rr = r + k * dr, cc = c + k * dc;
        if (rr < 0 || rr >= 6 || cc < 0 || cc >= 7 || g[rr][cc] !== p) break;
        k++;
      }
      if (k === 4) return p;
    }
  }
  return 0;
}

test("connect4: legal moves, wins, encoding and keys agree with a brute-force grid on random games", () => {
  const rng = new Rng(7);
  const keys = new Map<number, string>();
  let wins = 0, draws = 0, positions = 0;
  for (let game = 0; game < 400; game++) {
    const moves: number[] = [];
    let s: GameState = connect4.initial();
    for (;;) {
      const g = refGrid(moves);
      const winner = refWinner(g);
      const full = moves.length === 42;
      // result: −1 exactly when the previous mover has four; 0 when the board is full without; else null
      const expected = winner ? -1 : full ? 0 : null;
      assert.equal(s.result(), expected, `moves ${moves.join("")}`);
      const legal = winner || full ? [] : [0, 1, 2, 3, 4, 5, 6].filter(c => g[5][c] === 0);
      assert.deepEqual(s.legalActions(), legal);
      for (let c = 0; c < 7; c++) assert.equal(s.isLegal(c), legal.includes(c));
      const x = new Float32Array(84);
      s.encode(x, 0);
      const me = (moves.length % 2) + 1;
      for (let r = 0; r < 6; r++) for (let c = 0; c < 7; c++) {
        assert.equal(x[r * 7 + c], g[r][c] === me ? 1 : 0);
        assert.equal(x[42 + r * 7 + c], g[r][c] !== 0 && g[r][c] !== me ? 1 : 0);
      }
      const picture = g.map(row => row.join("")).join("/") + moves.length % 2;
      const seen = keys.get(s.key());
      if (seen !== undefined) assert.equal(seen, picture, "two different positions share a key");
      keys.set(s.key(), picture);
      positions++;
      if (expected !== null) { if (expected === -1) wins++; else draws++; break; }
      const a = legal[randInt(rng, legal.length)];
      moves.push(a);
      s = s.play(a);
    }
  }
  assert.ok(wins > 300 && positions > 5000, `random games should mostly end in wins (${wins} wins, ${draws} draws)`);
});

test("connect4: every Pons benchmark position replays legally and is not over", { skip: externalSkip(PONS_DIR) }, () => {
  for (const set of ["easy_end", "medium_middle", "hard_begin"]) {
    const rows = JSON.parse(readFileSync(join(PONS_DIR, `test_${set}.json`), "utf8")) as Array<{ sequence: string; analysis: Array<number | null> }>;
    for (const row of rows) {
      const s = playActions(connect4, parsePonsSequence(row.sequence)!);
      assert.equal(s.result(), null);
      // a column is full (null analysis) exactly when the move is illegal
      for (let c = 0; c < 7; c++) assert.equal(s.isLegal(c), row.analysis[c] !== null, row.sequence);
    }
  }
});

test("tictactoe: lines, draws and legality", () => {
  assert.equal(playActions(ticTacToe, [0, 3, 1, 4, 2]).result(), -1); // X takes the bottom row
  assert.equal(playActions(ticTacToe, [4, 0, 8, 2, 1, 7, 6, 3, 5]).result(), 0);
  const s = playActions(ticTacToe, [4, 0]);
  assert.deepEqual(s.legalActions(), [1, 2, 3, 5, 6, 7, 8]);
  assert.equal(s.isLegal(4), false);
  assert.equal(ticTacToe.mirrorAction(0), 2);
  assert.equal(ticTacToe.mirrorAction(4), 4);
  assert.equal(connect4.mirrorAction(0), 6);
});
