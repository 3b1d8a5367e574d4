// SFT on multi-turn tool traces: only the assistant's turns are targets; tool results and headers are context.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rowPieces, tokenizeRow, type SFTRow } from "../../src/train/sft-data.js";
import { toolSchemas } from "../../src/env/tools.js";
import { calculatorTool } from "../../src/env/calculator.js";
import { familyTokenizer } from "./family.js";

const messages = [{ role: "user", content: "What is 12345 * 6789?" },
  { role: "assistant", content: "", tool_calls: [{ type: "function", function: { name: "calculator", arguments: { expression: "12345 * 6789" } } }] },
  { role: "tool", content: "83810205" }, { role: "assistant", content: "It is 83810205." }];
const extra = { tools: toolSchemas([calculatorTool]) };

test("SFT on a Llama 3.2 tool trace trains the call and the answer, not the tool's result", () => {
  const tok = familyTokenizer("llama3.2");
  const row = { messages } as unknown as SFTRow;
  const trained = rowPieces(tok, row, undefined, extra).filter(p => p.train).map(p => p.text);
  assert.deepEqual(trained, ['{"name": "calculator", "parameters": {"expression": "12345 * 6789"}}<|eot_id|>', "It is 83810205.<|eot_id|>"]);
  const ex = tokenizeRow(tok, row, 10_000, undefined, extra);
  const targets = tok.decode(ex.ids.filter((_, i) => ex.loss[i] === 1));
  assert.ok(!targets.includes("ipython") && targets.split("83810205").length === 2, targets);
});

test("a template that renders past assistant turns differently (Qwen3) is refused with a named error", () => {
  assert.throws(() => rowPieces(familyTokenizer("qwen3"), { messages } as unknown as SFTRow, undefined, extra), /growing prefixes.*prompt\/completion rows/);
});
