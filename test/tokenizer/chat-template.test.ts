import { test } from "node:test";
import assert from "node:assert/strict";
import { renderChat, R1_PREAMBLE, ChatTemplateError } from "../../src/tokenizer/chat-template.js";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";

// Qwen2.5's template, shortened to its message loop (the real file's structure).
const QWEN = "{%- for message in messages %}{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

const R1_TEXT = "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>.";

test("the built-in R1 template renders the R1-Zero prompt word for word, <think> only when asked", () => {
  const noBos = new HfTokenizer(new ByteTokenizer().toTokenizerJson(), { eos_token: "<|endoftext|>" });
  assert.equal(R1_PREAMBLE, R1_TEXT);
  assert.equal(renderChat(noBos, [{ role: "user", content: "What is 2+3" }], { template: "r1" }), `${R1_TEXT} User: What is 2+3. Assistant:`);
  assert.equal(renderChat(noBos, [{ role: "user", content: "q" }], { template: "r1", prefillThink: true }), `${R1_TEXT} User: q. Assistant: <think>`);
  assert.equal(renderChat(noBos, [{ role: "system", content: "S" }, { role: "user", content: "q1" }, { role: "assistant", content: "a1" }, { role: "user", content: "q2" }]),
    "S User: q1. Assistant: a1<|endoftext|> User: q2. Assistant:");
  assert.equal(renderChat(noBos, [{ role: "user", content: "q" }, { role: "assistant", content: "<answer> 5 </answer>" }], { addGenerationPrompt: false }),
    `${R1_TEXT} User: q. Assistant: <answer> 5 </answer><|endoftext|>`);
  // A tokenizer with a BOS token gets it first.
  assert.ok(renderChat(new ByteTokenizer(), [{ role: "user", content: "q" }]).startsWith(`<|endoftext|>${R1_TEXT}`));
  assert.throws(() => renderChat(noBos, [{ role: "tool", content: "x" }]), ChatTemplateError);
});

test("a model's chat_template from tokenizer_config.json is used by default", () => {
  const tok = new HfTokenizer(new ByteTokenizer(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]).toTokenizerJson(), { eos_token: "<|im_end|>", chat_template: QWEN });
  const msgs = [{ role: "system", content: "You are helpful." }, { role: "user", content: "Hi" }];
  assert.equal(renderChat(tok, msgs), "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  assert.equal(renderChat(tok, msgs, { prefillThink: true }).slice(-9), "\n<think>\n");
  assert.ok(renderChat(tok, msgs, { template: "r1" }).startsWith("You are helpful. User: Hi."));
  const ids = tok.encode(renderChat(tok, msgs), { addSpecialTokens: false });
  assert.equal(ids[0], tok.tokenToId("<|im_start|>"));
  assert.throws(() => renderChat(new ByteTokenizer(), msgs, { template: "model" }), /no chat_template/);
  assert.throws(() => renderChat(tok, msgs, { template: "{% if %}" }), ChatTemplateError);
  assert.throws(() => renderChat(tok, []), /no messages/);
});
