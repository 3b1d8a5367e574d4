// Top alternatives (completions `logprobs: N`, chat `top_logprobs: N`) served by `move37 serve` and read with the
// official openai client: each alternative's log-prob equals a direct log-softmax of the model's logits there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import OpenAI from "openai";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import type { CausalLM } from "../../src/model/types.js";
import { loadTokenizer, writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { encodePrompt } from "../../src/sample/generate.js";
import { startServe, type ServeHandle } from "../../src/serve/server.js";
import { tinyModel, TOKENIZER, TOKENIZER_CONFIG } from "../sample/tiny-model.js";
import { tempRoot } from "../train/trainer-harness.js";

const dir = join(tempRoot("serve-top"), "m");
savePretrained(tinyModel(getBackend("auto"), 1), dir);
writeTokenizerFiles(dir, TOKENIZER.json, TOKENIZER_CONFIG);
const model = loadPretrained(dir, getBackend("auto")).model, tok = loadTokenizer(dir);
let server: ServeHandle, client: OpenAI;
before(async () => {
  server = await startServe({ modelDir: dir, port: 0, modelName: "tiny" });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "none", maxRetries: 0 });
});
after(() => server.close());

/**
 * log softmax(logits / T) after `history` by one fresh prefill (no reuse of the server's cache), normalized over the
 * model's whole vocabulary (304 rows) and returned for the tokenizer's 300 ids, the ones that can be named.
 */
function direct(history: number[], T: number): number[] {
  const cache = model.newCache(1, history.length);
  const z = model.decode(cache, Int32Array.from(history), new Uint8Array(history.length).fill(1), history.length);
  const s = Array.from(z, x => x / T);
  const m = Math.max(...s), lse = m + Math.log(s.reduce((a, x) => a + Math.exp(x - m), 0));
  return s.slice(0, tok.vocabSize).map(x => x - lse);
}
/** The N most likely ids of a log-prob row, ties to the lower id. */
const topIds = (lp: number[], N: number) => lp.map((_, i) => i).sort((a, b) => lp[b] - lp[a] || a - b).slice(0, N);
const idOf = (name: string) => Number(/^token_id:(\d+)$/.exec(name)![1]);

test("completions logprobs: N returns the N most likely tokens (plus the sampled one) of the model's distribution", async () => {
  const prompt = tok.encode("The cat sat");
  for (const temperature of [0, 0.7]) {
    const r = await client.completions.create({
      model: "tiny", prompt, max_tokens: 10, temperature, seed: 4, n: 2, logprobs: 5,
      // vLLM's fields: token ids back, and ids as names so two ids never share a key
      ...({ return_token_ids: true, return_tokens_as_token_ids: true } as object),
    });
    for (const c of r.choices) {
      const ids = (c as unknown as { token_ids: number[] }).token_ids, lp = c.logprobs!;
      assert.equal(lp.top_logprobs!.length, ids.length);
      ids.forEach((id, i) => {
        const want = direct([...prompt, ...ids.slice(0, i)], temperature || 1);
        const got = lp.top_logprobs![i];
        const keys = Object.keys(got).map(idOf);
        const top = topIds(want, 5);
        assert.deepEqual(keys.slice(0, 5), top, `position ${i}: the 5 most likely, most likely first`);
        assert.equal(keys.length, top.includes(id) ? 5 : 6, "the sampled token is added when outside the top 5");
        for (const k of keys) assert.ok(Math.abs(got[`token_id:${k}`] - want[k]) < 1e-4, `position ${i} token ${k}: ${got[`token_id:${k}`]} vs ${want[k]}`);
        assert.ok(Math.abs(lp.token_logprobs![i] - want[id]) < 1e-4);
        if (top.includes(id)) assert.equal(got[`token_id:${id}`], lp.token_logprobs![i]);
      });
    }
  }
});

test("chat top_logprobs: N alternatives per token in OpenAI's shape, streamed equal to whole", async () => {
  const prompt = encodePrompt(tok, "Two plus two", { template: "model" });
  const body = { model: "tiny", messages: [{ role: "user" as const, content: "Two plus two" }], max_tokens: 8, temperature: 0.8, seed: 9, logprobs: true, top_logprobs: 3 };
  const whole = await client.chat.completions.create(body);
  const content = whole.choices[0].logprobs!.content!;
  assert.ok(content.length > 1);
  const ids: number[] = [];
  for (const e of content) {
    const want = direct([...prompt, ...ids], 0.8);
    const top = topIds(want, 3);
    assert.deepEqual(e.top_logprobs.map(a => a.token), top.map(id => tok.decode([id])));
    e.top_logprobs.forEach((a, j) => {
      assert.ok(Math.abs(a.logprob - want[top[j]]) < 1e-4);
      assert.deepEqual(a.bytes, [...Buffer.from(a.token, "utf8")]);
    });
    // the sampled token: its name and log-prob identify it among the vocabulary
    const id = want.findIndex((x, v) => tok.decode([v]) === e.token && Math.abs(x - e.logprob) < 1e-4);
    assert.ok(id >= 0, `no id named ${JSON.stringify(e.token)} with log-prob ${e.logprob}`);
    ids.push(id);
  }
  const streamed = [];
  for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
  assert.deepEqual(streamed, content);
  // without top_logprobs each entry's list is empty; top_logprobs alone is refused with a named 400
  const plain = await client.chat.completions.create({ ...body, top_logprobs: undefined });
  assert.ok(plain.choices[0].logprobs!.content!.every(e => e.top_logprobs.length === 0));
  await assert.rejects(client.chat.completions.create({ ...body, logprobs: false }), (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /top_logprobs.*logprobs: true/.test(e.message));
  await assert.rejects(client.completions.create({ model: "tiny", prompt: "x", max_tokens: 2, logprobs: 21 }), (e: InstanceType<typeof OpenAI.BadRequestError>) => e.status === 400 && /at most 20/.test(e.message));
});

test("streamed completions carry each token's alternatives, equal to the non-streamed ones", async () => {
  const body = { model: "tiny", prompt: "The dog", max_tokens: 8, temperature: 1, seed: 2, logprobs: 2 };
  const whole = (await client.completions.create(body)).choices[0].logprobs!;
  const tops: Record<string, number>[] = [];
  for await (const chunk of await client.completions.create({ ...body, stream: true })) tops.push(...(chunk.choices[0]?.logprobs?.top_logprobs ?? []));
  assert.equal(tops.length, whole.tokens!.length);
  assert.deepEqual(tops, whole.top_logprobs);
  assert.ok(tops.every(d => Object.keys(d).length >= 2));
});
