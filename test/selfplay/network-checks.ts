// Checks every policy/value network kind passes (transformer-network.test.ts, cnn-network.test.ts): positions of random
// games, targets, central finite differences on every parameter, the native float32 network against the float64 reference.
import assert from "node:assert/strict";
import type { Buf } from "../../src/engine/backend.js";
import { getBackend } from "../../src/engine/index.js";
import { referenceBackend } from "../../src/engine/reference.js";
import type { Game, GameState } from "../../src/selfplay/games/game.js";
import { createNetwork, type NetworkShape, type PolicyValueNetwork } from "../../src/selfplay/network.js";
import { Rng, randInt } from "../../src/rng.js";

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
