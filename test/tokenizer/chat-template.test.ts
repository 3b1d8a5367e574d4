import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadTokenizer, writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { renderChat, R1_PREAMBLE, ChatTemplateError, type ChatMessage } from "../../src/tokenizer/chat-template.js";
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

// The families' real chat templates (test/fixtures/templates/*.jinja) against Python's jinja2 configured as
// transformers' apply_chat_template (make_expected.py wrote expected.json, strftime_now pinned to 2026-12-06).
const TEMPLATES = new URL("../fixtures/templates/", import.meta.url);
const expected = JSON.parse(readFileSync(new URL("expected.json", TEMPLATES), "utf8")) as {
  now: string; specials: Record<string, Record<string, string>>;
  cases: { family: string; label: string; messages: ChatMessage[]; add_generation_prompt: boolean; extra: Record<string, unknown>; text: string }[];
};
const FAMILY_TOKENS: Record<string, string[]> = {
  qwen3: ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
  "llama3.2": ["<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>"],
  gemma3: ["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>"],
  smollm3: ["<|im_start|>", "<|im_end|>", "<think>", "</think>"],
  "qwen2.5": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"],
};
/** A tokenizer carrying the family's template and special tokens (bytes + the family's specials). */
function familyTokenizer(family: string): HfTokenizer {
  const sp = expected.specials[family];
  const orNull = (s: string) => (s === "" ? null : s);
  return new HfTokenizer(new ByteTokenizer(FAMILY_TOKENS[family]).toTokenizerJson(), {
    bos_token: orNull(sp.bos_token), eos_token: orNull(sp.eos_token), pad_token: orNull(sp.pad_token),
    chat_template: readFileSync(new URL(`${family}.jinja`, TEMPLATES), "utf8"),
  });
}
const pinnedNow = new Date(expected.now);
/** strftime for the two formats the templates use, as @huggingface/jinja's built-in strftime_now formats them. */
const strftime = (d: Date) => (fmt: string) => fmt
  .replace("%d", String(d.getDate()).padStart(2, "0")).replace("%B", new Intl.DateTimeFormat(undefined, { month: "long" }).format(d))
  .replace("%b", new Intl.DateTimeFormat(undefined, { month: "short" }).format(d)).replace("%Y", String(d.getFullYear()));
/** The fixture's text with its pinned dates replaced by `d`'s (strftime_now is the engine's and reads the clock). */
const onDay = (text: string, d: Date) => text
  .replaceAll(strftime(pinnedNow)("%d %B %Y"), strftime(d)("%d %B %Y")).replaceAll(strftime(pinnedNow)("%d %b %Y"), strftime(d)("%d %b %Y"));

test("Qwen3, Qwen2.5 (with tools), Llama 3.2, Gemma 3 and SmolLM3 templates render as transformers renders them (jinja2 oracle)", () => {
  assert.equal(expected.cases.length, 16);
  for (const c of expected.cases) {
    const before = new Date();
    const text = renderChat(familyTokenizer(c.family), c.messages, { addGenerationPrompt: c.add_generation_prompt, extra: c.extra });
    const after = new Date(); // a render that straddles midnight matches one of the two days
    assert.ok(text === onDay(c.text, before) || text === onDay(c.text, after), `${c.family}: ${c.label}\n${JSON.stringify(text)}\n${JSON.stringify(onDay(c.text, before))}`);
  }
});

test("Qwen3's enable_thinking: false gets the empty think block, true and unset do not; history reasoning is dropped", () => {
  const tok = familyTokenizer("qwen3"), q = [{ role: "user", content: "2+2?" }];
  const prompt = "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n";
  assert.equal(renderChat(tok, q), prompt);
  assert.equal(renderChat(tok, q, { extra: { enable_thinking: true } }), prompt);
  assert.equal(renderChat(tok, q, { extra: { enable_thinking: false } }), `${prompt}<think>\n\n</think>\n\n`);
  // prefillThink opens the block the model thinks in; with thinking off that contradicts the template
  assert.equal(renderChat(tok, q, { prefillThink: true }), `${prompt}<think>\n`);
  assert.throws(() => renderChat(tok, q, { prefillThink: true, extra: { enable_thinking: false } }), /already closed one/);
  // an earlier assistant turn loses its <think> block; the answer after </think> stays
  const multi = renderChat(tok, [...q, { role: "assistant", content: "<think>\nadd\n</think>\n\n4" }, { role: "user", content: "3+3?" }]);
  assert.ok(multi.includes("<|im_start|>assistant\n4<|im_end|>\n") && !multi.includes("add"), multi);
  // the rendered prompt tokenizes with the template's control tokens as single ids
  const ids = tok.encode(renderChat(tok, q, { extra: { enable_thinking: false } }), { addSpecialTokens: false });
  assert.ok(ids.includes(tok.tokenToId("<think>")!) && ids.includes(tok.tokenToId("</think>")!));
});

