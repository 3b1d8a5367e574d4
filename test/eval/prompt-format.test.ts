// The prompt format's template variables: prompt.chat_template_kwargs reach the chat template (Qwen3's
// enable_thinking switch) and prompt.system_prompt opens every conversation that has no system turn.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { PromptConfigSchema, promptFormat } from "../../src/sample/prompt-format.js";
import { rowSequences, tokenizeRow } from "../../src/train/sft-data.js";
import { SFTConfigSchema } from "../../src/train/sft.js";

// The part of Qwen3's chat template that the switch drives, and its way of rendering turns.
const QWEN3_LIKE = "{%- for m in messages %}{{- '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- if enable_thinking is defined and enable_thinking is false %}{{- '<think>\\n\\n</think>\\n\\n' }}{%- endif %}{%- endif %}";

function chatTokenizer(): ByteTokenizer {
  const tok = new ByteTokenizer();
  Object.defineProperty(tok, "chatTemplate", { value: QWEN3_LIKE });
  return tok;
}

const ex = { id: "1", question: "2+3=?", answer: "5" };

test("chat_template_kwargs are the template's variables: enable_thinking false closes the think block", () => {
  const tok = chatTokenizer();
  const thinking = promptFormat(PromptConfigSchema.parse({ template: "chat" }), tok).text(ex);
  const off = promptFormat(PromptConfigSchema.parse({ template: "chat", chat_template_kwargs: { enable_thinking: false } }), tok).text(ex);
  assert.equal(thinking, "<|im_start|>user\n2+3=?<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(off, thinking + "<think>\n\n</think>\n\n");
  const on = promptFormat(PromptConfigSchema.parse({ template: "chat", chat_template_kwargs: { enable_thinking: true } }), tok).text(ex);
  assert.equal(on, thinking);
});

test("system_prompt opens a conversation, unless the row brings its own system turn", () => {
  const tok = chatTokenizer();
  const fmt = promptFormat(PromptConfigSchema.parse({ template: "chat", system_prompt: "Be brief." }), tok);
  assert.equal(fmt.text(ex), "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+3=?<|im_end|>\n<|im_start|>assistant\n");
  const own = { ...ex, messages: [{ role: "system", content: "Mine." }, { role: "user", content: "2+3=?" }] };
  assert.match(fmt.text(own), /^<\|im_start\|>system\nMine\.<\|im_end\|>\n<\|im_start\|>user/);
  assert.deepEqual(fmt.encode(ex), tok.encode(fmt.text(ex)));
});

test("template variables on the tiny_r1 prompt are refused by name", () => {
  const r = PromptConfigSchema.safeParse({ template: "tiny_r1", system_prompt: "x" });
  assert.equal(r.success, false);
  assert.match(JSON.stringify(r.error!.issues), /system_prompt.*applies to the chat template only/);
  assert.equal(PromptConfigSchema.safeParse({ chat_template_kwargs: { enable_thinking: false } }).success, false);
  assert.deepEqual(PromptConfigSchema.parse({}), { template: "tiny_r1", instruct: false }, "the default prompt is unchanged");
});

test("SFT's chat_template_kwargs reach the template for every piece of a messages row", () => {
  const tok = new ByteTokenizer();
  const template = "{%- for m in messages %}{{- m.role + ': ' + m.content }}{%- if shout is defined and shout and m.role == 'user' %}{{- '!' }}{%- endif %}{{- '\\n' }}{%- endfor %}{%- if add_generation_prompt %}{{- 'assistant: ' }}{%- endif %}";
  const row = { messages: [{ role: "user", content: "2+3" }, { role: "assistant", content: "5" }] };
  const text = (kw?: Record<string, unknown>) => rowSequences(tok, row, template, kw)[0].map(p => `${p.train ? "+" : "-"}${p.text}`).join("|");
  assert.equal(text(), "-user: 2+3\nassistant: |+5\n");
  assert.equal(text({ shout: true }), "-user: 2+3!\nassistant: |+5\n");
  assert.notDeepEqual(tokenizeRow(tok, row, 64, template, { shout: true })[0].ids, tokenizeRow(tok, row, 64, template)[0].ids);
  assert.ok(SFTConfigSchema.safeParse({ model: "m", train_file: "x.jsonl", chat_template_kwargs: { enable_thinking: false } }).success);
});
