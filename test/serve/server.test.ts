import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { getBackend } from "../../src/engine/index.js";
import { loadPretrained, savePretrained } from "../../src/model/io/pretrained.js";
import { loadTokenizer, writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { encodePrompt, generate } from "../../src/sample/generate.js";
import { startServe, type ServeHandle } from "../../src/serve/server.js";
import { tinyModel, TOKENIZER, TOKENIZER_CONFIG } from "../sample/tiny-model.js";
import { tempRoot } from "../train/trainer-harness.js";

const root = tempRoot("serve");
const folder = (name: string, seed: number) => {
  const dir = join(root, name);
  savePretrained(tinyModel(getBackend("auto"), seed), dir);
  writeTokenizerFiles(dir, TOKENIZER.json, TOKENIZER_CONFIG);
  return dir;
};
const dirA = folder("a", 1), dirB = folder("b", 2);
const local = (dir: string) => ({ model: loadPretrained(dir, getBackend("auto")).model, tok: loadTokenizer(dir) });
const A = local(dirA);
let server: ServeHandle;
// A wide batching window so concurrent requests of the test surely meet.
before(async () => { server = await startServe({ modelDir: dirA, port: 0, modelName: "tiny", batchWaitMs: 100 }); });
after(() => server.close());

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.text() };
};
const postJson = async (path: string, body: unknown) => { const r = await post(path, body); return { status: r.status, json: JSON.parse(r.body) } as { status: number; json: any }; };
const sse = (text: string) => text.split("\n").filter(l => l.startsWith("data: ")).map(l => l.slice(6));

test("GET /v1/models lists the served model in OpenAI's shape", async () => {
  const j = await (await fetch(`${server.url}/v1/models`)).json() as any;
  assert.equal(j.object, "list");
  assert.deepEqual(Object.keys(j.data[0]).slice(0, 4), ["id", "object", "created", "owned_by"]);
  assert.equal(j.data[0].id, "tiny");
  assert.equal(j.data[0].object, "model");
  assert.ok(Number.isInteger(j.data[0].created));
});

test("greedy /v1/completions equals in-process generate: text, token ids and per-token log-probs", async () => {
  const prompt = A.tok.encode("The cat sat");
  const want = generate(A.model, A.tok, [prompt], { maxNewTokens: 12, temperature: 0 })[0];
  const { status, json } = await postJson("/v1/completions", { model: "tiny", prompt: "The cat sat", max_tokens: 12, temperature: 0, logprobs: 0, return_token_ids: true });
  assert.equal(status, 200);
  assert.equal(json.object, "text_completion");
  assert.match(json.id, /^cmpl-/);
  assert.equal(json.model, "tiny");
  const c = json.choices[0];
  assert.equal(c.index, 0);
  assert.equal(c.text, want.text);
  assert.deepEqual(c.token_ids, want.ids);
  assert.deepEqual(c.prompt_token_ids, prompt);
  assert.equal(c.finish_reason, want.finishReason === "length" ? "length" : "stop");
  assert.equal(c.logprobs.tokens.length, want.ids.length);
  assert.equal(c.logprobs.text_offset.length, want.ids.length);
  for (let i = 0; i < want.ids.length; i++) assert.ok(Math.abs(c.logprobs.token_logprobs[i] - want.logprobs[i]) < 1e-6);
  assert.deepEqual(json.usage, { prompt_tokens: prompt.length, completion_tokens: want.ids.length, total_tokens: prompt.length + want.ids.length });
});

test("seeded n > 1 over a list of token-id prompts samples exactly what in-process generate samples with that seed", async () => {
  const prompts = [A.tok.encode("Two plus"), A.tok.encode("The dog")];
  const want = generate(A.model, A.tok, prompts, { maxNewTokens: 10, temperature: 1, topP: 0.9, seed: 11, numReturnSequences: 3 });
  const { json } = await postJson("/v1/completions", { prompt: prompts, n: 3, max_tokens: 10, temperature: 1, top_p: 0.9, seed: 11, logprobs: 0, return_tokens_as_token_ids: true });
  assert.equal(json.choices.length, 6);
  json.choices.forEach((c: any, i: number) => {
    assert.equal(c.index, i);
    assert.deepEqual(c.logprobs.tokens, want[i].ids.map(id => `token_id:${id}`));
    assert.equal(c.text, want[i].text);
  });
});

