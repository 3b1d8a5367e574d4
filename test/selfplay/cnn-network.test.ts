import { test } from "node:test";
import assert from "node:assert/strict";
import { nativeAvailable } from "../../src/engine/index.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { CnnNetwork } from "../../src/selfplay/cnn-network.js";
import { WorkerConfig } from "../../src/selfplay/distributed/weights.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import type { Game } from "../../src/selfplay/games/game.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { NetworkConfigSchema, createNetwork, shapeFor } from "../../src/selfplay/network.js";
import { Rng, normal } from "../../src/rng.js";
import { checkFiniteDifferences, checkLearnsAndRoundTrips, checkMirrorAgents, checkNativeAgainstReference, checkSelfPlayRun, randomPositions } from "./network-checks.js";

const shapeOf = (game: Game, extra: Record<string, unknown>) => shapeFor(NetworkConfigSchema.parse({ kind: "cnn", ...extra }), game);

/** A float64 reference CNN with random weights and biases (biases nonzero, so they are tested too). */
function randomCnn(game: Game, extra: Record<string, unknown>, seed: number): CnnNetwork<Float64Array> {
  const net = createNetwork(shapeOf(game, extra), referenceBackend, Float64Array);
  assert.ok(net instanceof CnnNetwork);
  const rng = new Rng(seed);
  net.init(rng);
  for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.1 * normal(rng);
  return net;
}

test("cnn network backward matches central finite differences on every parameter (float64, reference, Connect Four)", () => {
  const rng = new Rng(5), net = randomCnn(connect4, { channels: 3, blocks: 2, value_hidden: 5 }, 5);
  checkFiniteDifferences(net, connect4, randomPositions(connect4, 3, rng).map(p => p.state), rng);
});

test("cnn network: native float32 forward and backward equal the float64 reference on Connect Four positions; a batch equals its positions one by one", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  checkNativeAgainstReference(shapeOf(connect4, { channels: 8, blocks: 2, value_hidden: 16 }), connect4, new Rng(6), 6,
    net => { const rng = new Rng(60); for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.05 * normal(rng); });
});

/** Direct 3×3 'same' convolution: out[co][r][c] = b[co] + Σ_ci,dr,dc w[co][dr+1][dc+1][ci] · x[ci][r+dr][c+dc]. */
function directConv(x: number[][][], w: ArrayLike<number>, bias: ArrayLike<number>, Cout: number): number[][][] {
  const Cin = x.length, rows = x[0].length, cols = x[0][0].length;
  return Array.from({ length: Cout }, (_, co) => Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => {
    let s = bias[co];
    for (let ci = 0; ci < Cin; ci++)
      for (let dr = -1; dr <= 1; dr++)
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr, cc = c + dc;
          if (rr >= 0 && rr < rows && cc >= 0 && cc < cols) s += w[((co * 3 + dr + 1) * 3 + dc + 1) * Cin + ci] * x[ci][rr][cc];
        }
    return s;
  })));
}
const reluMap = (t: number[][][]) => t.map(p => p.map(row => row.map(v => Math.max(0, v))));

test("cnn convolutions (im2col + matmul) equal a direct 3×3 convolution: the stem and a residual block", () => {
  const game = connect4, C = 4, B = 3, { rows, cols } = game, HW = rows * cols;
  const net = randomCnn(game, { channels: C, blocks: 1, value_hidden: 4 }, 11);
  const P = (n: string) => net.params.find(p => p.name === n)!.data;
  const rng = new Rng(12), x = net.input(B);
  for (let i = 0; i < B * game.inputSize; i++) x[i] = normal(rng); // real-valued planes: every weight matters
  net.forward(B);
  const h0 = net.features(0), h1 = net.features(1);
  for (let b = 0; b < B; b++) {
    const planes = [0, 1].map(p => Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => x[b * game.inputSize + p * HW + r * cols + c])));
    const stem = reluMap(directConv(planes, P("stem.weight"), P("stem.bias"), C));
    const mid = reluMap(directConv(stem, P("blocks.0.conv1.weight"), P("blocks.0.conv1.bias"), C));
    const branch = directConv(mid, P("blocks.0.conv2.weight"), P("blocks.0.conv2.bias"), C);
    const out = reluMap(branch.map((p, ch) => p.map((row, r) => row.map((v, c) => v + stem[ch][r][c]))));
    for (let ch = 0; ch < C; ch++)
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++) {
          const i = (b * HW + r * cols + c) * C + ch;
          assert.ok(Math.abs(h0[i] - stem[ch][r][c]) < 1e-12, `stem b${b} ch${ch} (${r},${c}): ${h0[i]} vs ${stem[ch][r][c]}`);
          assert.ok(Math.abs(h1[i] - out[ch][r][c]) < 1e-12, `block b${b} ch${ch} (${r},${c}): ${h1[i]} vs ${out[ch][r][c]}`);
        }
  }
});

