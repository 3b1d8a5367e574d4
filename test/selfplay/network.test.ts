import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { referenceBackend } from "../../src/engine/reference.js";
import { MlpNetwork } from "../../src/selfplay/network.js";
import { saveCheckpoint, loadCheckpoint } from "../../src/selfplay/checkpoint.js";
import { networkOptimizer } from "../../src/selfplay/training.js";
import { writeSafetensors } from "../../src/model/io/safetensors.js";
import { ticTacToe } from "../../src/selfplay/games/tictactoe.js";
import { Rng, normal } from "../../src/rng.js";

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
  const net = new MlpNetwork({ inputSize: I, actions: A, hidden: 8, blocks: 2 }, referenceBackend, Float64Array);
  net.init(rng);
  for (let i = 0; i < net.size; i++) net.flatParams[i] += 0.2 * normal(rng); // leave the near-identity init
  const { x, pi, z } = batch(rng, B, I, A);
  const loss = (): number => {
    net.input(B).set(x);
    net.forward(B);
    const { policyLoss, valueLoss } = net.backward(pi, z, vw);
    return policyLoss + vw * valueLoss;
  };
  net.flatGrads.fill(0);
  loss();
  const analytic = Float64Array.from(net.flatGrads);
  const h = 1e-6;
  let maxErr = 0;
  for (let i = 0; i < net.size; i++) {
    const p0 = net.flatParams[i];
    net.flatParams[i] = p0 + h; const lp = loss();
    net.flatParams[i] = p0 - h; const lm = loss();
    net.flatParams[i] = p0;
    const fd = (lp - lm) / (2 * h);
    const err = Math.abs(fd - analytic[i]) / Math.max(1e-4, Math.abs(fd) + Math.abs(analytic[i]));
    maxErr = Math.max(maxErr, err);
  }
  assert.ok(maxErr < 1e-5, `max relative error ${maxErr}`);
  assert.ok(analytic.some(g => Math.abs(g) > 1e-3));
});

test("network learns a fixed batch with the shared AdamW and survives a checkpoint round trip with its optimizer", () => {
  const rng = new Rng(4);
  const net = new MlpNetwork({ inputSize: 18, actions: 9, hidden: 32, blocks: 1 }, referenceBackend);
  net.init(rng);
  const { x, pi, z } = batch(rng, 16, 18, 9);
  const optimizer = networkOptimizer(net, referenceBackend, 3e-3, 1e-4);
  let first = 0, last = 0;
  for (let it = 0; it < 200; it++) {
    net.input(16).set(x);
    net.forward(16);
    net.flatGrads.fill(0);
    const l = net.backward(pi, z, 1);
    if (it === 0) first = l.valueLoss; last = l.valueLoss;
    optimizer.step();
  }
  assert.ok(last < first / 10, `value loss ${first} → ${last}`);
  const dir = mkdtempSync(join(tmpdir(), "m37-ckpt-"));
  try {
    const path = join(dir, "net.safetensors");
    saveCheckpoint(path, ticTacToe, net, { iteration: 3 }, optimizer);
    const back = loadCheckpoint(path, referenceBackend);
    assert.equal(back.game.name, "tictactoe");
    assert.equal(back.meta.iteration, 3);
    assert.equal(back.optimizer?.t, 200);
    assert.deepEqual(Array.from(back.net.flatParams), Array.from(net.flatParams));
    assert.deepEqual(Array.from(back.optimizer!.m), Array.from(optimizer.m));
    assert.deepEqual(Array.from(back.optimizer!.v), Array.from(optimizer.v));
    // The restored optimizer takes the next step exactly as the one that kept running.
    const again = networkOptimizer(back.net, referenceBackend, 3e-3, 1e-4);
    again.load(back.optimizer!);
    for (const [n, o] of [[back.net, again], [net, optimizer]] as const) {
      n.input(16).set(x); n.forward(16); n.flatGrads.fill(0); n.backward(pi, z, 1); o.step();
    }
    assert.deepEqual(Array.from(back.net.flatParams), Array.from(net.flatParams));
    assert.equal(loadCheckpoint(path, referenceBackend, []).net.size, net.size);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("self-play's AdamW decays the weight matrices and not the biases (the one rule of src/model/params.ts)", () => {
  const net = new MlpNetwork({ inputSize: 18, actions: 9, hidden: 8, blocks: 1 }, referenceBackend);
  net.init(new Rng(1));
  for (const p of net.params) if (p.name.endsWith(".bias")) p.data.fill(0.5);
  const before = net.params.map(p => Float32Array.from(p.data));
  const optimizer = networkOptimizer(net, referenceBackend, 0.1, 0.5);
  net.flatGrads.fill(0); // no gradient: only the decay moves a parameter
  optimizer.step();
  net.params.forEach((p, i) => {
    const changed = p.data.some((x, j) => x !== before[i][j]);
    assert.equal(changed, !p.name.endsWith(".bias"), `${p.name} ${changed ? "decayed" : "did not decay"}`);
  });
});

test("a self-play checkpoint written before the move to the shared AdamW (the shipped network's format) loads its moments and step", () => {
  // The shipped file has no optimizer; one written by the old Network.adamw has "optim.m"/"optim.v" and meta.step.
  const net = new MlpNetwork({ inputSize: 18, actions: 9, hidden: 8, blocks: 1 }, referenceBackend);
  net.init(new Rng(2));
  const dir = mkdtempSync(join(tmpdir(), "m37-ckpt-old-"));
  try {
    const path = join(dir, "old.safetensors");
    const m = Float32Array.from({ length: net.size }, (_, i) => i / 7), v = Float32Array.from({ length: net.size }, (_, i) => i / 11);
    writeSafetensors(path, [...net.params.map(p => ({ name: p.name, shape: p.shape, data: Float32Array.from(p.data) })),
      { name: "optim.m", shape: [net.size], data: m }, { name: "optim.v", shape: [net.size], data: v }],
      "F32", { move37: JSON.stringify({ game: "tictactoe", network: { hidden: 8, blocks: 1 }, step: 37, iteration: 4 }) });
    const back = loadCheckpoint(path, referenceBackend);
    assert.equal(back.optimizer?.t, 37);
    assert.deepEqual(Array.from(back.optimizer!.m), Array.from(m));
    assert.deepEqual(Array.from(back.net.flatParams), Array.from(net.flatParams));
    networkOptimizer(back.net, referenceBackend, 1e-3, 0).load(back.optimizer!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
