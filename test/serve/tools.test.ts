// OpenAI function calling through `move37 serve`, driven by the official openai client: tools rendered by the
// model's own chat template (Qwen3's and Llama 3.2's real templates), completions read into tool_calls (whole and
// streamed), and the tool loop's follow-up turns rendered back. The generator is the real sampler (generate) over a
// stand-in model that spells a scripted reply for each prompt, so what is tested is the serving, not a model.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { getBackend } from "../../src/engine/index.js";
import { createModel } from "../../src/model/transformer.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { renderChat, type ChatMessage } from "../../src/tokenizer/chat-template.js";
import { generate } from "../../src/sample/generate.js";
import { createApp, readServed } from "../../src/serve/app.js";
import { Batcher } from "../../src/serve/batcher.js";
import type { Generator } from "../../src/serve/generator.js";
import { closeServer, listen } from "../../src/http/listen.js";
import { planTools, ToolStream } from "../../src/serve/tools.js";
import { FakeLM } from "../sample/fake-lm.js";
import { tinyQwen2, TOKENIZER, TOKENIZER_CONFIG, CHAT_TEMPLATE } from "../sample/tiny-model.js";
import { tempRoot } from "../train/trainer-harness.js";

const root = tempRoot("serve-tools");
const template = (name: string) => readFileSync(new URL(`../fixtures/templates/${name}.jinja`, import.meta.url), "utf8");

/** A model folder (config, tokenizer with the given chat template); its weights are never used. */
function folder(name: string, chatTemplate: string): string {
  const dir = join(root, name);
  savePretrained(createModel({ ...tinyQwen2, max_position_embeddings: 2048 }, getBackend("reference"), 1), dir);
  writeTokenizerFiles(dir, TOKENIZER.json, { ...TOKENIZER_CONFIG, chat_template: chatTemplate });
  return dir;
}

interface Stub { url: string; client: OpenAI; prompts: string[]; close(): Promise<void> }

/**
 * `move37 serve`'s app over a generator that runs the real `generate` on a FakeLM forced to spell reply(prompt text)
 * then EOS. `prompts` records every prompt the generator decoded, as text.
 */
async function serveScripted(dir: string, reply: (prompt: string) => string): Promise<Stub> {
  const served = readServed(dir, "tiny"), tok = served.tokenizer;
  const prompts: string[] = [];
  const generator = {
    async generate(ps: number[][], options: Parameters<Generator["generate"]>[1], onToken?: Parameters<Generator["generate"]>[2]) {
      const scripts = ps.map(p => {
        const text = tok.decode(p);
        prompts.push(text);
        return [...tok.encode(reply(text), { addSpecialTokens: false }), tok.eosId!];
      });
      const force = (h: number[]) => {
        const i = ps.findIndex(p => p.length <= h.length && p.every((x, j) => h[j] === x));
        return scripts[i][h.length - ps[i].length] ?? null;
      };
      return generate(new FakeLM({ vocab: tinyQwen2.vocab_size, eos: tok.eosId, force }), tok, ps, options, onToken);
    },
    async load() {},
    async close() {},
  } as unknown as Generator;
  const app = createApp({ served, generator, batcher: new Batcher(generator, { waitMs: 1, maxBatchRows: 64 }), backend: "reference" });
  const l = await listen(app.fetch, 0, "127.0.0.1");
  return { url: l.url, client: new OpenAI({ baseURL: `${l.url}/v1`, apiKey: "none", maxRetries: 0 }), prompts, close: () => closeServer(l.server) };
}

