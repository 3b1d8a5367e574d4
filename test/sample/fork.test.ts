// Shared prefill: one prefill per distinct prompt, its KV-cache rows forked to every sample, against each row decoded
// from its own prefill. Per-prompt seeds against separate calls.
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import { BadForkRowsError, KVCacheImpl } from "../../src/model/kv-cache.js";
import type { CausalLM } from "../../src/model/types.js";
import { generate, type TokenEvent } from "../../src/sample/generate.js";
import { SamplingOptionsSchema, type SamplingOptions } from "../../src/sample/options.js";
import { TokenPicker } from "../../src/sample/pick.js";
import { Rng } from "../../src/sample/rng.js";
import { tinyModel, tokenizer } from "./tiny-model.js";

const backends = [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])];
const prompts = ["The cat", "Two plus two is", "<think>"].map(s => tokenizer.encode(s));
const V = 304;

/** Decodes one row alone from its own batch-1 prefill with `rng`, as an independent re-implementation of the loop. */
function decodeAlone(model: CausalLM, prompt: number[], options: SamplingOptions, rng: Rng, steps: number) {
  const o = SamplingOptionsSchema.parse(options);
  const picker = new TokenPicker(V, tokenizer.vocabSize, o);
  const cache = model.newCache(1, prompt.length + steps);
  let z = model.decode(cache, Int32Array.from(prompt), new Uint8Array(prompt.length).fill(1), prompt.length);
  const ids: number[] = [], logprobs: number[] = [];
  for (let t = 0; t < steps; t++) {
    const { token, logprob } = picker.pick(z, null, rng);
    ids.push(token); logprobs.push(logprob);
    if (t + 1 < steps) z = model.decode(cache, Int32Array.of(token), Uint8Array.of(1), 1);
  }
  return { ids, logprobs };
}

