import { test } from "node:test";
import assert from "node:assert/strict";
import { generate, encodePrompt, GenerationError, type TokenEvent } from "../../src/sample/generate.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { FakeLM } from "./fake-lm.js";

const tok = new ByteTokenizer(); // 256 = <|endoftext|> (EOS), 257 = <|pad|>
const prompts = ["Hi", "A longer prompt", "x", "Three word one"].map(s => tok.encode(s));

/** log softmax(z / T)[id] in float64. */
function logprobOf(z: Float32Array, id: number, T: number) {
  let m = -Infinity;
  for (const x of z) m = Math.max(m, x / T);
  let s = 0;
  for (const x of z) s += Math.exp(x / T - m);
  return z[id] / T - m - Math.log(s);
}

test("batched left-padded generation equals one prompt at a time", () => {
  const opts = { maxNewTokens: 12, temperature: 0 };
  const batched = generate(new FakeLM({ vocab: 258 }), tok, prompts, opts);
  const single = prompts.map(p => generate(new FakeLM({ vocab: 258 }), tok, [p], opts)[0]);
  assert.deepEqual(batched.map(g => g.ids), single.map(g => g.ids));
  batched.forEach((g, i) => {
    assert.equal(g.prompt, i);
    assert.deepEqual(g.logprobs.map(x => x.toFixed(5)), single[i].logprobs.map(x => x.toFixed(5)));
  });
  // Sampling: sequence i draws from stream i, so the padded first row matches a call with that prompt alone.
  const sampled = { maxNewTokens: 12, temperature: 0.9, topP: 0.95, seed: 4 };
  assert.deepEqual(generate(new FakeLM({ vocab: 258 }), tok, prompts, sampled)[0].ids, generate(new FakeLM({ vocab: 258 }), tok, [prompts[0]], sampled)[0].ids);
});

test("log-probs are log softmax(logits / T) of the full re-forward at each step", () => {
  const model = new FakeLM({ vocab: 258 });
  const T = 0.7;
  const out = generate(model, tok, prompts, { maxNewTokens: 10, temperature: T, topK: 20, seed: 1 });
  for (const g of out) {
    const history = [...prompts[g.prompt]];
    g.ids.forEach((id, i) => {
      assert.ok(Math.abs(g.logprobs[i] - logprobOf(model.logitsAfter(history), id, T)) < 1e-5);
      history.push(id);
    });
  }
});

test("topLogprobs: per position the N most likely ids of the full re-forward, streamed as each token's `top`", () => {
  const model = new FakeLM({ vocab: 258 });
  for (const T of [0, 0.8]) {
    const events: TokenEvent[] = [];
    const out = generate(model, tok, prompts, { maxNewTokens: 6, temperature: T, seed: 3, numReturnSequences: 2, topLogprobs: 4 }, e => events.push(e));
    for (const g of out) {
      const history = [...prompts[g.prompt]];
      assert.equal(g.topLogprobs!.length, g.ids.length);
      g.ids.forEach((id, i) => {
        const z = model.logitsAfter(history);
        const want = Array.from(z.keys()).filter(v => v < tok.vocabSize).sort((a, b) => z[b] - z[a] || a - b).slice(0, 4);
        assert.deepEqual(g.topLogprobs![i].map(t => t.token), want);
        g.topLogprobs![i].forEach(t => assert.ok(Math.abs(t.logprob - logprobOf(z, t.token, T || 1)) < 1e-5));
        history.push(id);
      });
      const mine = events.filter(e => e.prompt === g.prompt && e.sample === g.sample);
      assert.deepEqual(mine.map(e => e.top), g.topLogprobs);
    }
  }
  const plain = generate(model, tok, prompts.slice(0, 1), { maxNewTokens: 3 })[0];
  assert.equal(plain.topLogprobs, undefined);
});

