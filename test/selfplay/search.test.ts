import { test } from "node:test";
import assert from "node:assert/strict";
import { AlphaBeta } from "../../src/selfplay/alphabeta.js";
import { Mcts, runSimulations, uniformEvaluator, type Node } from "../../src/selfplay/mcts.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { playActions, type GameState } from "../../src/selfplay/games/game.js";
import { Rng } from "../../src/rng.js";

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

test("MCTS finds the win in one and blocks the opponent's win in one, one or eight leaves per tree in a batch", () => {
  for (const leavesPerTree of [1, 8]) for (const seed of [1, 2, 3]) {
    const opts = { cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25, leavesPerTree };
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

/** Every node below `n` (n included). */
function* nodes(n: Node): Generator<Node> {
  yield n;
  for (const c of n.children) if (c) yield* nodes(c);
}

test("virtual loss: the leaves one tree adds to a batch are distinct paths (without it they are one); none stays pending", () => {
  const batchesWith = (virtualLoss: number) => {
    const uniform = uniformEvaluator(connect4);
    const batches: GameState[][] = [];
    const tree = new Mcts(connect4, connect4.initial(), { cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0, leavesPerTree: 8, virtualLoss }, new Rng(1));
    runSimulations([tree], { evaluate: states => (batches.push(states), uniform.evaluate(states)) }, 300);
    assert.equal(tree.root.visits, 300, "every simulation counted once");
    for (const n of nodes(tree.root)) assert.equal(n.pendingVisits + n.pending.reduce((a, b) => a + b, 0), 0);
    return batches;
  };
  const withVl = batchesWith(1);
  assert.equal(withVl[0].length, 1, "an unexpanded root is a single leaf");
  // then its 7 children (an eighth descent finds them all waiting, is dropped and tried again next step)
  assert.deepEqual(withVl[1].map(s => s.ply), [1, 1, 1, 1, 1, 1, 1]);
  for (const b of withVl.slice(2, -1)) assert.equal(b.length, 8);
  // one tree, so distinct leaf states are distinct nodes, i.e. distinct paths from the root
  for (const b of withVl) assert.equal(new Set(b).size, b.length);
  // with no virtual loss every descent of a step follows the first one's path to the same leaf
  assert.ok(batchesWith(0).every(b => b.length === 1));
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