for (const be of backends) {
  test(`[${be.name}] fork copies cache rows: forked decoding equals each row's own cache`, () => {
    const model = tinyModel(be);
    const [a, b] = prompts;
    const T = Math.max(a.length, b.length);
    const tokens = new Int32Array(2 * T), valid = new Uint8Array(2 * T);
    [a, b].forEach((p, r) => { tokens.set(p, r * T + T - p.length); valid.fill(1, r * T + T - p.length, (r + 1) * T); });
    const cache = model.newCache(2, T + 3);
    model.decode(cache, tokens, valid, T);
    const rows = [1, 0, 1, 1];
    cache.fork(rows);
    assert.equal(cache.batch, 4);
    const next = [7, 9, 11, 13];
    const forked = model.decode(cache, Int32Array.from(next), new Uint8Array(4).fill(1), 1);
    rows.forEach((r, i) => {
      const p = [a, b][r], own = model.newCache(1, p.length + 1);
      model.decode(own, Int32Array.from(p), new Uint8Array(p.length).fill(1), p.length);
      const z = model.decode(own, Int32Array.of(next[i]), Uint8Array.of(1), 1);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(forked[i * V + v] - z[v]) < 1e-4, `row ${i} logit ${v}: ${forked[i * V + v]} vs ${z[v]}`);
    });
    assert.throws(() => cache.fork([4]), BadForkRowsError);
    assert.throws(() => cache.fork([]), BadForkRowsError);
  });

  test(`[${be.name}] within its capacity a cache forks prompt-major rows in place, and a released cache's memory serves the next`, () => {
    const model = tinyModel(be);
    const [a, b] = prompts;
    const T = Math.max(a.length, b.length);
    const tokens = new Int32Array(2 * T), valid = new Uint8Array(2 * T);
    [a, b].forEach((p, r) => { tokens.set(p, r * T + T - p.length); valid.fill(1, r * T + T - p.length, (r + 1) * T); });
    const cache = model.newCache(5, T + 3) as KVCacheImpl; // room for five rows, as generate() makes it
    const memory = cache.k[0].buffer;
    cache.keep([0, 1]);
    model.decode(cache, tokens, valid, T);
    const rows = [0, 0, 1, 1, 1];
    cache.fork(rows);
    assert.equal(cache.batch, 5);
    assert.equal(cache.k[0].buffer, memory, "forked in place");
    const next = [7, 9, 11, 13, 15];
    const forked = model.decode(cache, Int32Array.from(next), new Uint8Array(5).fill(1), 1);
    cache.keep([1, 3, 4]); // finished rows leave, in place too
    assert.equal(cache.k[0].buffer, memory, "kept in place");
    const after = model.decode(cache, Int32Array.from([5, 6, 8]), new Uint8Array(3).fill(1), 1);
    rows.forEach((r, i) => {
      const p = [a, b][r], own = model.newCache(1, p.length + 2);
      model.decode(own, Int32Array.from(p), new Uint8Array(p.length).fill(1), p.length);
      const z = model.decode(own, Int32Array.of(next[i]), Uint8Array.of(1), 1);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(forked[i * V + v] - z[v]) < 1e-4, `row ${i} logit ${v}: ${forked[i * V + v]} vs ${z[v]}`);
      const k = [1, 3, 4].indexOf(i);
      if (k < 0) return;
      const z2 = model.decode(own, Int32Array.of([5, 6, 8][k]), Uint8Array.of(1), 1);
      for (let v = 0; v < V; v++) assert.ok(Math.abs(after[k * V + v] - z2[v]) < 1e-4, `kept row ${i} logit ${v}`);
    });
    cache.release();
    const again = model.newCache(4, T + 3) as KVCacheImpl;
    assert.equal(again.k[0].buffer, memory, "the next cache reuses the released memory");
    assert.equal((model.newCache(4, T + 3) as KVCacheImpl).k[0].buffer === memory, false, "but only once until released again");
  });

  test(`[${be.name}] the training activations and the KV cache take turns in one allocation`, () => {
    const model = tinyModel(be);
    const B = 2, T = 6, tokens = Int32Array.from({ length: B * T }, (_, i) => 5 + i), mask = new Uint8Array(B * T).fill(1);
    const targets = Int32Array.from(tokens, (_, i) => (i % T < T - 1 ? tokens[i + 1] : -1));
    const first = model.forward(tokens, mask, targets, B, T).logp.slice();
    const cache = model.newCache(2, 4) as KVCacheImpl; // small enough for the activations' memory: it takes it over
    model.decode(cache, Int32Array.of(1, 2), Uint8Array.of(1, 1), 1);
    assert.throws(() => model.backward(new Float32Array(B * T)), /before forward/, "the activations were overwritten by the cache");
    const memory = cache.k[0].buffer;
    cache.release();
    const again = model.forward(tokens, mask, targets, B, T).logp;
    assert.deepEqual(again, first, "a forward after the cache is released gives the same log-probs");
    model.backward(new Float32Array(B * T).fill(0.1));
    const next = model.newCache(2, 4) as KVCacheImpl;
    assert.equal(next.k[0].buffer, memory, "and the next cache takes the same memory again");
  });

  const cases: [string, SamplingOptions & { numReturnSequences: number }][] = [
    ["greedy", { maxNewTokens: 10, temperature: 0, numReturnSequences: 3, eosTokenIds: [] }],
    ["sampled", { maxNewTokens: 10, temperature: 0.9, topK: 50, topP: 0.95, seed: 4, numReturnSequences: 4, eosTokenIds: [] }],
  ];
  for (const [name, options] of cases) {
    test(`[${be.name}] ${name}: samples sharing a forked prefill equal each row decoded from its own prefill`, () => {
      const model = tinyModel(be);
      const n = options.numReturnSequences;
      const out = generate(model, tokenizer, prompts, options);
      out.forEach((g, i) => {
        const alone = decodeAlone(model, prompts[g.prompt], options, Rng.forStream(4, i), options.maxNewTokens);
        assert.deepEqual(g.ids, alone.ids, `prompt ${g.prompt} sample ${g.sample}`);
        g.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - alone.logprobs[t]) < 1e-5, `row ${i} token ${t}: ${lp} vs ${alone.logprobs[t]}`));
      });
      if (name === "sampled") assert.ok(new Set(out.slice(0, n).map(g => g.ids.join())).size > 1, "samples of a prompt should differ");
    });
  }

  test(`[${be.name}] per-prompt seeds give what separate calls give`, () => {
    const model = tinyModel(be);
    const seeds = [11, 5, 11];
    const options = { maxNewTokens: 8, temperature: 1, numReturnSequences: 2 };
    const together = generate(model, tokenizer, prompts, { ...options, seeds });
    const apart = prompts.flatMap((p, i) => generate(model, tokenizer, [p], { ...options, seed: seeds[i] }));
    assert.deepEqual(together.map(g => g.ids), apart.map(g => g.ids));
    together.forEach((g, i) => g.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - apart[i].logprobs[t]) < 1e-4)));
  });
}

test("streamed events carry each token's log-prob", () => {
  const model = tinyModel(referenceBackend);
  const events: TokenEvent[] = [];
  const out = generate(model, tokenizer, prompts, { maxNewTokens: 6, temperature: 1, seed: 2, numReturnSequences: 2 }, e => events.push(e));
  out.forEach(g => {
    const mine = events.filter(e => e.prompt === g.prompt && e.sample === g.sample);
    assert.deepEqual(mine.map(e => e.token), g.ids);
    assert.deepEqual(mine.map(e => e.logprob), g.logprobs);
  });
});
