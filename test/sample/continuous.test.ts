// Continuous batching: rows join a running batch as others finish. Oracles: the same rows decoded with every row in
// one batch (batchSize 256), FakeLM's history hash (any misplaced slot changes the continuation), and, at cache level,
// each row decoded from its own cache.
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import { BadJoinError, KVCacheImpl } from "../../src/model/kv-cache.js";
import type { CausalLM } from "../../src/model/types.js";
import { setKvCacheDtype } from "../../src/model/transformer.js";
import { generate, type Generation, type TokenEvent } from "../../src/sample/generate.js";
import { DecodeEngine } from "../../src/sample/engine.js";
import type { SamplingOptions } from "../../src/sample/options.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { FakeLM } from "./fake-lm.js";
import { tinyModel, tokenizer } from "./tiny-model.js";

const backends = [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])];
const V = 304;

/** Runs generate through an engine whose stats the test reads. */
function engineRun(model: CausalLM, tok: typeof tokenizer | ByteTokenizer, prompts: number[][], options: SamplingOptions, batchSize: number, slack?: number, onToken?: (e: TokenEvent) => void) {
  const engine = new DecodeEngine(model, tok, { batchSize, slack });
  let out: Generation[] = [];
  engine.add({ prompts, options, onToken, done: g => { out = g; } });
  engine.drain();
  return { out, stats: engine.stats };
}

// FakeLM: 10 rows of 5 prompts × 2 samples; each row stops (EOS) after a length set by its prompt and history.
const tok = new ByteTokenizer();
const fakePrompts = ["Hi", "A longer prompt", "x", "Three word one", "mid size"].map(s => tok.encode(s));
const stopAfter = (h: number[]) => 2 + ((h[0] + h.length * 7) % 9);
const fake = () => new FakeLM({ vocab: 258, eos: 256, force: h => { const p = fakePrompts.find(p => p[0] === h[0] && p.length <= h.length)!; return h.length - p.length >= stopAfter(h) ? 256 : null; } });

for (const [name, options] of [
  ["greedy", { maxNewTokens: 14, temperature: 0, numReturnSequences: 2 }],
  ["seeded T=1", { maxNewTokens: 14, temperature: 1, seed: 9, numReturnSequences: 2 }],
] as [string, SamplingOptions][]) {
  test(`FakeLM ${name}: batchSize 3 over 10 rows of different lengths equals batchSize 256, and rows join mid-flight`, () => {
    const all = generate(fake(), tok, fakePrompts, { ...options, batchSize: 256 });
    assert.ok(new Set(all.map(g => g.ids.length)).size >= 3, `rows should end at different lengths: ${all.map(g => g.ids.length)}`);
    const lm = fake();
    const events: TokenEvent[] = [];
    const { out, stats } = engineRun(lm, tok, fakePrompts, { ...options }, 3, 2, e => events.push(e));
    assert.deepEqual(out.map(g => [g.prompt, g.sample]), all.map(g => [g.prompt, g.sample]));
    assert.deepEqual(out.map(g => g.ids), all.map(g => g.ids));
    assert.deepEqual(out.map(g => g.finishReason), all.map(g => g.finishReason));
    out.forEach((g, i) => assert.deepEqual(g.logprobs, all[i].logprobs));
    // streams: each row's events are its tokens
    out.forEach(g => assert.deepEqual(events.filter(e => e.prompt === g.prompt && e.sample === g.sample).map(e => e.token), g.ids));
    // the batch stayed full while rows were waiting: every decode step before the last admission ran 3 rows
    const steps = lm.batchSizes.filter((_, i) => i > 0); // FakeLM counts prefills too; steps are the 3-row calls and the tail
    assert.ok(stats.admissions > 2, `rows joined in ${stats.admissions} admissions`);
    assert.ok(steps.filter(b => b === 3).length >= 10, `3-row steps: ${lm.batchSizes}`);
    assert.ok(stats.forkedRows > 0 || stats.prefillRows === fakePrompts.length, "each prompt prefilled once");
    assert.equal(stats.prefillRows, fakePrompts.length, "a prompt whose second sample joins later forks its kept prefill");
    assert.ok(stats.compactions > 0, "the small slack forced compactions");
  });
}

test("generate: batchSize 3 over 10 FakeLM rows equals batchSize 256 (seeded, top-p)", () => {
  const options = { maxNewTokens: 12, temperature: 0.8, topP: 0.9, seed: 3, numReturnSequences: 2 };
  const a = generate(fake(), tok, fakePrompts, { ...options, batchSize: 3 });
  const b = generate(fake(), tok, fakePrompts, { ...options, batchSize: 256 });
  assert.deepEqual(a, b);
});

