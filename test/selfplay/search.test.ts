import { test } from "node:test";
import assert from "node:assert/strict";
import { AlphaBeta } from "../../src/selfplay/alphabeta.js";
import { Mcts, runSimulations, uniformEvaluator } from "../../src/selfplay/mcts.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { playActions, type GameState } from "../../src/selfplay/games/game.js";
import { Rng } from "../../src/selfplay/rng.js";

// Independent oracle: plain minimax over the whole tic-tac-toe tree (+1 win, 0 draw, −1 loss for the mover).
const memo = new Map<number, number>();
function minimax(s: GameState): number {
  const r = s.result();
  if (r !== null) return r;
  const k = s.key();
  const m = memo.get(k);
  if (m !== undefined) return m;
  let best = -Infinity;
  for (const a of s.legalActions()) best = Math.max(best, -minimax(s.play(a)));
  memo.set(k, best);
  return best;
}

test("alpha-beta at full depth matches minimax on every reachable tic-tac-toe position", () => {
  const ab = new AlphaBeta(ticTacToe);
  let checked = 0;
  const visit = (s: GameState): void => {
    if (s.result() !== null) return;
    const { action, value } = ab.search(s, 9);
    const truth = minimax(s);
    assert.equal(Math.sign(value), truth, s.render());
    assert.equal(-minimax(s.play(action)), truth, `alpha-beta's move is not optimal in\n${s.render()}`);
    checked++;
    for (const a of s.legalActions()) visit(s.play(a));
  };
  visit(ticTacToe.initial());
  assert.ok(checked > 4000);
});

test("alpha-beta at full depth never loses tic-tac-toe against any sequence of replies", () => {
  const ab = new AlphaBeta(ticTacToe);
  let games = 0;
  const explore = (s: GameState, me: 0 | 1): void => {
    const r = s.result();
    if (r !== null) {
      games++;
      assert.ok(!(r === -1 && s.toPlay === me), "alpha-beta lost a game");
      return;
    }
    if (s.toPlay === me) explore(s.play(ab.search(s, 9).action), me);
    else for (const a of s.legalActions()) explore(s.play(a), me);
  };
  explore(ticTacToe.initial(), 0);
  explore(ticTacToe.initial(), 1);
  assert.ok(games > 100);
});

// X holds columns 1–3 of the bottom row; O stacked on them.
const winInOne = playActions(connect4, [0, 0, 1, 1, 2, 2]); // X to move: column 4 (action 3) wins
const mustBlock = playActions(connect4, [0, 6, 1, 6, 2]);   // O to move: only column 4 stops X

test("alpha-beta takes a win in one and blocks a win in one on Connect Four", () => {
  const ab = new AlphaBeta(connect4);
  assert.equal(ab.search(winInOne, 1).action, 3);
  assert.equal(ab.search(mustBlock, 2).action, 3);
  assert.equal(ab.search(mustBlock, 8).action, 3);
});

test("MCTS finds the win in one and blocks the opponent's win in one", () => {
  for (const seed of [1, 2, 3]) {
    const opts = { cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25 };
    const t1 = new Mcts(connect4, winInOne, opts, new Rng(seed));
    const t2 = new Mcts(connect4, mustBlock, opts, new Rng(seed));
    runSimulations([t1, t2], uniformEvaluator(connect4), 400); // both trees share each evaluator batch
    assert.equal(t1.chooseAction(0), 3);
    assert.equal(t2.chooseAction(0), 3);
    assert.ok(t1.rootValue() > 0.5, `value after finding the win: ${t1.rootValue()}`);
    const pi = t2.visitPolicy();
    assert.ok(Math.abs(pi.reduce((a, b) => a + b, 0) - 1) < 1e-6);
  }
});

test("MCTS tree reuse keeps the chosen child's statistics", () => {
  const tree = new Mcts(ticTacToe, ticTacToe.initial(), { cPuct: 1.5, dirichletAlpha: 0.3, dirichletWeight: 0 }, new Rng(5));
  runSimulations([tree], uniformEvaluator(ticTacToe), 300);
  const a = tree.chooseAction(0);
  const child = tree.root.children[tree.root.actions.indexOf(a)]!;
  const visits = child.visits;
  tree.advance(a);
  assert.equal(tree.root, child);
  assert.equal(tree.root.visits, visits);
  assert.ok(visits > 10);
  runSimulations([tree], uniformEvaluator(ticTacToe), 50);
  assert.equal(tree.root.visits, visits + 50);
});

test("MCTS with temperature samples every visited move; temperature 0 is the most visited", () => {
  const tree = new Mcts(ticTacToe, ticTacToe.initial(), { cPuct: 5, dirichletAlpha: 0.3, dirichletWeight: 0 }, new Rng(9));
  runSimulations([tree], uniformEvaluator(ticTacToe), 200);
  const seen = new Set<number>();
  for (let i = 0; i < 300; i++) seen.add(tree.chooseAction(1));
  assert.equal(seen.size, 9);
  const pi = tree.visitPolicy();
  assert.equal(pi[tree.chooseAction(0)], Math.max(...pi));
});