const WEATHER = {
  type: "function" as const,
  function: {
    name: "get_weather", description: "The weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const CLOCK = { type: "function" as const, function: { name: "get_time", description: "The time now.", parameters: { type: "object", properties: {} } } };
const hermesCall = (city: string) => `<tool_call>\n{"name": "get_weather", "arguments": {"city": "${city}"}}\n</tool_call>`;

/** Qwen's model: calls the tool for a question, answers once a tool response is in the prompt. */
function qwenReply(prompt: string): string {
  if (prompt.includes("<tool_response>")) return "It is 21 degrees in Paris.";
  if (prompt.endsWith('"arguments": ')) return '{"city": "Lyon"}}\n</tool_call>';       // tool_choice named
  if (prompt.endsWith('{"name": "')) return 'get_weather", "arguments": {"city": "Nice"}}\n</tool_call>'; // required
  if (prompt.includes("broken")) return '<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>';
  if (prompt.includes("two cities")) return `${hermesCall("Paris")}\n${hermesCall("Rome")}`;
  if (prompt.includes("chat")) return "Hello there.";
  return `Let me check.\n${hermesCall("Paris")}`;
}

let qwen: Stub, qwen25: Stub, llama: Stub, plain: Stub;
const qwenDir = folder("qwen3", template("qwen3")), qwen25Dir = folder("qwen2.5", template("qwen2.5"));
before(async () => {
  qwen = await serveScripted(qwenDir, qwenReply);
  qwen25 = await serveScripted(qwen25Dir, qwenReply);
  llama = await serveScripted(folder("llama", template("llama3.2")), p =>
    p.includes("ipython") && p.trimEnd().endsWith("<|start_header_id|>assistant<|end_header_id|>") && p.includes("temp")
      ? "Paris: 21 degrees." : '{"name": "get_weather", "parameters": {"city": "Paris"}}');
  plain = await serveScripted(folder("plain", CHAT_TEMPLATE), () => "hi");
});
after(async () => { await qwen.close(); await qwen25.close(); await llama.close(); await plain.close(); });

const ask = { role: "user" as const, content: "What is the weather in Paris?" };

test("the openai client's tool loop (runTools) against Qwen3's and Qwen2.5's templates: call, tool result, answer", async () => {
  for (const [srv, dir, stream] of [[qwen, qwenDir, false], [qwen, qwenDir, true], [qwen25, qwen25Dir, false], [qwen25, qwen25Dir, true]] as const) {
    srv.prompts.length = 0;
    const cities: string[] = [];
    const runner = srv.client.chat.completions.runTools({
      model: "tiny", messages: [ask], temperature: 0, stream,
      tools: [{ type: "function", function: { ...WEATHER.function, parse: JSON.parse, function: (a: { city: string }) => { cities.push(a.city); return { temp: 21 }; } } }],
    } as Parameters<typeof srv.client.chat.completions.runTools>[0]);
    assert.equal(await runner.finalContent(), "It is 21 degrees in Paris.", `stream: ${stream}`);
    assert.deepEqual(cities, ["Paris"]);
    assert.equal(srv.prompts.length, 2);
    // Both prompts are exactly the template's own rendering: the tools listed, then the call and its result as turns.
    const tok = readServed(dir, "tiny").tokenizer;
    assert.equal(srv.prompts[0], renderChat(tok, [ask], { extra: { tools: [WEATHER] } }));
    assert.ok(srv.prompts[0].includes(`<tools>\n{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}\n</tools>`));
    const followUp = [ask,
      { role: "assistant", content: "Let me check.", tool_calls: [{ id: "x", type: "function", function: { name: "get_weather", arguments: { city: "Paris" } } }] },
      { role: "tool", content: '{"temp":21}', tool_call_id: "x" }] as unknown as ChatMessage[];
    assert.equal(srv.prompts[1], renderChat(tok, followUp, { extra: { tools: [WEATHER] } }));
    assert.ok(srv.prompts[1].includes(`Let me check.\n${hermesCall("Paris")}<|im_end|>\n<|im_start|>user\n<tool_response>\n{"temp":21}\n</tool_response><|im_end|>\n<|im_start|>assistant\n`));
  }
});

test("a reply with a call: message.tool_calls and finish_reason tool_calls; streamed as delta.tool_calls", async () => {
  const body = { model: "tiny", messages: [ask], tools: [WEATHER, CLOCK], temperature: 0 };
  const whole = await qwen.client.chat.completions.create(body);
  const c = whole.choices[0];
  assert.equal(c.finish_reason, "tool_calls");
  assert.equal(c.message.content, "Let me check.");
  assert.equal(c.message.tool_calls!.length, 1);
  const call = c.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
  assert.match(call.id, /^call_[0-9a-f]{24}$/);
  assert.equal(call.type, "function");
  assert.deepEqual(call.function, { name: "get_weather", arguments: '{"city":"Paris"}' });

  const chunks = [];
  for await (const chunk of await qwen.client.chat.completions.create({ ...body, stream: true })) chunks.push(chunk);
  const deltas = chunks.map(x => x.choices[0].delta);
  assert.equal(deltas[0].role, "assistant");
  assert.equal(deltas.map(d => d.content ?? "").join(""), "Let me check.");
  assert.ok(deltas.some(d => d.content) && deltas.findIndex(d => d.content) < deltas.findIndex(d => d.tool_calls), "content streams before the call");
  const calls = deltas.flatMap(d => d.tool_calls ?? []);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].index, 0);
  assert.match(calls[0].id!, /^call_/);
  assert.deepEqual(calls[0].function, call.function);
  assert.equal(chunks.at(-1)!.choices[0].finish_reason, "tool_calls");
  assert.ok(chunks.slice(0, -1).every(x => x.choices[0].finish_reason === null));
  // With logprobs every token still gets its chunk, the held ones (the call's) with an empty delta.
  const lp = (await qwen.client.chat.completions.create({ ...body, logprobs: true, top_logprobs: 2 })).choices[0].logprobs!.content!;
  const streamedLp = [];
  for await (const chunk of await qwen.client.chat.completions.create({ ...body, logprobs: true, top_logprobs: 2, stream: true })) streamedLp.push(...(chunk.choices[0].logprobs?.content ?? []));
  assert.deepEqual(streamedLp, lp);
  // The client's own stream accumulator rebuilds the same message.
  const final = await qwen.client.chat.completions.stream(body).finalChatCompletion();
  assert.equal(final.choices[0].message.tool_calls![0].function.arguments, '{"city":"Paris"}');
  assert.equal(final.choices[0].finish_reason, "tool_calls");
});

