// Checks every policy/value network kind passes (transformer-network.test.ts, cnn-network.test.ts): positions of random
// games, targets, central finite differences on every parameter, the native float32 network against the float64
// reference, learning a fixed batch and the checkpoint round trip, the mirror agents, a short self-play run.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Buf } from "../../src/engine/backend.js";
import { getBackend } from "../../src/engine/index.js";
import { referenceBackend } from "../../src/engine/reference.js";
import { parseAgent } from "../../src/selfplay/agents.js";
import { AlphaZeroConfig, runAlphaZero } from "../../src/selfplay/alphazero.js";
import { loadCheckpoint, saveCheckpoint } from "../../src/selfplay/checkpoint.js";
import { connect4 } from "../../src/selfplay/games/connect4.js";
import { playActions, type Game, type GameState } from "../../src/selfplay/games/game.js";
import { createNetwork, type NetworkConfig, type NetworkShape, type PolicyValueNetwork } from "../../src/selfplay/network.js";
import { networkOptimizer } from "../../src/selfplay/training.js";
import { createRun } from "../../src/runs/run.js";
import type { TrainerContext } from "../../src/recipes/registry.js";
import { Rng, normal, randInt } from "../../src/rng.js";

/** A network class, for instanceof checks of what a checkpoint loads as. */
type NetworkClass = abstract new (...args: never[]) => PolicyValueNetwork<Buf>;
export const quiet: TrainerContext = { signal: new AbortController().signal, resume: false, progress: () => ({ update() {}, log() {}, stop() {} }), log() {} };

/** Positions of random games (each at a random ply, none finished), and their move lists. */
export function randomPositions(game: Game, n: number, rng: Rng): Array<{ state: GameState; moves: number[] }> {
  const out: Array<{ state: GameState; moves: number[] }> = [];
  while (out.length < n) {
    let s = game.initial();
    const moves: number[] = [];
    const plies = randInt(rng, game.maxPlies);
    for (let i = 0; i < plies && s.result() === null; i++) {
      const l = s.legalActions(), a = l[randInt(rng, l.length)];
      moves.push(a);
      s = s.play(a);
    }
    if (s.result() === null) out.push({ state: s, moves });
  }
  return out;
}

/** Visit-policy targets (rows sum to 1, some zeros) and results in [−1, 1]. */
export function targets(rng: Rng, B: number, A: number) {
  const pi = new Float64Array(B * A);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let a = 0; a < A; a++) { pi[b * A + a] = rng.nextFloat() < 0.4 ? 0 : rng.nextFloat(); s += pi[b * A + a]; }
    for (let a = 0; a < A; a++) pi[b * A + a] = s > 0 ? pi[b * A + a] / s : 1 / A;
  }
  return { pi, z: Float64Array.from({ length: B }, () => 2 * rng.nextFloat() - 1) };
}

/** Writes the positions into `net.input(B)`. */
export function encodeInto(net: PolicyValueNetwork<Buf>, game: Game, states: GameState[]): void {
  const x = net.input(states.length);
  states.forEach((s, b) => s.encode(x as Float32Array | Float64Array, b * game.inputSize));
}

/**
 * Backward of a float64 network against central finite differences of its loss on every parameter (relative error
 * under 1e-5), and every parameter tensor gets a gradient.
 */
export function checkFiniteDifferences(net: PolicyValueNetwork<Float64Array>, game: Game, states: GameState[], rng: Rng, vw = 0.7): void {
  const B = states.length, { pi, z } = targets(rng, B, game.actions);
  const loss = (): number => {
    encodeInto(net, game, states);
    net.forward(B);
    const l = net.backward(pi, z, vw);
    return l.policyLoss + vw * l.valueLoss;
  };
  net.flatGrads.fill(0);
  loss();
  const analytic = Float64Array.from(net.flatGrads);
  const h = 1e-6;
  let maxErr = 0, worst = "";
  for (const p of net.params) {
    const base = p.data.byteOffset / 8 - net.flatParams.byteOffset / 8;
    for (let j = 0; j < p.data.length; j++) {
      const i = base + j, p0 = net.flatParams[i];
      net.flatParams[i] = p0 + h; const lp = loss();
      net.flatParams[i] = p0 - h; const lm = loss();
      net.flatParams[i] = p0;
      const fd = (lp - lm) / (2 * h);
      const err = Math.abs(fd - analytic[i]) / Math.max(1e-4, Math.abs(fd) + Math.abs(analytic[i]));
      if (err > maxErr) { maxErr = err; worst = `${p.name}[${j}]: analytic ${analytic[i]} vs ${fd}`; }
    }
    // every parameter tensor gets a gradient (embedding rows of absent tokens aside)
    assert.ok(analytic.subarray(base, base + p.data.length).some(g => Math.abs(g) > 1e-6), `${p.name} has no gradient`);
  }
  assert.ok(maxErr < 1e-5, `max relative error ${maxErr} at ${worst}`);
}