test("chat completions: the chat template, OpenAI's message and logprobs shapes, and stop strings", async () => {
  const ids = encodePrompt(A.tok, "Two plus two", { template: "model" });
  const want = generate(A.model, A.tok, [ids], { maxNewTokens: 8, temperature: 0 })[0];
  const { json } = await postJson("/v1/chat/completions", { messages: [{ role: "user", content: "Two plus two" }], max_tokens: 8, temperature: 0, logprobs: true });
  assert.equal(json.object, "chat.completion");
  assert.match(json.id, /^chatcmpl-/);
  const c = json.choices[0];
  assert.deepEqual(c.message, { role: "assistant", content: want.text });
  assert.equal(c.logprobs.content.length, want.ids.length);
  assert.deepEqual(Object.keys(c.logprobs.content[0]), ["token", "logprob", "bytes", "top_logprobs"]);
  assert.equal(json.usage.prompt_tokens, ids.length);
  // A stop string taken from the greedy text: the answer is cut before it and says which one stopped it.
  const stop = want.text.slice(3, 5);
  const cut = await postJson("/v1/completions", { prompt: ids, max_tokens: 8, temperature: 0, stop: [stop] });
  assert.equal(cut.json.choices[0].text, want.text.slice(0, want.text.indexOf(stop)));
  assert.equal(cut.json.choices[0].finish_reason, "stop");
  assert.equal(cut.json.choices[0].stop_reason, stop);
});

