import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteTokenizer } from "../../src/tokenizer/byte.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";

const samples = ["Hello, world!", "  leading and trailing  \n\n", "héllo wörld ünïcödé", "emoji 😀🎉 and CJK 漢字",
  "a<|endoftext|>b<|pad|>c<|endoftext|>", "<|endoftext", "tabs\tand\r\nCRLF", "12345 678.9e-3", ""];

test("byte ids are the UTF-8 bytes, special tokens follow 256, decode inverts encode", () => {
  const t = new ByteTokenizer();
  assert.equal(t.vocabSize, 258);
  assert.deepEqual(t.encode("hé"), [104, 0xc3, 0xa9]);
  assert.deepEqual(t.encode("a<|endoftext|>"), [97, 256]);
  assert.deepEqual([t.eosId, t.bosId, t.padId, t.eosToken, t.padToken], [256, 256, 257, "<|endoftext|>", "<|pad|>"]);
  for (const s of samples) assert.equal(t.decode(t.encode(s)), s);
  assert.equal(t.decode(t.encode("x<|pad|>y"), { skipSpecialTokens: true }), "xy");
  assert.equal(t.decode([0xf0, 0x9f]), "\uFFFD");
  assert.ok(t.isSpecial(257) && !t.isSpecial(255));
});

test("custom special tokens take the ids after 256 in order; the longer of two overlapping wins", () => {
  const t = new ByteTokenizer(["<|endoftext|>", "<|pad|>", "<think>", "<think>!"]);
  assert.deepEqual(t.encode("<think>!<think>"), [259, 258]);
  assert.throws(() => new ByteTokenizer(["<a>", "<a>"]), /duplicate/);
});

test("its tokenizer.json, read by @huggingface/tokenizers, encodes and decodes identically", () => {
  const t = new ByteTokenizer();
  const hf = new HfTokenizer(t.toTokenizerJson(), { eos_token: "<|endoftext|>", pad_token: "<|pad|>" });
  assert.equal(hf.vocabSize, t.vocabSize);
  assert.deepEqual([hf.eosId, hf.padId], [256, 257]);
  for (const s of samples) {
    assert.deepEqual(hf.encode(s), t.encode(s), JSON.stringify(s));
    assert.equal(hf.decode(t.encode(s)), t.decode(t.encode(s)));
  }
  for (let id = 0; id < 258; id++) assert.equal(hf.idToToken(id), t.idToToken(id));
});