test("cnn translation sense: a lone stone changes the stem output only on its 3×3 neighbourhood, the same change wherever it stands", () => {
  const game = connect4, C = 4, { rows, cols } = game, HW = rows * cols;
  const net = randomCnn(game, { channels: C, blocks: 0, value_hidden: 4 }, 13);
  net.params.find(p => p.name === "stem.bias")!.data.fill(5); // every pre-activation positive: the ReLU hides no change
  const stones: Array<[number, number]> = [[2, 3], [3, 5], [0, 0], [5, 6]];
  const x = net.input(stones.length + 1);
  x.fill(0);
  stones.forEach(([r, c], i) => { x[(i + 1) * game.inputSize + r * cols + c] = 1; }); // row 0: the empty board
  net.forward(stones.length + 1);
  const h = net.features(0);
  const change = (i: number, r: number, c: number, ch: number) => h[((i + 1) * HW + r * cols + c) * C + ch] - h[(r * cols + c) * C + ch];
  stones.forEach(([sr, sc], i) => {
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++)
        for (let ch = 0; ch < C; ch++) {
          const near = Math.abs(r - sr) <= 1 && Math.abs(c - sc) <= 1, d = change(i, r, c, ch);
          if (!near) assert.equal(d, 0, `stone at (${sr},${sc}) changed (${r},${c})`);
          else {
            assert.ok(Math.abs(d) > 1e-6, `stone at (${sr},${sc}) did not change its neighbour (${r},${c}) channel ${ch}`);
            // the response to a stone at offset (dr, dc) is the same wherever the stone is (the first stone is interior)
            const [r0, c0] = stones[0];
            assert.ok(Math.abs(d - change(0, r0 + r - sr, c0 + c - sc, ch)) < 1e-12, `(${r},${c}) around (${sr},${sc})`);
          }
        }
  });
});

test("cnn checkpoint round trip: config, weights, AdamW moments and the same outputs; it learns a fixed batch", () => {
  const net = createNetwork(shapeOf(connect4, { channels: 8, blocks: 2, value_hidden: 16 }), referenceBackend);
  checkLearnsAndRoundTrips(net, { kind: "cnn", channels: 8, blocks: 2, value_hidden: 16 }, CnnNetwork, new Rng(8));
});

test("agents net+mirror / mcts+mirror load a cnn checkpoint; the mirrored raw policy picks the mirrored move", () => {
  checkMirrorAgents(createNetwork(shapeOf(connect4, { channels: 6, blocks: 1, value_hidden: 8 }), referenceBackend), new Rng(9));
});

test("network config: cnn defaults, keys of other kinds refused with the kind they belong to, the shape needs the board", () => {
  assert.deepEqual(NetworkConfigSchema.parse({ kind: "cnn" }), { kind: "cnn", channels: 32, blocks: 3, value_hidden: 64 });
  assert.deepEqual(NetworkConfigSchema.parse({}), { kind: "mlp", hidden: 128, blocks: 2 });
  assert.throws(() => NetworkConfigSchema.parse({ kind: "cnn", hidden: 64 }), /hidden is an mlp and transformer setting, not the cnn's; set kind: mlp or remove it/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "cnn", heads: 2 }), /heads is a transformer setting, not the cnn's/);
  assert.throws(() => NetworkConfigSchema.parse({ hidden: 64, channels: 32 }), /channels is a cnn setting, not the mlp's; set kind: cnn or remove it/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "transformer", value_hidden: 8 }), /value_hidden is a cnn setting, not the transformer's/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "cnn", channels: 0 }), /channels/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "cnn", filters: 32 }), /filters/);
  assert.throws(() => createNetwork({ ...NetworkConfigSchema.parse({ kind: "cnn" }), inputSize: 84, actions: 7 }, referenceBackend),
    /needs the board's rows × cols.*shapeFor\(config, game\)/);
  // what the trainer publishes to distributed workers parses back to the same network
  const published = JSON.parse(JSON.stringify(NetworkConfigSchema.parse({ kind: "cnn", channels: 8, blocks: 1 })));
  const worker = WorkerConfig.shape.network.parse(published);
  assert.deepEqual(worker, published);
  assert.ok(createNetwork(shapeFor(worker, ticTacToe), referenceBackend) instanceof CnnNetwork);
});

test("self-play run with the cnn network: 2 iterations of alphazero (test-time mirrors on) write loadable best/latest checkpoints", async () => {
  await checkSelfPlayRun({ kind: "cnn", channels: 8, blocks: 1, value_hidden: 16 }, CnnNetwork);
});