test("engine: jobs with their own options join a running batch; a short job finishes first and equals it alone", () => {
  const lm = new FakeLM({ vocab: 258 });
  const engine = new DecodeEngine(lm, tok, { batchSize: 8 });
  const finished: string[] = [];
  let long: Generation[] = [], short: Generation[] = [];
  engine.add({ prompts: [fakePrompts[1]], options: { maxNewTokens: 30, temperature: 0 }, done: g => { long = g; finished.push("long"); } });
  for (let i = 0; i < 5; i++) engine.step();
  assert.equal(engine.running, 1);
  engine.add({ prompts: [fakePrompts[0], fakePrompts[2]], options: { maxNewTokens: 4, temperature: 1, seed: 7, topK: 20 }, done: g => { short = g; finished.push("short"); } });
  engine.drain();
  assert.deepEqual(finished, ["short", "long"]);
  assert.deepEqual(long, generate(new FakeLM({ vocab: 258 }), tok, [fakePrompts[1]], { maxNewTokens: 30, temperature: 0 }));
  assert.deepEqual(short, generate(new FakeLM({ vocab: 258 }), tok, [fakePrompts[0], fakePrompts[2]], { maxNewTokens: 4, temperature: 1, seed: 7, topK: 20 }));
});

test("engine: a job queued behind a larger job's waiting rows starts at the next free place, not after them", () => {
  // job A: 12 rows (3 prompts × 4), 4 decoding at a time; job B (one row) arrives at step 3
  const engine = new DecodeEngine(fake(), tok, { batchSize: 4 });
  const firstToken: string[] = [];
  const seen = new Set<string>();
  const note = (job: string) => (e: TokenEvent) => { const k = `${job}${e.prompt}.${e.sample}`; if (!seen.has(k)) { seen.add(k); firstToken.push(k); } };
  let a: Generation[] = [], b: Generation[] = [];
  engine.add({ prompts: fakePrompts.slice(0, 3), options: { maxNewTokens: 14, temperature: 0, numReturnSequences: 4 }, onToken: note("A"), done: g => { a = g; } });
  for (let i = 0; i < 3; i++) engine.step();
  engine.add({ prompts: [fakePrompts[3]], options: { maxNewTokens: 3, temperature: 0 }, onToken: note("B"), done: g => { b = g; } });
  engine.drain();
  // greedy samples of a prompt finish together: A's first four rows free four places at once, and B takes one of
  // them (in arrival order B would start after all twelve of A's rows)
  assert.equal(firstToken.length, 13);
  assert.ok(firstToken.indexOf("B0.0") < firstToken.indexOf("A1.3"), `B starts in the first free places: ${firstToken.join(" ")}`);
  assert.deepEqual(a, generate(fake(), tok, fakePrompts.slice(0, 3), { maxNewTokens: 14, temperature: 0, numReturnSequences: 4 }));
  assert.deepEqual(b, generate(fake(), tok, [fakePrompts[3]], { maxNewTokens: 3, temperature: 0 }));
});

