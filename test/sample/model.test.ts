// The sampler on the real transformer, on every backend that loads here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { referenceBackend } from "../../src/engine/reference.js";
import { getBackend, nativeAvailable } from "../../src/engine/index.js";
import type { CausalLM } from "../../src/model/types.js";
import { generate, PREFILL_CHUNK_TOKENS } from "../../src/sample/generate.js";
import { tinyModel, tokenizer } from "./tiny-model.js";

const backends = [referenceBackend, ...(nativeAvailable() ? [getBackend("native")] : [])];
const prompts = ["The cat", "Two plus two is", "<think>", "The dog sat on the log. The"].map(s => tokenizer.encode(s));

/** Greedy decoding by re-running the whole sequence through a fresh cache at every step (no reuse). */
function greedyByReforward(model: CausalLM, prompt: number[], steps: number) {
  const seq = [...prompt];
  const logits: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    const cache = model.newCache(1, seq.length);
    const z = model.decode(cache, Int32Array.from(seq), new Uint8Array(seq.length).fill(1), seq.length);
    logits.push(z);
    let best = 0;
    for (let v = 1; v < tokenizer.vocabSize; v++) if (z[v] > z[best]) best = v;
    seq.push(best);
    if (best === tokenizer.eosId) break;
  }
  return { ids: seq.slice(prompt.length), logits };
}

for (const be of backends) {
  test(`[${be.name}] greedy with the KV cache equals greedy by full re-forward, token for token`, () => {
    const model = tinyModel(be);
    const out = generate(model, tokenizer, prompts, { maxNewTokens: 16, temperature: 0 });
    out.forEach((g, i) => {
      const ref = greedyByReforward(model, prompts[i], 16);
      assert.deepEqual(g.ids, ref.ids, `prompt ${i}`);
      // and its log-probs are those of the re-forward's logits
      g.ids.forEach((id, t) => {
        const z = ref.logits[t];
        let m = -Infinity, s = 0;
        for (const x of z) m = Math.max(m, x);
        for (const x of z) s += Math.exp(x - m);
        assert.ok(Math.abs(g.logprobs[t] - (z[id] - m - Math.log(s))) < 1e-4);
      });
    });
    assert.ok(out.some(g => new Set(g.ids).size > 2), "the continuation should not be a constant");
  });

  test(`[${be.name}] batched (left-padded) equals one prompt at a time`, () => {
    const model = tinyModel(be);
    const batched = generate(model, tokenizer, prompts, { maxNewTokens: 12, temperature: 0 });
    const single = prompts.map(p => generate(model, tokenizer, [p], { maxNewTokens: 12, temperature: 0 })[0]);
    assert.deepEqual(batched.map(g => g.ids), single.map(g => g.ids));
    batched.forEach((g, i) => g.logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - single[i].logprobs[t]) < 1e-4)));
  });

  test(`[${be.name}] a prefill longer than PREFILL_CHUNK_TOKENS is fed in chunks and gives what each prompt alone gives`, () => {
    const model = tinyModel(be);
    // 48 prompts of 20-79 tokens: the left-padded prefill (48 × 79) is several chunks, the shortest rows' first chunks all padding.
    const long = Array.from({ length: 48 }, (_, i) => Array.from({ length: 20 + ((i * 37) % 60) }, (_, t) => tokenizer.encode("The cat sat on the mat. Two plus two is")[(i + t) % 12]));
    assert.ok(48 * 79 > 3 * PREFILL_CHUNK_TOKENS);
    const batched = generate(model, tokenizer, long, { maxNewTokens: 8, temperature: 0 });
    long.forEach((p, i) => {
      const alone = generate(model, tokenizer, [p], { maxNewTokens: 8, temperature: 0 })[0];
      assert.deepEqual(batched[i].ids, alone.ids, `prompt ${i}`);
      batched[i].logprobs.forEach((lp, t) => assert.ok(Math.abs(lp - alone.logprobs[t]) < 1e-4, `prompt ${i} token ${t}: ${lp} vs ${alone.logprobs[t]}`));
    });
  });

  test(`[${be.name}] sampled log-probs equal the training forward's log-probs at the same temperature`, () => {
    const model = tinyModel(be);
    const T = 0.8;
    const out = generate(model, tokenizer, prompts, { maxNewTokens: 10, temperature: T, topP: 0.9, seed: 5 });
    // Right-padded [prompt | completion] rows through forward(): logp of each completion token.
    const L = Math.max(...out.map(g => prompts[g.prompt].length + g.ids.length));
    const B = out.length;
    const tokens = new Int32Array(B * L), mask = new Uint8Array(B * L), targets = new Int32Array(B * L).fill(-1);
    out.forEach((g, b) => {
      const seq = [...prompts[g.prompt], ...g.ids];
      seq.forEach((id, t) => { tokens[b * L + t] = id; mask[b * L + t] = 1; });
      g.ids.forEach((id, j) => { targets[b * L + prompts[g.prompt].length - 1 + j] = id; });
    });
    const { logp } = model.forward(tokens, mask, targets, B, L, T);
    out.forEach((g, b) => g.ids.forEach((_, j) => {
      const want = logp[b * L + prompts[g.prompt].length - 1 + j];
      assert.ok(Math.abs(g.logprobs[j] - want) < 1e-4, `row ${b} token ${j}: ${g.logprobs[j]} vs forward ${want}`);
    }));
  });

  test(`[${be.name}] seeded sampling is reproducible and independent of the batch size`, () => {
    const model = tinyModel(be);
    const run = (seed: number, batchSize?: number) => generate(model, tokenizer, prompts,
      { maxNewTokens: 12, temperature: 1, topK: 40, seed, numReturnSequences: 2, batchSize }).map(g => g.ids.join());
    const a = run(3);
    assert.deepEqual(run(3), a);
    assert.deepEqual(run(3, 1), a);
    assert.notDeepEqual(run(4), a);
  });
}
