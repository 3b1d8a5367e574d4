import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeAvailable } from "../../src/engine/index.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { AlphaZeroConfig, runAlphaZero } from "../../src/selfplay/alphazero.js";
import { loadCheckpoint } from "../../src/selfplay/checkpoint.js";
import { networkEvaluator } from "../../src/selfplay/evaluator.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { playActions, type Game } from "../../src/selfplay/games/game.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { NetworkConfigSchema, createNetwork } from "../../src/selfplay/network.js";
import { TransformerNetwork } from "../../src/selfplay/transformer-network.js";
import { createRun } from "../../src/runs/run.js";
import { Rng, normal } from "../../src/rng.js";
import { checkFiniteDifferences, checkLearnsAndRoundTrips, checkMirrorAgents, checkNativeAgainstReference, checkSelfPlayRun, quiet, randomPositions } from "./network-checks.js";

const shapeOf = (game: Game, extra: Record<string, unknown>) =>
  ({ ...NetworkConfigSchema.parse({ kind: "transformer", ...extra }), inputSize: game.inputSize, actions: game.actions });

test("transformer network backward matches central finite differences on every parameter (float64, reference)", () => {
  const rng = new Rng(5), game = ticTacToe;
  const net = createNetwork(shapeOf(game, { hidden: 8, blocks: 2, heads: 2, intermediate: 12 }), referenceBackend, Float64Array);
  assert.ok(net instanceof TransformerNetwork);
  net.init(rng);
  for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.1 * normal(rng); // generic norms and heads
  checkFiniteDifferences(net, game, randomPositions(game, 3, rng).map(p => p.state), rng);
});

test("transformer network: native float32 forward and backward equal the float64 reference on Connect Four positions", { skip: nativeAvailable() ? false : "native addon not built" }, () => {
  checkNativeAgainstReference(shapeOf(connect4, { hidden: 16, blocks: 2, heads: 4 }), connect4, new Rng(6), 5);
});

test("transformer: the CLS token sees every cell (one layer: the colour of a single stone on any cell changes the value)", () => {
  const game = connect4, net = createNetwork(shapeOf(game, { hidden: 16, blocks: 1, heads: 2 }), referenceBackend, Float64Array);
  net.init(new Rng(10));
  const C = game.rows * game.cols, x = net.input(2 * C);
  x.fill(0);
  for (let i = 0; i < C; i++) { // rows 2i and 2i + 1: one stone on cell i, the mover's or the opponent's (same CLS token)
    x[2 * i * game.inputSize + i] = 1;
    x[(2 * i + 1) * game.inputSize + C + i] = 1;
  }
  const { value } = net.forward(2 * C);
  for (let i = 0; i < C; i++) assert.ok(Math.abs(value[2 * i] - value[2 * i + 1]) > 1e-9, `cell ${i} does not reach the value`);
});

test("test-time mirror: a mirrored position gets the mirrored priors and the same value (transformer and MLP)", () => {
  const rng = new Rng(7), game = connect4;
  for (const cfg of [{ kind: "transformer", hidden: 16, blocks: 1, heads: 2 }, { kind: "mlp", hidden: 16, blocks: 1 }]) {
    const net = createNetwork({ ...NetworkConfigSchema.parse(cfg), inputSize: game.inputSize, actions: game.actions }, referenceBackend);
    net.init(rng);
    for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.3 * normal(rng); // far from symmetric
    const positions = randomPositions(game, 12, rng).filter(p => p.moves.length > 0);
    const states = positions.map(p => p.state), mirrored = positions.map(p => playActions(game, p.moves.map(a => game.mirrorAction(a))));
    const plain = networkEvaluator(game, net), tta = networkEvaluator(game, net, { mirror: true });
    const [e, em] = [tta.evaluate(states), tta.evaluate(mirrored)];
    let plainGap = 0;
    const [pe, pem] = [plain.evaluate(states), plain.evaluate(mirrored)];
    states.forEach((s, b) => {
      assert.ok(Math.abs(e[b].value - em[b].value) < 1e-6, `${cfg.kind} value ${e[b].value} vs mirrored ${em[b].value}`);
      for (let a = 0; a < game.actions; a++) {
        assert.ok(Math.abs(e[b].priors[a] - em[b].priors[game.mirrorAction(a)]) < 1e-6, `${cfg.kind} prior of ${a}`);
        if (!s.isLegal(a)) assert.equal(e[b].priors[a], 0);
      }
      assert.ok(Math.abs(e[b].priors.reduce((x, y) => x + y, 0) - 1) < 1e-5);
      // the average of the two plain evaluations
      assert.ok(Math.abs(e[b].value - (pe[b].value + pem[b].value) / 2) < 1e-6);
      plainGap = Math.max(plainGap, Math.abs(pe[b].value - pem[b].value));
    });
    assert.ok(plainGap > 1e-3, `${cfg.kind}: without the average the network is not symmetric (the test has teeth)`);
  }
});

