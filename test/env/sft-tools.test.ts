// SFT on multi-turn tool traces: only the assistant's turns are targets; tool results and headers are context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rowSequences, tokenizeRow, type SFTRow } from "../../src/train/sft-data.js";
import { toolSchemas } from "../../src/env/tools.js";
import { calculatorTool } from "../../src/env/calculator.js";
import { pythonTool } from "../../src/env/python.js";
import { familyTokenizer, TEMPLATES } from "./family.js";
import { readFileSync } from "node:fs";
import { renderToolPrompt, renderToolResults, type ToolMessage } from "../../src/env/formats.js";

const messages = [{ role: "user", content: "What is 12345 * 6789?" },
  { role: "assistant", content: "", tool_calls: [{ type: "function", function: { name: "calculator", arguments: { expression: "12345 * 6789" } } }] },
  { role: "tool", content: "83810205" }, { role: "assistant", content: "It is 83810205." }];
const extra = { tools: toolSchemas([calculatorTool]) };

test("SFT on a Llama 3.2 tool trace trains the call and the answer, not the tool's result", () => {
  const tok = familyTokenizer("llama3.2");
  const row = { messages } as unknown as SFTRow;
  const seqs = rowSequences(tok, row, undefined, extra);
  assert.equal(seqs.length, 1, "the template renders growing prefixes: one sequence");
  const trained = seqs[0].filter(p => p.train).map(p => p.text);
  assert.deepEqual(trained, ['{"name": "calculator", "parameters": {"expression": "12345 * 6789"}}<|eot_id|>', "It is 83810205.<|eot_id|>"]);
  const [ex] = tokenizeRow(tok, row, 10_000, undefined, extra);
  const targets = tok.decode(ex.ids.filter((_, i) => ex.loss[i] === 1));
  assert.ok(!targets.includes("ipython") && targets.split("83810205").length === 2, targets);
});

test("SFT on a Qwen3 tool trace (a template whose renderings are not prefixes) trains the text GRPO episodes sample", () => {
  const tok = familyTokenizer("qwen3");
  const row = { messages: [{ role: "system", content: "You are a careful math tutor." }, ...messages] } as unknown as SFTRow;
  const both = [calculatorTool, pythonTool()]; // the fixture's tools
  const seqs = rowSequences(tok, row, undefined, { tools: toolSchemas(both) });
  assert.equal(seqs.length, 1, "one sequence, laid out as an episode");
  const pieces = seqs[0];
  assert.deepEqual(pieces.filter(p => p.train).map(p => p.text), [
    '<tool_call>\n{"name": "calculator", "arguments": {"expression": "12345 * 6789"}}\n</tool_call><|im_end|>', "It is 83810205.<|im_end|>"]);
  // the whole row is jinja2's rendering of the conversation, less the empty think block Qwen3 gives the last turn
  const c = (JSON.parse(readFileSync(new URL("tools_expected.json", TEMPLATES), "utf8")) as { cases: { family: string; label: string; text: string }[] })
    .cases.find(x => x.family === "qwen3" && x.label === "a call, its result, the answer")!;
  const want = c.text.replace("<think>\n\n</think>\n\n12345 * 6789 = 83810205.", "It is 83810205.").slice(0, -1);
  assert.equal(pieces.map(p => p.text).join(""), want);
  // and the episode's pieces are those an RL episode has: the prompt through renderToolPrompt, the results through renderToolResults
  assert.equal(pieces[0].text, renderToolPrompt("hermes", tok, (row.messages as ToolMessage[]).slice(0, 2), both));
  assert.equal(pieces[2].text, renderToolResults("hermes", tok, [{ content: "83810205" }]));
  // a Qwen3 chat without tool turns is main's per-turn layout: one sequence per assistant turn
  assert.equal(rowSequences(tok, { messages: [messages[0], { role: "assistant", content: "<think>\nx\n</think>\n\n1" }, { role: "user", content: "and?" }, { role: "assistant", content: "2" }] } as unknown as SFTRow).length, 2);
});