test("several calls in one reply, parallel_tool_calls: false keeps the first; no tools means no parsing", async () => {
  const two = { role: "user" as const, content: "Weather in two cities?" };
  const r = await qwen.client.chat.completions.create({ model: "tiny", messages: [two], tools: [WEATHER], temperature: 0 });
  assert.deepEqual(r.choices[0].message.tool_calls!.map(t => (t as OpenAI.ChatCompletionMessageFunctionToolCall).function.arguments), ['{"city":"Paris"}', '{"city":"Rome"}']);
  assert.equal(r.choices[0].message.content, null);
  const streamed = [];
  for await (const ch of await qwen.client.chat.completions.create({ model: "tiny", messages: [two], tools: [WEATHER], temperature: 0, stream: true })) streamed.push(...(ch.choices[0].delta.tool_calls ?? []));
  assert.deepEqual(streamed.map(t => [t.index, t.function!.arguments]), [[0, '{"city":"Paris"}'], [1, '{"city":"Rome"}']]);
  // n = 2 streamed: each choice holds and reads its own reply
  const byChoice = new Map<number, string[]>();
  for await (const ch of await qwen.client.chat.completions.create({ model: "tiny", messages: [two], tools: [WEATHER], temperature: 1, n: 2, stream: true })) {
    for (const t of ch.choices[0].delta.tool_calls ?? []) byChoice.set(ch.choices[0].index, [...(byChoice.get(ch.choices[0].index) ?? []), t.function!.arguments!]);
  }
  assert.deepEqual([...byChoice.entries()].sort(), [[0, ['{"city":"Paris"}', '{"city":"Rome"}']], [1, ['{"city":"Paris"}', '{"city":"Rome"}']]]);
  const one = await qwen.client.chat.completions.create({ model: "tiny", messages: [two], tools: [WEATHER], temperature: 0, parallel_tool_calls: false });
  assert.equal(one.choices[0].message.tool_calls!.length, 1);
  // Without tools the same text is the content.
  const none = await qwen.client.chat.completions.create({ model: "tiny", messages: [two], temperature: 0 });
  assert.equal(none.choices[0].message.content, `${hermesCall("Paris")}\n${hermesCall("Rome")}`);
  assert.equal(none.choices[0].finish_reason, "stop");
  assert.equal(none.choices[0].message.tool_calls, undefined);
});