test("each family's generation prompt opens the assistant turn the way the model was trained", () => {
  const q = [{ role: "user", content: "hi" }];
  const ends: Record<string, string> = {
    qwen3: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
    "llama3.2": "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    gemma3: "<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
    smollm3: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  };
  for (const [family, end] of Object.entries(ends)) {
    const tok = familyTokenizer(family);
    const withPrompt = renderChat(tok, q, {}), without = renderChat(tok, q, { addGenerationPrompt: false });
    assert.ok(withPrompt.endsWith(end), `${family}: ${JSON.stringify(withPrompt.slice(-80))}`);
    assert.ok(withPrompt.startsWith(without) && withPrompt.length > without.length, `${family}: the generation prompt is appended`);
  }
  // BOS: Llama 3.2 and Gemma 3 render it into the text (so encode with addSpecialTokens: false); Qwen3 and SmolLM3 have none
  assert.ok(renderChat(familyTokenizer("llama3.2"), q, {}).startsWith("<|begin_of_text|><|start_header_id|>system"));
  assert.ok(renderChat(familyTokenizer("gemma3"), q).startsWith("<bos><start_of_turn>user\n"));
  // SmolLM3 thinking off: the empty think block, with its single newline
  assert.ok(renderChat(familyTokenizer("smollm3"), q, { extra: { enable_thinking: false } }).endsWith("<|im_start|>assistant\n<think>\n\n</think>\n"));
  // Gemma 3 has no system role: the system text is folded into the first user turn; roles must alternate
  assert.throws(() => renderChat(familyTokenizer("gemma3"), [{ role: "user", content: "a" }, { role: "user", content: "b" }]), /roles must alternate/);
});

test("template variables: a variable replaces the template's default, reserved names are refused", () => {
  assert.ok(renderChat(familyTokenizer("llama3.2"), [{ role: "user", content: "hi" }], { extra: { date_string: "26 Jul 2024" } }).includes("Today Date: 26 Jul 2024\n"));
  assert.throws(() => renderChat(familyTokenizer("qwen3"), [{ role: "user", content: "hi" }], { extra: { add_generation_prompt: false } }), /addGenerationPrompt option/);
  assert.throws(() => renderChat(familyTokenizer("qwen3"), [{ role: "user", content: "hi" }], { extra: { messages: [] } }), /messages argument/);
  assert.throws(() => renderChat(familyTokenizer("llama3.2"), [{ role: "user", content: "hi" }], { extra: { strftime_now: () => "x" } }), /"strftime_now" is a built-in of the Jinja engine/);
});

test("a folder's chat_template.jinja (transformers ≥ 4.50) is the template when tokenizer_config.json has none", () => {
  const dir = mkdtempSync(join(tmpdir(), "m37-tpl-"));
  try {
    const qwen3 = readFileSync(new URL("qwen3.jinja", TEMPLATES), "utf8");
    writeTokenizerFiles(dir, new ByteTokenizer(FAMILY_TOKENS.qwen3).toTokenizerJson(), { eos_token: "<|im_end|>" });
    assert.equal(loadTokenizer(dir).chatTemplate, null);
    writeFileSync(join(dir, "chat_template.jinja"), qwen3);
    assert.equal(loadTokenizer(dir).chatTemplate, qwen3);
    assert.ok(renderChat(loadTokenizer(dir), [{ role: "user", content: "hi" }], { extra: { enable_thinking: false } }).endsWith("<think>\n\n</think>\n\n"));
    // tokenizer_config.json's own template wins, as in transformers
    writeTokenizerFiles(dir, new ByteTokenizer(FAMILY_TOKENS.qwen3).toTokenizerJson(), { eos_token: "<|im_end|>", chat_template: QWEN });
    assert.equal(loadTokenizer(dir).chatTemplate, QWEN);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