/**
 * The native float32 network of `shape` against the float64 reference with the same weights on B Connect Four (or
 * `game`) positions: logits, values and every gradient; and one forward over the batch equals forwards of its
 * positions one by one (no leak between rows).
 */
export function checkNativeAgainstReference(shape: NetworkShape, game: Game, rng: Rng, B: number, init?: (net: PolicyValueNetwork<Float64Array>) => void): void {
  const ref = createNetwork(shape, referenceBackend, Float64Array), nat = createNetwork(shape, getBackend("native"));
  ref.init(rng);
  init?.(ref);
  nat.flatParams.set(ref.flatParams);
  const states = randomPositions(game, B, rng).map(p => p.state);
  const { pi, z } = targets(rng, B, game.actions);
  const outs = [ref, nat].map(n => {
    encodeInto(n, game, states);
    const { logits, value } = n.forward(B);
    const o = { logits: Array.from(logits), value: Array.from(value) };
    n.flatGrads.fill(0);
    n.backward(pi, z, 1);
    return o;
  });
  for (let i = 0; i < B * game.actions; i++) assert.ok(Math.abs(outs[0].logits[i] - outs[1].logits[i]) < 1e-4, `logit ${i}`);
  for (let b = 0; b < B; b++) assert.ok(Math.abs(outs[0].value[b] - outs[1].value[b]) < 1e-4, `value ${b}`);
  let maxAbs = 0;
  for (let i = 0; i < ref.size; i++) maxAbs = Math.max(maxAbs, Math.abs(ref.flatGrads[i]));
  for (let i = 0; i < ref.size; i++)
    assert.ok(Math.abs(ref.flatGrads[i] - nat.flatGrads[i]) <= 1e-4 * maxAbs + 1e-4 * Math.abs(ref.flatGrads[i]), `grad ${i}: ${nat.flatGrads[i]} vs ${ref.flatGrads[i]}`);
  for (const b of [0, B - 1]) {
    encodeInto(nat, game, [states[b]]);
    const single = nat.forward(1);
    for (let a = 0; a < game.actions; a++) assert.ok(Math.abs(single.logits[a] - outs[1].logits[b * game.actions + a]) < 1e-5, `position ${b} alone, logit ${a}`);
    assert.ok(Math.abs(single.value[0] - outs[1].value[b]) < 1e-5, `position ${b} alone, value`);
  }
}

/**
 * `net` (float32, reference backend) learns a fixed batch of Connect Four positions with the shared AdamW (the policy
 * loss's excess over the targets' entropy and the value loss both halve in 60 steps); then its checkpoint round-trips
 * the config `config`, the weights, the AdamW moments and the outputs, and loads as a `cls`.
 */
