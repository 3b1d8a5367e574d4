// move37 serve's continuous batching: a request that arrives while another decodes joins the running batch, finishes
// first when it is shorter, and gets what it gets alone. Ordering, not timing: the short requests are sent once the long
// one has gone to the generator thread, and the long one has thousands of steps to run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { loadTokenizer, writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { generate } from "../../src/sample/generate.js";
import { startServe, type ServeHandle } from "../../src/serve/server.js";
import { tinyModel, tinyQwen2, TOKENIZER, TOKENIZER_CONFIG } from "../sample/tiny-model.js";
import { tempRoot } from "../train/trainer-harness.js";

const root = tempRoot("serve-joins");
const dir = join(root, "long");
{
  // the tiny test model with room for long completions
  const model = createModel({ ...tinyQwen2, max_position_embeddings: 4096 }, getBackend("auto"), 1);
  const weights = tinyModel(getBackend("auto"), 1);
  model.params.forEach((p, i) => p.data.set(weights.params[i].data));
  savePretrained(model, dir);
  writeTokenizerFiles(dir, TOKENIZER.json, TOKENIZER_CONFIG);
}
const local = { model: loadPretrained(dir, getBackend("auto")).model, tok: loadTokenizer(dir) };
let server: ServeHandle;
before(async () => { server = await startServe({ modelDir: dir, port: 0, modelName: "tiny", batchWaitMs: 5 }); });
after(() => server.close());

const postJson = async (body: unknown) => {
  const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() as any };
};

test("a short request sent while a long one decodes joins it, finishes first, and equals its answer alone (greedy and seeded)", async () => {
  const LONG = 3000, longPrompt = local.tok.encode("The cat sat on the mat.");
  // eight rows of up to 3000 tokens; this model's greedy answer to this prompt does not stop at EOS
  const want = generate(local.model, local.tok, [longPrompt], { maxNewTokens: LONG, temperature: 0 })[0];
  assert.equal(want.ids.length, LONG, "precondition: the long greedy completion runs to max_tokens");
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await fetch(`${server.url}/metrics`)).text())![1]);
  const sent = await metric("move37_batched_requests_total");
  const finished: string[] = [];
  const long = postJson({ prompt: longPrompt, max_tokens: LONG, temperature: 0, n: 8, return_token_ids: true }).then(r => { finished.push("long"); return r; });
  // the long request has gone to the generator (which takes messages in order) once the batcher counts it
  while (await metric("move37_batched_requests_total") === sent) await new Promise(r => setTimeout(r, 2));
  const greedyShort = { prompt: "Two plus two is", max_tokens: 6, temperature: 0, return_token_ids: true };
  const seededShort = { prompt: [local.tok.encode("<think>"), local.tok.encode("The dog")], max_tokens: 5, temperature: 1, top_k: 40, seed: 17, n: 2, logprobs: 0, return_token_ids: true };
  const [g, s] = await Promise.all([postJson(greedyShort), postJson(seededShort)]);
  finished.push("short");
  const longAnswer = await long;
  assert.deepEqual(finished, ["short", "long"], "the short requests finish while the long one still decodes");
  // alone, in process
  const gAlone = generate(local.model, local.tok, [local.tok.encode(greedyShort.prompt)], { maxNewTokens: 6, temperature: 0 })[0];
  assert.equal(g.status, 200);
  assert.deepEqual(g.json.choices[0].token_ids, gAlone.ids);
  assert.equal(g.json.choices[0].text, gAlone.text);
  const sAlone = generate(local.model, local.tok, seededShort.prompt, { maxNewTokens: 5, temperature: 1, topK: 40, seed: 17, numReturnSequences: 2 });
  assert.equal(s.json.choices.length, 4);
  s.json.choices.forEach((c: any, i: number) => {
    assert.deepEqual(c.token_ids, sAlone[i].ids, `seeded choice ${i}`);
    c.logprobs.token_logprobs.forEach((lp: number, t: number) => assert.ok(Math.abs(lp - sAlone[i].logprobs[t]) < 1e-5, `choice ${i} token ${t}`));
  });
  // the long request's rows are still its greedy answer (its start: over thousands of steps, rows batched differently
  // may part by float rounding)
  assert.equal(longAnswer.json.choices.length, 8);
  for (const c of longAnswer.json.choices) {
    assert.ok(c.token_ids.length > 100, `long choice ${c.index}: ${c.token_ids.length} tokens`);
    assert.deepEqual(c.token_ids.slice(0, 32), want.ids.slice(0, 32), `long choice ${c.index}`);
  }
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(metrics, /^move37_joined_requests_total [1-9]/m);
});