test("streaming: SSE data chunks whose text adds up to the whole answer, a usage chunk, then [DONE]", async () => {
  const whole = (await postJson("/v1/completions", { prompt: "The cat", max_tokens: 10, temperature: 0, n: 2 })).json;
  const res = await post("/v1/completions", { prompt: "The cat", max_tokens: 10, temperature: 0, n: 2, stream: true, stream_options: { include_usage: true } });
  const data = sse(res.body);
  assert.equal(data.at(-1), "[DONE]");
  const chunks = data.slice(0, -1).map(d => JSON.parse(d));
  const usage = chunks.pop();
  assert.deepEqual(usage.choices, []);
  assert.equal(usage.usage.completion_tokens, whole.usage.completion_tokens);
  assert.ok(chunks.length > 2);
  for (const i of [0, 1]) {
    const mine = chunks.filter(c => c.choices[0].index === i);
    assert.ok(mine.every(c => c.object === "text_completion" && c.id === chunks[0].id));
    assert.equal(mine.map(c => c.choices[0].text).join(""), whole.choices[i].text);
    assert.equal(mine.at(-1).choices[0].finish_reason, whole.choices[i].finish_reason);
  }
  const chat = sse((await post("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 6, temperature: 0, stream: true })).body);
  const first = JSON.parse(chat[0]);
  assert.equal(first.object, "chat.completion.chunk");
  assert.equal(first.choices[0].delta.role, "assistant");
  assert.equal(chat.at(-1), "[DONE]");
});

test("streamed log-probs, chunk by chunk, add up to the non-streamed ones of the same seeded request", async () => {
  const body = { prompt: "The cat", max_tokens: 10, temperature: 1, seed: 5, n: 2, logprobs: 0 };
  const whole = (await postJson("/v1/completions", body)).json;
  const chunks = sse((await post("/v1/completions", { ...body, stream: true })).body).slice(0, -1).map(d => JSON.parse(d));
  for (const i of [0, 1]) {
    const mine = chunks.filter(c => c.choices[0].index === i).map(c => c.choices[0].logprobs);
    const want = whole.choices[i].logprobs;
    assert.ok(mine.every(l => l.tokens.length === 1), "one token per chunk");
    assert.deepEqual(mine.flatMap(l => l.tokens), want.tokens);
    assert.deepEqual(mine.flatMap(l => l.token_logprobs), want.token_logprobs);
    assert.deepEqual(mine.flatMap(l => l.text_offset), want.text_offset);
  }
  const chat = { messages: [{ role: "user", content: "Two plus two" }], max_tokens: 8, temperature: 1, seed: 3, logprobs: true };
  const wholeChat = (await postJson("/v1/chat/completions", chat)).json.choices[0].logprobs.content;
  const streamedChat = sse((await post("/v1/chat/completions", { ...chat, stream: true })).body).slice(0, -1)
    .flatMap(d => JSON.parse(d).choices[0].logprobs.content);
  assert.ok(wholeChat.length > 1);
  assert.deepEqual(streamedChat, wholeChat);
});

test("bad requests get 400/404 with OpenAI's error object naming what is wrong", async () => {
  const cases: [unknown, number, RegExp][] = [
    ["{not json", 400, /not valid JSON/],
    [{ prompt: "x", max_tokens: 4, temprature: 0 }, 400, /temprature/],
    [{ prompt: "x", max_tokens: 4, temperature: 7 }, 400, /temperature/],
    [{ prompt: "x", max_tokens: 500 }, 400, /context of 128 tokens/],
    [{ prompt: [[1, 2, 99999]], max_tokens: 4 }, 400, /99999.*vocabulary/],
    [{ prompt: "x", max_tokens: 4, logprobs: 21 }, 400, /logprobs is at most 20/],
    [{ prompt: "x", max_tokens: 4, model: "gpt-4" }, 404, /gpt-4.*tiny/],
    [{ max_tokens: 4 }, 400, /prompt/],
  ];
  for (const [body, status, message] of cases) {
    const r = await postJson("/v1/completions", body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.match(r.json.error.message, message);
    assert.ok(["invalid_request_error", "not_found_error"].includes(r.json.error.type));
  }
  const chat = await postJson("/v1/chat/completions", { messages: [{ role: "robot", content: "x" }] });
  assert.equal(chat.status, 400);
  assert.match(chat.json.error.message, /role/);
  assert.equal((await postJson("/v1/nothing", {})).status, 404);
});

test("concurrent requests are decoded as one batch, and each gets its own greedy answer", async () => {
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(await (await fetch(`${server.url}/metrics`)).text())![1]);
  const batchesBefore = await metric("move37_batches_total");
  const texts = ["The cat", "The dog", "Two", "sat on", "the mat", "plus"];
  const answers = await Promise.all(texts.map(t => postJson("/v1/completions", { prompt: t, max_tokens: 6, temperature: 0 })));
  assert.equal(await metric("move37_batches_total") - batchesBefore, 1, "six concurrent requests should make one batch");
  assert.ok(await metric("move37_batch_requests_max") >= 6);
  const want = generate(A.model, A.tok, texts.map(t => A.tok.encode(t)), { maxNewTokens: 6, temperature: 0 });
  answers.forEach((a, i) => assert.equal(a.json.choices[0].text, want[i].text));
});

test("POST /v1/reload swaps the weights (and SGLang's /update_weights_from_disk names the same)", async () => {
  const B = local(dirB);
  const ask = async () => (await postJson("/v1/completions", { prompt: "The cat", max_tokens: 8, temperature: 0, return_token_ids: true })).json.choices[0].token_ids;
  const wantA = generate(A.model, A.tok, [A.tok.encode("The cat")], { maxNewTokens: 8, temperature: 0 })[0].ids;
  const wantB = generate(B.model, B.tok, [B.tok.encode("The cat")], { maxNewTokens: 8, temperature: 0 })[0].ids;
  assert.notDeepEqual(wantA, wantB);
  assert.deepEqual(await ask(), wantA);
  const r = await postJson("/v1/reload", { model_dir: dirB });
  assert.equal(r.json.success, true);
  assert.deepEqual(await ask(), wantB);
  assert.equal((await postJson("/update_weights_from_disk", { model_path: dirA })).status, 200);
  assert.deepEqual(await ask(), wantA);
  const bad = await postJson("/v1/reload", { model_dir: join(root, "missing") });
  assert.equal(bad.status, 400);
  assert.match(bad.json.error.message, /config\.json/);
});
