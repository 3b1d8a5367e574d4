import { test } from "node:test";
import assert from "node:assert/strict";
import { TokenPicker, type PickParams } from "../../src/sample/pick.js";
import { Rng } from "../../src/sample/rng.js";

const base: PickParams = { temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1 };

/** log softmax(z / T) in float64, written independently of the picker. */
function logSoftmax(z: ArrayLike<number>, T: number): number[] {
  const s = Array.from(z, x => x / T);
  const m = s.reduce((a, x) => Math.max(a, x), -Infinity);
  const lse = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
  return s.map(x => x - lse);
}

/** Empirical frequencies of n draws. */
function draw(z: Float32Array, p: PickParams, n: number, seed = 1) {
  const picker = new TokenPicker(z.length, z.length, p);
  const rng = new Rng(seed);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) { const t = picker.pick(z, null, rng).token; counts.set(t, (counts.get(t) ?? 0) + 1); }
  return counts;
}

// Probabilities 0.5, 0.3, 0.15, 0.05 at temperature 1.
const z4 = Float32Array.from([0.5, 0.3, 0.15, 0.05], Math.log);

test("greedy takes the argmax and reports its temperature-1 log-prob", () => {
  const z = Float32Array.from([0.1, 2.5, -1, 2.4]);
  const r = new TokenPicker(4, 4, { ...base, temperature: 0 }).pick(z, null, new Rng(0));
  assert.equal(r.token, 1);
  assert.ok(Math.abs(r.logprob - logSoftmax(z, 1)[1]) < 1e-6);
});

test("temperature sampling follows softmax(z / T) and reports log softmax(z / T)", () => {
  const z = Float32Array.from([1, 0, -1, 0.5]);
  const T = 0.7, n = 40000;
  const want = logSoftmax(z, T).map(Math.exp);
  const counts = draw(z, { ...base, temperature: T }, n);
  for (let i = 0; i < 4; i++) {
    const f = (counts.get(i) ?? 0) / n;
    assert.ok(Math.abs(f - want[i]) < 4 * Math.sqrt(want[i] * (1 - want[i]) / n) + 1e-3, `token ${i}: ${f} vs ${want[i]}`);
  }
  const r = new TokenPicker(4, 4, { ...base, temperature: T }).pick(z, null, new Rng(3));
  assert.ok(Math.abs(r.logprob - logSoftmax(z, T)[r.token]) < 1e-6);
});

test("top-k keeps the k most likely, renormalized; the log-prob is still the unfiltered one", () => {
  const n = 20000;
  const counts = draw(z4, { ...base, topK: 2 }, n);
  assert.deepEqual([...counts.keys()].sort(), [0, 1]);
  const f0 = counts.get(0)! / n;
  assert.ok(Math.abs(f0 - 0.5 / 0.8) < 0.02, `P(0 | top-2) = ${f0}`);
  const r = new TokenPicker(4, 4, { ...base, topK: 1 }).pick(z4, null, new Rng(0));
  assert.equal(r.token, 0);
  assert.ok(Math.abs(r.logprob - Math.log(0.5)) < 1e-6);
});

test("top-p keeps the smallest head reaching p (Hugging Face: drop the tail whose mass ≤ 1 − p)", () => {
  assert.deepEqual([...draw(z4, { ...base, topP: 0.7 }, 5000).keys()].sort(), [0, 1]);
  assert.deepEqual([...draw(z4, { ...base, topP: 0.85 }, 5000).keys()].sort(), [0, 1, 2]);
  assert.deepEqual([...draw(z4, { ...base, topP: 0.4 }, 2000).keys()], [0]);
  // top-p after top-k measures mass within the top-k set: 0.5 / 0.8 = 0.625 ≥ 0.6 keeps only token 0.
  assert.deepEqual([...draw(z4, { ...base, topK: 2, topP: 0.6 }, 2000).keys()], [0]);
});

test("min-p drops tokens below min_p × the top probability", () => {
  assert.deepEqual([...draw(z4, { ...base, minP: 0.5 }, 5000).keys()].sort(), [0, 1]);
  assert.deepEqual([...draw(z4, { ...base, minP: 0.25, topK: 3 }, 5000).keys()].sort(), [0, 1, 2]);
});

test("repetition penalty divides positive and multiplies negative logits of seen tokens (CTRL, as Hugging Face)", () => {
  const p = new TokenPicker(3, 3, { ...base, temperature: 0, repetitionPenalty: 2 });
  assert.equal(p.pick(Float32Array.from([2, 1.9, -1]), [0], new Rng(0)).token, 1);
  assert.equal(p.pick(Float32Array.from([-0.5, -0.9, -3]), [0], new Rng(0)).token, 1); // -0.5·2 = -1 < -0.9
  // The reported log-prob ignores the penalty (what a trainer's forward computes).
  const r = p.pick(Float32Array.from([2, 1.9, -1]), [0], new Rng(0));
  assert.ok(Math.abs(r.logprob - logSoftmax([2, 1.9, -1], 1)[1]) < 1e-6);
});

test("ids past the tokenizer's vocabulary are never chosen", () => {
  const z = Float32Array.from([0, 0, 5, 5]);
  const picker = new TokenPicker(4, 2, base);
  const rng = new Rng(9);
  for (let i = 0; i < 500; i++) assert.ok(picker.pick(z, null, rng).token < 2);
  assert.ok(new TokenPicker(4, 2, { ...base, temperature: 0 }).pick(z, null, rng).token < 2);
});

