/**
 * GPT-2's byte ↔ unicode mapping (`bytes_to_unicode` in openai/gpt-2 encoder.py), which byte-level BPE
 * tokenizer.json files use to spell raw bytes as printable characters: printable Latin-1 bytes map to
 * themselves, the other 68 bytes to U+0100.. in order (so a space is "Ġ", a newline "Ċ").
 */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let next = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCharCode(printable(b) ? b : 256 + next++));
  return out;
})();

export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

/** Raw bytes → their byte-level spelling. */
export const bytesToUnicode = (bytes: Uint8Array | readonly number[]) => {
  let s = "";
  for (const b of bytes) s += BYTE_TO_UNICODE[b];
  return s;
};

/**
 * GPT-2's pre-tokenization regex (the ByteLevel pre-tokenizer's `use_regex: true`): text is split into
 * contractions, letter runs, digit runs, punctuation runs and whitespace before BPE, so merges never cross them.
 */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
