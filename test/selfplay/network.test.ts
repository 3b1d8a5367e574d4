import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { referenceBackend } from "../../src/engine/reference.js";
import { Network } from "../../src/selfplay/network.js";
import { saveCheckpoint, loadCheckpoint } from "../../src/selfplay/checkpoint.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { Rng, normal } from "../../src/selfplay/rng.js";

function batch(rng: Rng, B: number, I: number, A: number) {
  const x = Float64Array.from({ length: B * I }, () => normal(rng));
  const pi = new Float64Array(B * A);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let a = 0; a < A; a++) { pi[b * A + a] = rng.nextFloat() < 0.5 ? 0 : rng.nextFloat(); s += pi[b * A + a]; }
    for (let a = 0; a < A; a++) pi[b * A + a] = s > 0 ? pi[b * A + a] / s : 1 / A;
  }
  const z = Float64Array.from({ length: B }, () => 2 * rng.nextFloat() - 1);
  return { x, pi, z };
}

test("network backward matches central finite differences on every parameter (float64)", () => {
  const rng = new Rng(3);
  const B = 4, I = 18, A = 9, vw = 0.7;
  const net = new Network({ inputSize: I, actions: A, hidden: 8, blocks: 2 }, referenceBackend, Float64Array);
  net.init(rng);
  for (let i = 0; i < net.size; i++) net.params[i] += 0.2 * normal(rng); // leave the near-identity init
  const { x, pi, z } = batch(rng, B, I, A);
  const loss = (): number => {
    net.input(B).set(x);
    net.forward(B);
    const { policyLoss, valueLoss } = net.backward(pi, z, vw);
    return policyLoss + vw * valueLoss;
  };
  net.grads.fill(0);
  loss();
  const analytic = Float64Array.from(net.grads);
  const h = 1e-6;
  let maxErr = 0;
  for (let i = 0; i < net.size; i++) {
    const p0 = net.params[i];
    net.params[i] = p0 + h; const lp = loss();
    net.params[i] = p0 - h; const lm = loss();
    net.params[i] = p0;
    const fd = (lp - lm) / (2 * h);
    const err = Math.abs(fd - analytic[i]) / Math.max(1e-4, Math.abs(fd) + Math.abs(analytic[i]));
    maxErr = Math.max(maxErr, err);
  }
  assert.ok(maxErr < 1e-5, `max relative error ${maxErr}`);
  assert.ok(analytic.some(g => Math.abs(g) > 1e-3));
});

test("network learns a fixed batch with AdamW and survives a checkpoint round trip", () => {
  const rng = new Rng(4);
  const net = new Network({ inputSize: 18, actions: 9, hidden: 32, blocks: 1 }, referenceBackend);
  net.init(rng);
  const { x, pi, z } = batch(rng, 16, 18, 9);
  let first = 0, last = 0;
  for (let it = 0; it < 200; it++) {
    net.input(16).set(x);
    net.forward(16);
    const l = net.backward(pi, z, 1);
    if (it === 0) first = l.valueLoss; last = l.valueLoss;
    net.adamw(3e-3, 1e-4);
  }
  assert.ok(last < first / 10, `value loss ${first} → ${last}`);
  const dir = mkdtempSync(join(tmpdir(), "m37-ckpt-"));
  try {
    const path = join(dir, "net.safetensors");
    saveCheckpoint(path, ticTacToe, net, { iteration: 3 }, true);
    const back = loadCheckpoint(path, referenceBackend);
    assert.equal(back.game.name, "tictactoe");
    assert.equal(back.meta.iteration, 3);
    assert.equal(back.hasOptimizer, true);
    assert.equal(back.net.step, 200);
    assert.deepEqual(Array.from(back.net.params), Array.from(net.params));
    assert.deepEqual(Array.from(back.net.v), Array.from(net.v));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