test("a seed reproduces a run; another seed changes it; batchSize chunks give the same result", () => {
  const run = (seed: number, batchSize?: number) =>
    generate(new FakeLM({ vocab: 258 }), tok, prompts, { maxNewTokens: 16, temperature: 1, seed, batchSize }).map(g => g.ids.join());
  assert.deepEqual(run(11), run(11));
  assert.deepEqual(run(11, 3), run(11));
  assert.notDeepEqual(run(11), run(12));
});

test("by default at most 256 sequences are decoded together, and the chunks change nothing", () => {
  const lm = new FakeLM({ vocab: 258 });
  const many = Array.from({ length: 150 }, (_, i) => prompts[i % prompts.length]);
  const chunked = generate(lm, tok, many, { maxNewTokens: 4, temperature: 1, seed: 5, numReturnSequences: 4 });
  assert.equal(chunked.length, 600);
  assert.ok(Math.max(...lm.batchSizes) <= 256, `largest decode batch ${Math.max(...lm.batchSizes)}`);
  const whole = generate(new FakeLM({ vocab: 258 }), tok, many, { maxNewTokens: 4, temperature: 1, seed: 5, numReturnSequences: 4, batchSize: 600 });
  assert.deepEqual(chunked.map(g => g.ids.join()), whole.map(g => g.ids.join()));
});

test("numReturnSequences gives n samples per prompt in prompt-major order", () => {
  const out = generate(new FakeLM({ vocab: 258 }), tok, prompts.slice(0, 2), { maxNewTokens: 8, numReturnSequences: 3, seed: 2 });
  assert.deepEqual(out.map(g => [g.prompt, g.sample]), [[0, 0], [0, 1], [0, 2], [1, 0], [1, 1], [1, 2]]);
  assert.ok(new Set(out.slice(0, 3).map(g => g.ids.join())).size > 1, "samples of one prompt should differ");
  const greedy = generate(new FakeLM({ vocab: 258 }), tok, prompts.slice(0, 1), { maxNewTokens: 8, temperature: 0, numReturnSequences: 2 });
  assert.deepEqual(greedy[0].ids, greedy[1].ids);
});

test("each distinct prompt is prefilled once and its cache rows are forked to its samples", () => {
  const model = new FakeLM({ vocab: 258 });
  const twice = [prompts[0], prompts[1], prompts[0]];
  const out = generate(model, tok, twice, { maxNewTokens: 3, temperature: 0, numReturnSequences: 2 });
  assert.deepEqual(model.batchSizes, [2, 6, 6], "one prefill row per distinct prompt, then all six rows");
  // FakeLM's logits hash each row's whole history, so a wrong fork changes the continuation
  const alone = twice.map(p => generate(new FakeLM({ vocab: 258 }), tok, [p], { maxNewTokens: 3, temperature: 0 })[0].ids);
  assert.deepEqual(out.map(g => g.ids), [alone[0], alone[0], alone[1], alone[1], alone[2], alone[2]]);
});

test("per-prompt seeds: one per prompt, not with seed", () => {
  const opts = { maxNewTokens: 4, temperature: 1 };
  assert.throws(() => generate(new FakeLM({ vocab: 258 }), tok, prompts, { ...opts, seeds: [1, 2] }), /2 seeds for 4 prompts/);
  assert.throws(() => generate(new FakeLM({ vocab: 258 }), tok, prompts.slice(0, 1), { ...opts, seeds: [1], seed: 1 }), /both seed and seeds/);
});

test("EOS ends a row (kept in ids, not in text) and finished rows leave the batch", () => {
  // After its 3rd generated token the row of prompt "x" emits EOS; others run to the length limit.
  const xLen = prompts[2].length;
  const model = new FakeLM({ vocab: 258, eos: 256, force: h => (h[0] === prompts[2][0] && h.length === xLen + 3 ? 256 : null) });
  const out = generate(model, tok, prompts, { maxNewTokens: 6, temperature: 0 });
  assert.equal(out[2].finishReason, "eos");
  assert.equal(out[2].ids.length, 4);
  assert.equal(out[2].ids[3], 256);
  assert.equal(out[2].text, tok.decode(out[2].ids.slice(0, 3)));
  for (const i of [0, 1, 3]) { assert.equal(out[i].finishReason, "length"); assert.equal(out[i].ids.length, 6); }
  assert.deepEqual(model.batchSizes, [4, 4, 4, 4, 3, 3]);
});