test("transformer checkpoint round trip: config, weights, AdamW moments and the same outputs; it learns a fixed batch", () => {
  const net = createNetwork(shapeOf(connect4, { hidden: 16, blocks: 2, heads: 2, intermediate: 24 }), referenceBackend);
  checkLearnsAndRoundTrips(net, { kind: "transformer", hidden: 16, blocks: 2, heads: 2, intermediate: 24 }, TransformerNetwork, new Rng(8));
});

test("agents net+mirror / mcts+mirror load a transformer checkpoint; the mirrored raw policy picks the mirrored move", () => {
  checkMirrorAgents(createNetwork(shapeOf(connect4, { hidden: 16, blocks: 1, heads: 2 }), referenceBackend), new Rng(9));
});

test("network config: transformer keys are refused on the MLP, heads must divide hidden, old {hidden, blocks} parses as the MLP", () => {
  assert.equal(NetworkConfigSchema.parse({ hidden: 256, blocks: 3 }).kind, "mlp");
  assert.throws(() => NetworkConfigSchema.parse({ hidden: 64, heads: 4 }), /heads is a transformer setting/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "transformer", hidden: 30, heads: 4 }), /multiple of heads/);
  assert.throws(() => NetworkConfigSchema.parse({ kind: "resnet" }));
});

test("self-play smoke run with the transformer network: iterations, checkpoints, losses, resume-ready files", async () => {
  await checkSelfPlayRun({ kind: "transformer", hidden: 16, blocks: 1, heads: 2 }, TransformerNetwork);
});

test("a transformer run resumes exactly: 2 iterations + --resume to 3 gives the weights of 3 in one go (reference backend)", async () => {
  const root = mkdtempSync(join(tmpdir(), "m37-tres-"));
  const train = async (name: string, iterations: number, resume: boolean) => {
    const cfg = AlphaZeroConfig.parse({
      game: "tictactoe", seed: 4, backend: "reference", iterations, network: { kind: "transformer", hidden: 8, blocks: 2, heads: 2 },
      selfplay: { games_per_iteration: 4, concurrency: 4, simulations: 8 }, train: { batch_size: 16, steps_per_iteration: 4, replay_capacity: 100 },
      evaluate: { every: 0 },
    });
    const run = createRun({ trainer: "alphazero", config: cfg, root, name: resume ? undefined : name, resumeDir: resume ? join(root, name) : undefined });
    await runAlphaZero(cfg, run, { ...quiet, resume });
    return run;
  };
  try {
    const whole = await train("whole", 3, false);
    await train("split", 2, false);
    const split = await train("split", 3, true);
    for (const file of ["latest.safetensors", "best.safetensors"]) {
      const a = loadCheckpoint(join(whole.checkpointsDir, file), referenceBackend), b = loadCheckpoint(join(split.checkpointsDir, file), referenceBackend);
      assert.equal(b.meta.iteration, 3);
      assert.ok(b.net instanceof TransformerNetwork);
      assert.deepEqual(Array.from(b.net.flatParams), Array.from(a.net.flatParams), file);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
