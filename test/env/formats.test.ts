import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { renderChat } from "../../src/tokenizer/chat-template.js";
import { toolSchemas, callTool } from "../../src/env/tools.js";
import { calculatorTool } from "../../src/env/calculator.js";
import { pythonTool } from "../../src/env/python.js";
import {
  parseToolCalls, renderToolCalls, renderToolPrompt, renderToolResults, assistantMessage, detectToolFormat, callStopStrings, type ToolFormat, type ToolMessage,
} from "../../src/env/formats.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";
import { familyTokenizer, onToday, TEMPLATES } from "./family.js";

const TOOLS = [calculatorTool, pythonTool()];
const fixtureTools = JSON.parse(readFileSync(new URL("tools.json", TEMPLATES), "utf8"));
const cases = (JSON.parse(readFileSync(new URL("tools_expected.json", TEMPLATES), "utf8")) as {
  cases: { family: "qwen3" | "llama3.2"; label: string; messages: ToolMessage[]; add_generation_prompt: boolean; extra: Record<string, unknown>; text: string }[];
}).cases;
const FORMAT: Record<string, ToolFormat> = { qwen3: "hermes", "llama3.2": "llama3" };

test("tool schemas come from the zod schemas in the shape chat templates and OpenAI's `tools` take", () => {
  assert.deepEqual(toolSchemas(TOOLS), fixtureTools);
});

test("the tools rendered through Qwen3's and Llama 3.2's real templates equal jinja2's rendering (transformers' apply_chat_template)", () => {
  assert.equal(cases.length, 9);
  for (const c of cases) {
    const tok = familyTokenizer(c.family);
    const text = renderChat(tok, c.messages, { addGenerationPrompt: c.add_generation_prompt, extra: { ...c.extra, tools: toolSchemas(TOOLS) } });
    assert.equal(text, onToday(c.text), `${c.family}: ${c.label}`);
    if (c.messages.length <= 2) assert.equal(renderToolPrompt(FORMAT[c.family], tok, c.messages, TOOLS, { extra: c.extra }), onToday(c.text), `${c.family}: ${c.label} (renderToolPrompt)`);
  }
});

test("an episode written piece by piece (prompt, the model's call, EOS, the results) is the template's own text of the conversation", () => {
  for (const c of cases.filter(x => x.label.startsWith("a call, its result, the generation") || x.label.startsWith("two calls"))) {
    const tok = familyTokenizer(c.family), fmt = FORMAT[c.family];
    const [q, call, ...results] = c.messages;
    const calls = call.tool_calls!.map(t => ({ name: t.function.name, arguments: t.function.arguments }));
    const modelTurn = renderToolCalls(fmt, calls);
    // what the model wrote parses back to the calls, and to the message the template rendered
    const parsed = parseToolCalls(fmt, modelTurn, TOOLS);
    assert.deepEqual(parsed.calls, calls);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual(assistantMessage(parsed).tool_calls!.map(t => t.function), calls);
    const episode = renderToolPrompt(fmt, tok, [q], TOOLS) + modelTurn + tok.eosToken + renderToolResults(fmt, tok, results);
    assert.equal(episode, onToday(c.text), `${c.family}: ${c.label}`);
  }
});

test("formats are detected from the template; tags stop at </call>, chat formats at EOS", () => {
  assert.equal(detectToolFormat(familyTokenizer("qwen3")), "hermes");
  assert.equal(detectToolFormat(familyTokenizer("llama3.2")), "llama3");
  assert.equal(detectToolFormat(new ByteTokenizer()), "tags");
  // SmolLM3 lists tools from `xml_tools` (printed as Python dicts), Gemma 3 takes none: both fall back to tags
  for (const family of ["smollm3", "gemma3"]) {
    const tok = new HfTokenizer(new ByteTokenizer(["<|im_end|>"]).toTokenizerJson(), { eos_token: "<|im_end|>", chat_template: readFileSync(new URL(`${family}.jinja`, TEMPLATES), "utf8") });
    assert.equal(detectToolFormat(tok), "tags", family);
    assert.throws(() => renderToolPrompt("hermes", tok, [{ role: "user", content: "q" }], TOOLS), /template has none: use format tags/);
  }
  assert.deepEqual(callStopStrings("tags"), ["</call>"]);
  assert.deepEqual(callStopStrings("hermes"), []);
});