test("stop strings cut the text before them, keep ids and log-probs, and never reach the stream", () => {
  // The model spells "ab</answer>zz…" whatever the prompt.
  const script = tok.encode("ab</answer>zzzzzzzzzz");
  const model = new FakeLM({ vocab: 258, force: h => script[h.length - prompts[1].length] ?? null });
  const events: TokenEvent[] = [];
  const [g] = generate(model, tok, [prompts[1]], { maxNewTokens: 20, temperature: 0, stop: ["</answer>", "never"] }, e => events.push(e));
  assert.equal(g.finishReason, "stop");
  assert.equal(g.text, "ab");
  assert.equal(g.ids.length, "ab</answer>".length);
  assert.equal(g.logprobs.length, g.ids.length);
  assert.equal(events.map(e => e.text).join(""), "ab");
  assert.equal(events.length, g.ids.length);
  assert.equal(events.at(-1)!.finishReason, "stop");
});

test("streamed text adds up to the returned text, multi-byte characters whole", () => {
  const script = tok.encode("héllo → 😀 done");
  const model = new FakeLM({ vocab: 258, force: h => script[h.length - 1] ?? null });
  const deltas: string[] = [];
  const [g] = generate(model, tok, [[65]], { maxNewTokens: script.length, temperature: 0 }, e => deltas.push(e.text));
  assert.equal(g.text, "héllo → 😀 done");
  assert.equal(deltas.join(""), g.text);
  assert.ok(deltas.every(d => !d.includes("\uFFFD")));
});

test("repetition penalty changes greedy output away from repeats", () => {
  const plain = generate(new FakeLM({ vocab: 258 }), tok, [prompts[1]], { maxNewTokens: 100, temperature: 0 })[0].ids;
  const pen = generate(new FakeLM({ vocab: 258 }), tok, [prompts[1]], { maxNewTokens: 100, temperature: 0, repetitionPenalty: 1e6 })[0].ids;
  const seen = new Set(prompts[1]);
  assert.ok(pen.every(id => { const fresh = !seen.has(id); seen.add(id); return fresh; }), "a huge penalty never repeats a token");
  assert.notDeepEqual(plain, pen);
});

test("ids the tokenizer cannot decode are never generated", () => {
  const out = generate(new FakeLM({ vocab: 300 }), tok, prompts, { maxNewTokens: 30, temperature: 2, seed: 3 });
  assert.ok(out.every(g => g.ids.every(id => id < tok.vocabSize)));
});

test("bad requests fail with GenerationError", () => {
  const m = new FakeLM({ vocab: 258, maxPos: 32 });
  assert.throws(() => generate(m, tok, [[]], { maxNewTokens: 4 }), GenerationError);
  assert.throws(() => generate(m, tok, [[999]], { maxNewTokens: 4 }), GenerationError);
  assert.throws(() => generate(m, tok, [prompts[1]], { maxNewTokens: 30 }), /max_position_embeddings/);
  assert.throws(() => generate(m, tok, [prompts[0]], { maxNewTokens: 4, topP: 0 } as never));
});

test("encodePrompt renders the R1 template for chat and leaves plain text alone", () => {
  assert.deepEqual(encodePrompt(tok, "hi"), tok.encode("hi"));
  const ids = encodePrompt(tok, "2+2?", { template: "r1" });
  assert.ok(tok.decode(ids).endsWith("User: 2+2?. Assistant:"));
  assert.equal(ids[0], tok.eosId); // ByteTokenizer's BOS is <|endoftext|>
});