test("tool_choice: required and a named function open the call; none reads no call; a malformed call stays text", async () => {
  const base = { model: "tiny", messages: [ask], tools: [WEATHER, CLOCK], temperature: 0 };
  qwen.prompts.length = 0;
  const req = await qwen.client.chat.completions.create({ ...base, tool_choice: "required" });
  assert.ok(qwen.prompts[0].endsWith('<|im_start|>assistant\n<tool_call>\n{"name": "'));
  assert.deepEqual((req.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function, { name: "get_weather", arguments: '{"city":"Nice"}' });
  const named = await qwen.client.chat.completions.create({ ...base, tool_choice: { type: "function", function: { name: "get_weather" } } });
  assert.ok(qwen.prompts[1].endsWith('<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": '));
  assert.deepEqual((named.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function, { name: "get_weather", arguments: '{"city":"Lyon"}' });
  let streamedArgs = "";
  for await (const ch of await qwen.client.chat.completions.create({ ...base, tool_choice: "required", stream: true })) {
    assert.equal(ch.choices[0].delta.content ?? "", "", "nothing of a forced call is content");
    streamedArgs += ch.choices[0].delta.tool_calls?.[0]?.function?.arguments ?? "";
  }
  assert.equal(streamedArgs, '{"city":"Nice"}');
  const none = await qwen.client.chat.completions.create({ ...base, tool_choice: "none" });
  assert.ok(qwen.prompts.at(-1)!.includes("<tools>"), "tools are still shown");
  assert.equal(none.choices[0].message.content, `Let me check.\n${hermesCall("Paris")}`);
  assert.equal(none.choices[0].finish_reason, "stop");
  // Bad JSON inside <tool_call>: no tool_calls, the reply as the model wrote it (vLLM's parsers do the same).
  const broken = { ...base, messages: [{ role: "user" as const, content: "a broken call" }] };
  const bad = await qwen.client.chat.completions.create(broken);
  assert.equal(bad.choices[0].message.content, '<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>');
  assert.equal(bad.choices[0].finish_reason, "stop");
  let text = "";
  for await (const ch of await qwen.client.chat.completions.create({ ...broken, stream: true })) {
    assert.equal(ch.choices[0].delta.tool_calls, undefined);
    text += ch.choices[0].delta.content ?? "";
  }
  assert.equal(text, bad.choices[0].message.content);
  // A plain reply with tools offered streams as it comes.
  const chat = await qwen.client.chat.completions.create({ ...base, messages: [{ role: "user", content: "just chat" }] });
  assert.equal(chat.choices[0].message.content, "Hello there.");
  assert.equal(chat.choices[0].finish_reason, "stop");
});

test("Llama 3.2's template: JSON calls read into tool_calls, the tool turn rendered as ipython", async () => {
  llama.prompts.length = 0;
  const r = await llama.client.chat.completions.create({ model: "tiny", messages: [ask], tools: [WEATHER], temperature: 0 });
  assert.equal(r.choices[0].finish_reason, "tool_calls");
  assert.equal(r.choices[0].message.content, null);
  assert.deepEqual((r.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function, { name: "get_weather", arguments: '{"city":"Paris"}' });
  assert.ok(llama.prompts[0].includes('"name": "get_weather"') && llama.prompts[0].includes("Environment: ipython"));
  let args = "", content = "";
  for await (const ch of await llama.client.chat.completions.create({ model: "tiny", messages: [ask], tools: [WEATHER], temperature: 0, stream: true })) {
    args += ch.choices[0].delta.tool_calls?.[0]?.function?.arguments ?? "";
    content += ch.choices[0].delta.content ?? "";
  }
  assert.equal(args, '{"city":"Paris"}');
  assert.equal(content, "");
  const follow = await llama.client.chat.completions.create({
    model: "tiny", tools: [WEATHER], temperature: 0,
    messages: [ask, r.choices[0].message, { role: "tool", tool_call_id: r.choices[0].message.tool_calls![0].id, content: '{"temp": 21}' }],
  });
  assert.equal(follow.choices[0].message.content, "Paris: 21 degrees.");
  assert.ok(llama.prompts.at(-1)!.includes('{"name": "get_weather", "parameters": {"city": "Paris"}}<|eot_id|><|start_header_id|>ipython<|end_header_id|>'));
});

test("malformed tool requests are 400s that name the field", async () => {
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    return { status: res.status, error: ((await res.json()) as { error: { message: string; param: string } }).error };
  };
  const call = { id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } };
  const cases: [Stub, unknown, RegExp, string][] = [
    [qwen, { messages: [ask, { role: "tool", tool_call_id: "c1", content: "21" }] }, /no assistant turn with tool_calls/, "messages.1.tool_call_id"],
    [qwen, { messages: [ask, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: "c9", content: "21" }] }, /"c9".*called "c1"/, "messages.2.tool_call_id"],
    [qwen, { messages: [ask, { role: "assistant", content: null, tool_calls: [{ ...call, function: { name: "get_weather", arguments: "{city" } }] }] }, /arguments is not valid JSON/, "messages.1.tool_calls.0.function.arguments"],
    [qwen, { messages: [ask, { role: "assistant", content: null }] }, /neither content nor tool_calls/, "messages.1.content"],
    [qwen, { messages: [ask], tools: [WEATHER], tool_choice: { type: "function", function: { name: "get_time" } } }, /"get_time", which is not among tools \(get_weather\)/, "tool_choice.function.name"],
    [qwen, { messages: [ask], tool_choice: "required" }, /needs tools/, "tool_choice"],
    [qwen, { messages: [ask], tools: [WEATHER], tool_choice: "sometimes" }, /tool_choice is "none", "auto", "required"/, "tool_choice"],
    [qwen, { messages: [ask], tools: [WEATHER, WEATHER] }, /repeats the name "get_weather"/, "tools.1.function.name"],
    [qwen, { messages: [ask], tools: [{ type: "function", function: { name: "get weather" } }] }, /tool name/, "tools.0.function.name"],
    [qwen, { messages: [ask], tools: [{ type: "function", function: { name: "f", parameters: {}, extra: 1 } }] }, /extra/, "tools.0.function"],
    [plain, { messages: [ask], tools: [WEATHER] }, /does not render tools/, "tools"],
  ];
  for (const [server, body, message, param] of cases) {
    const r = await post(server.url, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.match(r.error.message, message);
    assert.equal(r.error.param, param, r.error.message);
  }
});

test("ToolStream: text before a call streams at once, a split <tool_call> and the whitespace before it are held", () => {
  const tok = readServed(qwenDir, "tiny").tokenizer;
  const plan = planTools({ messages: [ask], tools: [WEATHER] } as Parameters<typeof planTools>[0], tok)!;
  const reply = `Sure <b>, one moment.\n\n${hermesCall("Paris")}`;
  const ts = new ToolStream(plan);
  const out = [...reply].map(ch => ts.push(ch));
  assert.equal(out.join(""), "Sure <b>, one moment.");
  assert.equal(out.slice(0, 7).join(""), "Sure <b", "a '<' that is not a call's opening goes out once it cannot be one");
  const end = ts.finish();
  assert.equal(end.content, "");
  assert.deepEqual(end.toolCalls.map(c => c.function), [{ name: "get_weather", arguments: '{"city":"Paris"}' }]);
  // No call after all: the held text goes out at the end, so the streamed text is the reply.
  const plainStream = new ToolStream(plan);
  const text = "Maybe <tool_ca later.  ";
  const sent = [...text].map(ch => plainStream.push(ch)).join("") + plainStream.finish().content;
  assert.equal(sent, text);
});