test("the tags format: raw text for a one-string tool, JSON otherwise, results as <result>", () => {
  const p = parseToolCalls("tags", "I multiply. <call>calculator 12*34</call>", TOOLS);
  assert.deepEqual(p.calls, [{ name: "calculator", arguments: { expression: "12*34" } }]);
  assert.equal(p.content, "I multiply.");
  assert.deepEqual(parseToolCalls("tags", '<call>python {"code": "print(1)"}</call>', TOOLS).calls, [{ name: "python", arguments: { code: "print(1)" } }]);
  assert.equal(renderToolResults("tags", new ByteTokenizer(), [{ content: "408" }]), "<result>408</result>");
  assert.equal(renderToolCalls("tags", [{ name: "calculator", arguments: { expression: "1+1" } }]), '<call>calculator {"expression": "1+1"}</call>');
  assert.throws(() => renderToolResults("hermes", new ByteTokenizer(), [{ content: "x" }]), /no chat template.*format tags/);
});

test("malformed calls of every kind become error results the model reads, never throws", async () => {
  const bad: [ToolFormat, string, RegExp][] = [
    ["hermes", "<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+\"\n</tool_call>", /not valid JSON/],
    ["hermes", "<tool_call>\n{\"name\": \"calculator\"", /not closed/],
    ["hermes", "<tool_call>\n[1, 2]\n</tool_call>", /must be a JSON object/],
    ["hermes", "<tool_call>\n{\"arguments\": {}}\n</tool_call>", /no "name"/],
    ["hermes", "<tool_call>\n{\"name\": \"calculator\", \"arguments\": \"{oops\"}\n</tool_call>", /arguments of calculator are not valid JSON/],
    ["llama3", "{\"name\": \"calculator\", \"parameters\": {", /not valid JSON/],
    ["tags", "<call>calculator 1+1", /not closed/],
    ["tags", "<call>123</call>", /starts with the tool's name/],
    ["tags", "<call>python {code: 1}</call>", /not valid JSON/],
  ];
  for (const [fmt, text, msg] of bad) {
    const p = parseToolCalls(fmt, text, TOOLS);
    assert.equal(p.calls.length, 0, text);
    assert.equal(p.errors.length, 1, text);
    assert.equal(p.errors[0].error, "bad_json");
    assert.match(p.errors[0].content, msg, text);
  }
  // parsed but wrong: an unknown tool, wrong arguments (missing, wrong type, extra key)
  const unknown = await callTool(TOOLS, { name: "search", arguments: { q: "x" } });
  assert.equal(unknown.error, "unknown_tool");
  assert.match(unknown.content, /unknown tool "search".*calculator, python/);
  for (const args of [{}, { expression: 12 }, { expression: "1", extra: true }, "1+1"]) {
    const r = await callTool(TOOLS, { name: "calculator", arguments: args });
    assert.equal(r.error, "bad_arguments", JSON.stringify(args));
    assert.match(r.content, /^Error: wrong arguments for calculator/);
  }
  // a calculator error (division by zero) is the tool throwing: the model reads why
  const div = await callTool(TOOLS, { name: "calculator", arguments: { expression: "1/0" } });
  assert.equal(div.error, "threw");
  assert.match(div.content, /CalculatorError: division by zero/);
  // text that is no call at all is content
  assert.deepEqual(parseToolCalls("llama3", "The answer is 4.", TOOLS), { content: "The answer is 4.", calls: [], errors: [] });
  assert.deepEqual(parseToolCalls("hermes", "<think>x</think>\n\n4", TOOLS).calls, []);
});
