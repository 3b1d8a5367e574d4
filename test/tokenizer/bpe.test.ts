import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trainBpe } from "../../src/tokenizer/bpe-train.js";
import { HfTokenizer } from "../../src/tokenizer/hf.js";
import { loadTokenizer, writeTokenizerFiles } from "../../src/tokenizer/load.js";
import { DecodeStream } from "../../src/tokenizer/decode-stream.js";
import { TokenizerError } from "../../src/tokenizer/types.js";

const corpus = [
  "The quick brown fox jumps over the lazy dog. ", "Theorem: 2 + 2 = 4, and 12 * 12 = 144. ",
  "<think> Let me add the numbers step by step. </think> <answer> 42 </answer>\n",
  "Über naïve café — 漢字 and emoji 😀 appear too. ", "the the the then there their them these those ",
].map((s, i) => s.repeat(8 + 3 * i)).join("<|endoftext|>");

test("the most frequent byte pair inside a pre-tokenized word is merged first", () => {
  const { merges } = trainBpe(corpus, { vocabSize: 260 });
  // Count adjacent byte pairs within each GPT-2 chunk, independently of the trainer.
  const counts = new Map<string, number>();
  const enc = new TextEncoder();
  for (const piece of corpus.split("<|endoftext|>")) {
    for (const m of piece.match(/'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu) ?? []) {
      const b = enc.encode(m);
      for (let i = 0; i + 1 < b.length; i++) counts.set(`${b[i]},${b[i + 1]}`, (counts.get(`${b[i]},${b[i + 1]}`) ?? 0) + 1);
    }
  }
  const top = Math.max(...counts.values());
  assert.equal(counts.get(merges[0].join(",")), top);
  assert.equal(merges.length, 2);
});

test("@huggingface/tokenizers reading the trained tokenizer.json reproduces the trainer's segmentation", () => {
  const t = trainBpe(corpus, { vocabSize: 340 });
  const hf = new HfTokenizer(t.json, { eos_token: "<|endoftext|>", pad_token: "<|pad|>" });
  assert.equal(hf.vocabSize, 340);
  assert.equal(hf.eosId, 338);
  assert.equal(hf.padId, 339);
  const pieces = corpus.split("<|endoftext|>");
  const hfTokens = pieces.reduce((a, p) => a + hf.encode(p).length, 0);
  assert.equal(hfTokens, t.corpusTokens);
  assert.ok(t.corpusTokens < new TextEncoder().encode(pieces.join("")).length / 2, "BPE should compress this corpus > 2×");
  // Trained to saturation, every distinct word becomes one token and training stops below the requested size.
  const full = trainBpe(corpus, { vocabSize: 5000 });
  assert.ok(full.merges.length < 5000 - 258);
  const fullHf = new HfTokenizer(full.json);
  assert.equal(pieces.reduce((a, p) => a + fullHf.encode(p).length, 0), full.corpusTokens);
  assert.deepEqual(hf.encode("a<|endoftext|>b"), [...hf.encode("a"), 338, ...hf.encode("b")]);
  for (const s of ["unseen wörds ⚡ 9999", " the fox ", "\n\n\t x"]) assert.equal(hf.decode(hf.encode(s)), s);
  assert.equal(new Set(Object.keys(t.json.model.vocab)).size, Object.keys(t.json.model.vocab).length);
});

test("training is deterministic and stops early when no pair repeats", () => {
  assert.deepEqual(trainBpe(corpus, { vocabSize: 320 }).merges, trainBpe(corpus, { vocabSize: 320 }).merges);
  const tiny = trainBpe("abcd", { vocabSize: 1000, specials: [] });
  assert.equal(tiny.merges.length, 0);
  assert.throws(() => trainBpe(corpus, { vocabSize: 100 }), TokenizerError);
});

test("writeTokenizerFiles + loadTokenizer round-trip a model folder's tokenizer and chat template", () => {
  const dir = mkdtempSync(join(tmpdir(), "m37-tok-"));
  try {
    const t = trainBpe(corpus, { vocabSize: 330 });
    writeTokenizerFiles(dir, t.json, { eos_token: "<|endoftext|>", pad_token: "<|pad|>", chat_template: "{{ messages[0].content }}!" });
    const tok = loadTokenizer(dir);
    assert.equal(tok.eosToken, "<|endoftext|>");
    assert.equal(tok.chatTemplate, "{{ messages[0].content }}!");
    assert.deepEqual(tok.encode("the fox"), new HfTokenizer(t.json).encode("the fox"));
    assert.throws(() => loadTokenizer(join(dir, "missing")), /no tokenizer\.json/);
    writeTokenizerFiles(dir, t.json, { eos_token: "<|nope|>" });
    assert.throws(() => loadTokenizer(dir), /not in tokenizer\.json's vocabulary/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("DecodeStream emits whole characters that add up to the full decode", () => {
  const t = trainBpe(corpus, { vocabSize: 400 });
  const tok = new HfTokenizer(t.json, { eos_token: "<|endoftext|>" });
  const text = "naïve 😀 漢字 café ✓ the quick fox";
  const ids = tok.encode(text);
  const stream = new DecodeStream(tok);
  const parts = ids.map(id => stream.push(id));
  parts.push(stream.flush());
  assert.equal(parts.join(""), text);
  assert.ok(parts.every(p => !p.includes("\uFFFD")));
  assert.ok(parts.filter(p => p === "").length > 0, "some byte tokens of multi-byte characters must be held back");
});
