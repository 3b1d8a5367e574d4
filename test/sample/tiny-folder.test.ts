// A tiny random Qwen2 folder written here (config.json, model.safetensors, a BPE tokenizer.json trained by
// trainBpe, tokenizer_config.json with a chat template) loads, chats and generates deterministically.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { Command } from "commander";
import { referenceBackend } from "../../src/engine/reference.js";
import { savePretrained } from "../../src/model/io/pretrained.js";
import { tokenizerFileMap } from "../../src/tokenizer/load.js";
import { renderChat } from "../../src/tokenizer/chat-template.js";
import { encodePrompt, generate } from "../../src/sample/generate.js";
import { register as registerGenerate } from "../../src/cli/generate.js";
import { loadForGeneration } from "../../src/model/io/pretrained.js";
import { register as registerChat, chatLoop, chatTurn } from "../../src/cli/chat.js";
import { output } from "../../src/cli/output.js";
import { tinyModel, tokenizer, TOKENIZER, TOKENIZER_CONFIG } from "./tiny-model.js";

const dir = mkdtempSync(join(tmpdir(), "m37-tiny-qwen2-"));
const original = tinyModel(referenceBackend, 3);
savePretrained(original, dir, { files: tokenizerFileMap(TOKENIZER.json, TOKENIZER_CONFIG) });
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs a CLI verb in-process and returns what it printed on stdout. */
async function cli(args: string[]): Promise<string> {
  const program = new Command("move37").exitOverride();
  registerGenerate(program);
  registerChat(program);
  const printed: string[] = [];
  const [out, err] = [output.out, output.err];
  output.out = s => { printed.push(s); };
  output.err = () => {};
  try { await program.parseAsync(args, { from: "user" }); } finally { output.out = out; output.err = err; }
  return printed.join("");
}

test("the folder holds the Hugging Face files and loads back to the same tokenizer and weights", () => {
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"]);
  const { model, tokenizer: tok } = loadForGeneration(dir, "reference");
  assert.deepEqual(model.flatParams, original.flatParams);
  assert.equal(tok.eosToken, "<|im_end|>");
  assert.equal(model.config.eos_token_id, tok.eosId);
  assert.deepEqual(tok.encode("The cat sat"), tokenizer.encode("The cat sat"));
  assert.equal(renderChat(tok, [{ role: "user", content: "hi" }]), "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
});

test("`move37 generate --chat --seed` is deterministic and equals generate() on the in-memory model", async () => {
  const args = ["generate", dir, "--prompt", "The cat", "Two plus", "--chat", "--seed", "7", "--temperature", "0.9", "--top-p", "0.95",
    "--max-new-tokens", "10", "-n", "2", "--backend", "reference", "--json"];
  const first = (await cli(args)).trim().split("\n").map(l => JSON.parse(l));
  assert.equal(first.length, 4);
  assert.deepEqual((await cli(args)).trim().split("\n").map(l => JSON.parse(l)), first);
  const want = generate(original, tokenizer, ["The cat", "Two plus"].map(p => encodePrompt(tokenizer, p, {})),
    { maxNewTokens: 10, temperature: 0.9, topP: 0.95, seed: 7, numReturnSequences: 2 });
  assert.deepEqual(first.map(g => g.ids), want.map(g => g.ids));
  assert.deepEqual(first.map(g => g.text), want.map(g => g.text));
  const other = (await cli(args.map(a => (a === "7" ? "8" : a)))).trim().split("\n").map(l => JSON.parse(l));
  assert.notDeepEqual(other.map(g => g.ids), first.map(g => g.ids));
});

test("`move37 generate` with one prompt streams exactly the completion text", async () => {
  const printed = await cli(["generate", dir, "--prompt", "The dog", "--temperature", "0", "--max-new-tokens", "8", "--backend", "reference"]);
  const [g] = generate(original, tokenizer, [tokenizer.encode("The dog")], { maxNewTokens: 8, temperature: 0 });
  assert.equal(printed, g.text + "\n");
});

test("chat: each reply streams, joins the history, and the next turn is rendered with it", async () => {
  const { model, tokenizer: tok } = loadForGeneration(dir, "reference");
  const sampling = { maxNewTokens: 8, temperature: 0.8, seed: 1 };
  // Expected replies, computed turn by turn.
  const history: { role: string; content: string }[] = [];
  const r1 = chatTurn(model, tok, history, "Hello", sampling, {}, () => {});
  const r2 = chatTurn(model, tok, history, "Again", sampling, {}, () => {});
  assert.deepEqual(history.map(m => m.role), ["user", "assistant", "user", "assistant"]);
  // Same seed as turn 2 (seed + 1), no history: the reply must differ.
  const fresh = chatTurn(model, tok, [], "Again", { ...sampling, seed: 2 }, {}, () => {});
  assert.notDeepEqual(r2.ids, fresh.ids, "the second turn must see the first");
  // The loop over stdin gives the same conversation; /reset starts over.
  const input = new PassThrough();
  input.end("Hello\nAgain\n/reset\nHello\n");
  const printed: string[] = [];
  const [out, err] = [output.out, output.err];
  output.out = s => { printed.push(s); };
  output.err = () => {};
  try { await chatLoop(model, tok, input, sampling, {}); } finally { output.out = out; output.err = err; }
  assert.equal(printed.join(""), `${r1.text}\n${r2.text}\n${r1.text}\n`);
});
