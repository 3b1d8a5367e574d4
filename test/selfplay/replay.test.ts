import { test } from "node:test";
import assert from "node:assert/strict";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { playActions } from "../../src/selfplay/games/game.js";
import { ReplayBuffer } from "../../src/selfplay/replay.js";
import { Rng } from "../../src/rng.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { networkEvaluator } from "../../src/selfplay/evaluator.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { MlpNetwork } from "../../src/selfplay/network.js";
import { playSelfPlayGames } from "../../src/selfplay/selfplay-games.js";

test("replay mirror augmentation equals encoding the mirrored game, policy mirrored with it", () => {
  const moves = [3, 0, 1, 1, 5, 6, 6, 2];
  const enc = (m: number[]) => { const x = new Float32Array(84); playActions(connect4, m).encode(x, 0); return Array.from(x); };
  const original = enc(moves), mirrored = enc(moves.map(a => connect4.mirrorAction(a)));
  assert.notDeepEqual(original, mirrored);
  const pi = new Float32Array([0.1, 0.5, 0.4, 0, 0, 0, 0]);
  const buf = new ReplayBuffer(connect4, 4);
  buf.add(new Float32Array(original), pi, -1);
  const x = new Float32Array(84 * 64), p = new Float32Array(7 * 64), z = new Float32Array(64);
  buf.sample(64, new Rng(2), true, x, p, z);
  let flips = 0;
  for (let b = 0; b < 64; b++) {
    const row = Array.from(x.subarray(b * 84, (b + 1) * 84));
    const prow = Array.from(p.subarray(b * 7, (b + 1) * 7)).map(v => +v.toFixed(3));
    if (prow[6] > 0) {
      flips++;
      assert.deepEqual(row, mirrored);
      assert.deepEqual(prow, [0, 0, 0, 0, 0.4, 0.5, 0.1]);
    } else {
      assert.deepEqual(row, original);
      assert.deepEqual(prow, [0.1, 0.5, 0.4, 0, 0, 0, 0]);
    }
    assert.equal(z[b], -1);
  }
  assert.ok(flips > 10 && flips < 54, `${flips} of 64 mirrored`);
  // the ring keeps the newest `capacity` positions
  for (let i = 0; i < 6; i++) buf.add(new Float32Array(84), pi, i);
  assert.equal(buf.size, 4);
  assert.deepEqual(Array.from(buf.z).sort(), [2, 3, 4, 5]);
});

test("valueTargetQ mixes the search's root value into the result: λ = 0.5 stores the mean of λ = 0's and λ = 1's targets", () => {
  const net = new MlpNetwork({ hidden: 8, blocks: 1, inputSize: 18, actions: 9 }, referenceBackend);
  net.init(new Rng(3));
  // the target does not change the games: the same seed plays the same moves for every λ
  const targets = (lambda: number) => {
    const buf = new ReplayBuffer(ticTacToe, 1000);
    playSelfPlayGames(ticTacToe, networkEvaluator(ticTacToe, net),
      { games: 6, concurrency: 3, simulations: 16, cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25, temperatureMoves: 9, valueTargetQ: lambda }, new Rng(7), buf);
    return Array.from(buf.z.subarray(0, buf.size));
  };
  const result = targets(0), q = targets(1), mixed = targets(0.5);
  assert.ok(result.every(v => v === 1 || v === 0 || v === -1));
  assert.ok(q.every(v => Math.abs(v) <= 1) && q.some(v => v !== 1 && v !== 0 && v !== -1), "root values are search means, not results");
  assert.equal(mixed.length, result.length);
  for (let i = 0; i < mixed.length; i++) assert.ok(Math.abs(mixed[i] - (result[i] + q[i]) / 2) < 1e-6, `position ${i}`);
});

test("playout-cap randomisation: full searches with the given probability, only they are recorded, simulations add up", () => {
  const net = new MlpNetwork({ hidden: 8, blocks: 1, inputSize: 18, actions: 9 }, referenceBackend);
  net.init(new Rng(3));
  const play = (playoutCap: { probability: number; fastSimulations: number } | null) => {
    const buf = new ReplayBuffer(ticTacToe, 10_000);
    const stats = playSelfPlayGames(ticTacToe, networkEvaluator(ticTacToe, net),
      { games: 40, concurrency: 8, simulations: 16, cPuct: 1.5, dirichletAlpha: 1, dirichletWeight: 0.25, temperatureMoves: 9, playoutCap }, new Rng(7), buf);
    return { stats, size: buf.size, plies: Math.round(stats.meanLength * stats.games) };
  };
  const off = play(null), all = play({ probability: 1, fastSimulations: 4 }), cap = play({ probability: 0.25, fastSimulations: 4 });
  for (const r of [off, all, cap]) assert.equal(r.stats.positions, r.size);
  // without a cap and with probability 1 every move is a full search of 16 and every position is kept
  for (const r of [off, all]) { assert.equal(r.size, r.plies); assert.equal(r.stats.simulations, 16 * r.plies); }
  // with 0.25, about a quarter of the moves are kept (40 games ≈ 300 moves: 0.15–0.35), and each move cost 4 or 16
  const share = cap.size / cap.plies;
  assert.ok(share > 0.15 && share < 0.35, `kept ${cap.size} of ${cap.plies}`);
  assert.equal(cap.stats.simulations, 4 * cap.plies + 12 * cap.size);
});