test("top-p / top-k on a large vocabulary draw only from the exact head, with the right frequencies", () => {
  const V = 20000;
  const rng = new Rng(5);
  const z = new Float32Array(V);
  for (let i = 0; i < V; i++) z[i] = rng.nextFloat() * 4;     // a flat tail ...
  const head = [17, 15000, 19999, 4242, 123];
  head.forEach((id, j) => { z[id] = 20 - j * 0.7; });           // ... under a few likely ids
  const lp = logSoftmax(z, 1);
  // Reference nucleus by a full sort.
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => lp[b] - lp[a]);
  for (const [params, n] of [[{ ...base, topP: 0.9 }, 800], [{ ...base, topK: 4 }, 800], [{ ...base, topK: 50, topP: 0.95 }, 800], [{ ...base, topK: 2000 }, 200]] as const) {
    let keptIds: number[] = [];
    if (params.topK) keptIds = order.slice(0, params.topK); else keptIds = order;
    const mass = keptIds.reduce((a, i) => a + Math.exp(lp[i]), 0);
    if (params.topP < 1) {
      let cum = 0, j = 0;
      while (j < keptIds.length) { cum += Math.exp(lp[keptIds[j]]); j++; if (cum >= params.topP * mass) break; }
      keptIds = keptIds.slice(0, j);
    }
    const keptMass = keptIds.reduce((a, i) => a + Math.exp(lp[i]), 0);
    const counts = draw(z, params, n, 11);
    for (const id of counts.keys()) assert.ok(keptIds.includes(id), `drew ${id}, outside the reference kept set ${keptIds}`);
    for (const id of keptIds) {
      const want = Math.exp(lp[id]) / keptMass, f = (counts.get(id) ?? 0) / n;
      assert.ok(Math.abs(f - want) < 4 * Math.sqrt(want * (1 - want) / n) + 2e-3, `id ${id}: ${f} vs ${want}`);
    }
  }
});

test("topLogprobs ranks the N most likely ids under the sampled token's distribution (ties: lower id first)", () => {
  const z = Float32Array.from([0.3, 2, -1, 2, 0.9, 5, -3, 0.3]);
  for (const T of [0, 0.6, 1.3]) {
    const lp = logSoftmax(z, T === 0 ? 1 : T);
    const order = Array.from(z.keys()).sort((a, b) => z[b] - z[a] || a - b);
    for (const N of [1, 3, 8, 20]) {
      const r = new TokenPicker(8, 8, { ...base, temperature: T, topLogprobs: N }).pick(z, null, new Rng(2));
      assert.deepEqual(r.top!.map(t => t.token), order.slice(0, N), `T=${T} N=${N}`);
      r.top!.forEach(t => assert.ok(Math.abs(t.logprob - lp[t.token]) < 1e-6));
      const mine = r.top!.find(t => t.token === r.token);
      if (mine) assert.equal(mine.logprob, r.logprob);
    }
  }
  // Ranked over the raw logits: the repetition penalty and the filters change what is drawn, not the ranking.
  const p = new TokenPicker(8, 6, { ...base, temperature: 0, repetitionPenalty: 3, topLogprobs: 2 }).pick(z, [5], new Rng(0));
  assert.deepEqual(p.top!.map(t => t.token), [5, 1]);
  assert.equal(p.token, 1);
  assert.equal(new TokenPicker(8, 8, base).pick(z, null, new Rng(0)).top, undefined);
  // Never an id past the tokenizer's vocabulary.
  assert.deepEqual(new TokenPicker(8, 3, { ...base, topLogprobs: 5 }).pick(z, null, new Rng(0)).top!.map(t => t.token), [1, 0, 2]);
});

test("topLogprobs through a backend's sampleRows pass: the same token as without, alternatives ranked after it", async () => {
  const { referenceBackend } = await import("../../src/engine/reference.js");
  const { getBackend, nativeAvailable } = await import("../../src/engine/index.js");
  const rng = new Rng(4), V = 1000;
  const z = Float32Array.from({ length: V }, () => 6 * rng.nextFloat());
  for (const be of [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])]) {
    for (const T of [0, 0.7]) {
      const lp = logSoftmax(z, T || 1);
      const order = Array.from(z.keys()).sort((a, b) => z[b] - z[a] || a - b).slice(0, 6);
      const withTop = new TokenPicker(V, V, { ...base, temperature: T, topLogprobs: 6 }, be);
      const without = new TokenPicker(V, V, { ...base, temperature: T }, be);
      assert.ok(withTop.fast, "alternatives do not take a row off the backend's pass");
      for (let seed = 0; seed < 5; seed++) {
        const a = withTop.pick(z, null, new Rng(seed)), b = without.pick(z, null, new Rng(seed));
        assert.equal(a.token, b.token, `${be.name} T=${T}: asking for alternatives changed the draw`);
        assert.equal(a.logprob, b.logprob);
        assert.deepEqual(a.top!.map(t => t.token), order);
        a.top!.forEach(t => assert.ok(Math.abs(t.logprob - lp[t.token]) < 1e-5, `${be.name} T=${T} id ${t.token}: ${t.logprob} vs ${lp[t.token]}`));
        const mine = a.top!.find(t => t.token === a.token);
        if (mine) assert.equal(mine.logprob, a.logprob);
      }
    }
  }
});