for (const be of backends) {
  // 5 prompts of 2–12 tokens × 2 samples; EOS = a token the model emits often, so rows end at different steps.
  const prompts = ["The cat", "Two plus two is", "<think>", "The dog sat on the log. The", "add the numbers </think> <answer>"].map(s => tokenizer.encode(s));
  const eosFor = (model: CausalLM) => {
    const free = generate(model, tokenizer, prompts, { maxNewTokens: 12, temperature: 1, seed: 1, numReturnSequences: 2, eosTokenIds: [] });
    const count = new Map<number, number>();
    for (const g of free) for (const id of new Set(g.ids.slice(1))) count.set(id, (count.get(id) ?? 0) + 1);
    return [...count].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0][0];
  };
  for (const [name, base] of [
    ["greedy", { maxNewTokens: 12, temperature: 0, numReturnSequences: 2 }],
    ["seeded T=1", { maxNewTokens: 12, temperature: 1, seed: 5, numReturnSequences: 2 }],
  ] as [string, SamplingOptions][]) {
    test(`[${be.name}] ${name}: batchSize 3 over 10 rows of different lengths equals batchSize 256 (ids; log-probs within 1e-4)`, () => {
      const model = tinyModel(be);
      const options = { ...base, eosTokenIds: [eosFor(model)] };
      const all = generate(model, tokenizer, prompts, { ...options, batchSize: 256 });
      assert.ok(new Set(all.map(g => g.ids.length)).size >= 2, `rows should end at different lengths: ${all.map(g => g.ids.length)}`);
      const { out, stats } = engineRun(model, tokenizer, prompts, options, 3, 1);
      assert.ok(stats.admissions > 2 && stats.compactions > 0, `admissions ${stats.admissions}, compactions ${stats.compactions}`);
      assert.deepEqual(out.map(g => g.ids), all.map(g => g.ids));
      // Native products take other kernels at other row counts (the skinny dot-product path up to 4 rows, the packed
      // microkernel above), so a row's roundings depend on its batch: the grouped decode attention (7 Dec) moved the
      // largest difference here from under 1e-5 to 1.6e-5 (on log-probs near −3.4). A wrong row or token differs by O(1).
      out.forEach((g, i) => g.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - all[i].logprobs[t]) < 1e-4, `row ${i} token ${t}: ${lp} vs ${all[i].logprobs[t]}`)));
      if (be === referenceBackend) assert.deepEqual(out.map(g => g.logprobs), all.map(g => g.logprobs), "bit for bit on the reference backend");
      // and through generate() with its default slack
      assert.deepEqual(generate(model, tokenizer, prompts, { ...options, batchSize: 3 }).map(g => g.ids), all.map(g => g.ids));
    });
  }

  for (const kv of ["float32", "bfloat16"] as const) test(`[${be.name}] join and compact (${kv} cache): rows joined from other caches, longer and shorter, decode as in their own caches`, () => {
    const model = tinyModel(be);
    setKvCacheDtype(model, kv);
    const [a, b, c] = [prompts[0], prompts[3], prompts[1]];
    const fill = (p: number[]) => { const k = model.newCache(1, p.length + 4); model.decode(k, Int32Array.from(p), new Uint8Array(p.length).fill(1), p.length); return k; };
    const own = (p: number[], feed: number[]) => {
      const k = fill(p);
      let y: Float32Array = new Float32Array(0);
      for (const t of feed) y = model.decode(k, Int32Array.of(t), Uint8Array.of(1), 1);
      return y;
    };
    const check = (z: Float32Array, expect: Float32Array[], what: string) =>
      expect.forEach((y, i) => { for (let v = 0; v < V; v++) assert.ok(Math.abs(z[i * V + v] - y[v]) < 1e-4, `${what}: row ${i} logit ${v}: ${z[i * V + v]} vs ${y[v]}`); });
    const main = model.newCache(1, 40) as KVCacheImpl;
    main.keep([]);
    main.join(fill(a), [0]);                    // a (2 tokens) into an empty cache
    model.decode(main, Int32Array.of(7), Uint8Array.of(1), 1);
    main.join(fill(b), [0, 0]);                 // b is longer than the slots in use: a moves right; twice (a fork), past the capacity
    assert.equal(main.batch, 3);
    assert.equal(main.length, b.length);
    const z1 = model.decode(main, Int32Array.of(9, 11, 13), Uint8Array.of(1, 1, 1), 1);
    check(z1, [own(a, [7, 9]), own(b, [11]), own(b, [13])], "after a longer join");
    main.join(fill(c), [0]);                    // c is shorter: it ends at the last used slot
    main.keep([0, 3]);                          // the b rows leave: a and c start after masked slots
    const before = main.length, dropped = main.compact();
    assert.ok(dropped > 0 && main.length === before - dropped, `compact dropped ${dropped} of ${before}`);
    const z2 = model.decode(main, Int32Array.of(5, 8), Uint8Array.of(1, 1), 1);
    check(z2, [own(a, [7, 9, 5]), own(c, [8])], "after a shorter join and a compaction");
    assert.throws(() => main.join(main, [0]), BadJoinError);
    assert.throws(() => main.join(fill(a), [1]), BadJoinError);
    const other = tinyModel(be);
    setKvCacheDtype(other, kv === "float32" ? "bfloat16" : "float32");
    assert.throws(() => main.join(other.newCache(1, 8), [0]), BadJoinError, "keys stored in another dtype cannot be copied as they are");
    // and whole generations: rows joining a BF16 cache mid-flight equal one big batch
    if (kv === "bfloat16") {
      const options = { maxNewTokens: 10, temperature: 0, numReturnSequences: 2 };
      assert.deepEqual(engineRun(model, tokenizer, prompts, options, 3, 1).out.map(g => g.ids), generate(model, tokenizer, prompts, { ...options, batchSize: 256 }).map(g => g.ids));
    }
  });
}