export function checkLearnsAndRoundTrips(net: PolicyValueNetwork, config: NetworkConfig, cls: NetworkClass, rng: Rng): void {
  const game = connect4, B = 4;
  net.init(rng);
  const states = randomPositions(game, B, rng).map(p => p.state);
  const { pi, z } = targets(rng, B, game.actions);
  encodeInto(net, game, states);
  const optimizer = networkOptimizer(net, referenceBackend, 3e-3, 1e-4);
  net.forward(B);
  net.flatGrads.fill(0);
  const l0 = net.backward(pi, z, 1);
  for (let it = 0; it < 60; it++) { net.forward(B); net.flatGrads.fill(0); net.backward(pi, z, 1); optimizer.step(); }
  net.forward(B);
  const l1 = net.backward(pi, z, 1);
  // the policy loss cannot go below the targets' entropy: compare its excess (the KL divergence to the targets)
  const entropy = -Array.from(pi).reduce((s, p) => s + (p > 0 ? p * Math.log(p) : 0), 0) / B;
  assert.ok(l1.policyLoss - entropy < 0.5 * (l0.policyLoss - entropy) && l1.valueLoss < 0.5 * l0.valueLoss,
    `the network learns a fixed batch: ${JSON.stringify(l0)} → ${JSON.stringify(l1)}, entropy ${entropy}`);
  const dir = mkdtempSync(join(tmpdir(), "m37-net-"));
  try {
    const path = join(dir, "n.safetensors");
    saveCheckpoint(path, game, net, { iteration: 2 }, optimizer);
    const back = loadCheckpoint(path, referenceBackend);
    assert.ok(back.net instanceof cls);
    assert.deepEqual(back.meta.network, config);
    assert.deepEqual(Array.from(back.net.flatParams), Array.from(net.flatParams));
    assert.equal(back.optimizer!.t, optimizer.t);
    assert.deepEqual(Array.from(back.optimizer!.m), Array.from(optimizer.m));
    assert.deepEqual(Array.from(back.optimizer!.v), Array.from(optimizer.v));
    encodeInto(back.net, game, states);
    const a = net.forward(B), c = back.net.forward(B);
    assert.deepEqual(Array.from(c.logits), Array.from(a.logits));
    assert.deepEqual(Array.from(c.value), Array.from(a.value));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The `net+mirror` / `mcts+mirror` agents load `net`'s checkpoint; on mirrored Connect Four positions the mirrored raw
 * policy picks the mirrored move, while the plain one does not always (the weights are pushed far from symmetric).
 */
export function checkMirrorAgents(net: PolicyValueNetwork, rng: Rng): void {
  const game = connect4;
  net.init(rng);
  for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.3 * normal(rng);
  const dir = mkdtempSync(join(tmpdir(), "m37-agent-"));
  try {
    const path = join(dir, "n.safetensors");
    saveCheckpoint(path, game, net);
    const positions = randomPositions(game, 16, rng).filter(p => p.moves.length > 0);
    const states = positions.map(p => p.state), mirrored = positions.map(p => playActions(game, p.moves.map(a => game.mirrorAction(a))));
    const tta = parseAgent(`net+mirror:${path}`, game, referenceBackend), plain = parseAgent(`net:${path}`, game, referenceBackend);
    const [a, am] = [tta.act(states), tta.act(mirrored)];
    assert.deepEqual(am, a.map(m => game.mirrorAction(m)));
    const [p, pm] = [plain.act(states), plain.act(mirrored)];
    assert.ok(p.some((m, i) => pm[i] !== game.mirrorAction(m)), "the plain network is not symmetric (the test has teeth)");
    const moves = parseAgent(`mcts+mirror:${path}:8`, game, referenceBackend).act(states);
    moves.forEach((m, i) => assert.ok(states[i].isLegal(m)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Two iterations of the `alphazero` trainer on Connect Four with `network` and both test-time mirrors on: finite losses,
 * 4 games an iteration, an in-run measurement, best/latest checkpoints that load as `cls` (latest with its optimizer
 * after 10 steps and the best network as a companion).
 */
export async function checkSelfPlayRun(network: Record<string, unknown>, cls: NetworkClass): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "m37-az-"));
  try {
    const cfg = AlphaZeroConfig.parse({
      game: "connect4", seed: 3, backend: "auto", iterations: 2, network,
      selfplay: { games_per_iteration: 4, concurrency: 4, simulations: 8, test_time_mirror: true },
      train: { batch_size: 16, steps_per_iteration: 5, mirror: true },
      evaluate: { every: 2, gate: false, simulations: 4, opponents: ["random"], opponent_games: 2, test_time_mirror: true },
    });
    const run = createRun({ trainer: "alphazero", config: cfg, root, name: "t" });
    await runAlphaZero(cfg, run, quiet);
    const metrics = readFileSync(join(run.dir, "metrics.jsonl"), "utf8").trim().split("\n").map(l => JSON.parse(l));
    assert.equal(metrics.length, 2);
    for (const m of metrics) assert.ok(Number.isFinite(m["loss/policy"]) && Number.isFinite(m["loss/value"]) && m["selfplay/games"] === 4);
    assert.ok(typeof metrics[1]["eval/score_vs_random"] === "number");
    const best = loadCheckpoint(join(run.checkpointsDir, "best.safetensors"), referenceBackend);
    assert.ok(best.net instanceof cls);
    assert.deepEqual(best.meta.network, cfg.network);
    const latest = loadCheckpoint(join(run.checkpointsDir, "latest.safetensors"), referenceBackend, ["best"]);
    assert.ok(latest.optimizer && latest.companions.best instanceof cls);
    assert.equal(latest.optimizer.t, 10);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
