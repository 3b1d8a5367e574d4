import type { Tokenizer } from "./types.js";
import { TokenizerError } from "./types.js";
import { BYTE_TO_UNICODE } from "./byte-unicode.js";
import { byteLevelTokenizerJson, type TokenizerJson } from "./tokenizer-json.js";

export const ENDOFTEXT = "<|endoftext|>";
export const PAD = "<|pad|>";

/**
 * The tokenizer of the small models trained here: id b < 256 is the byte b of the UTF-8 text, and special tokens
 * follow from 256 (default "<|endoftext|>" = 256, EOS and BOS; "<|pad|>" = 257). `toTokenizerJson()` writes the
 * same tokenizer as a Hugging Face byte-level BPE without merges, so a saved model loads anywhere.
 */
export class ByteTokenizer implements Tokenizer {
  readonly specials: readonly string[];
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  readonly padId: number | null;
  readonly chatTemplate: string | null = null;
  private readonly specialIds: Map<string, number>;
  private readonly splitter: RegExp | null;
  private readonly utf8 = new TextDecoder("utf-8");

  constructor(specials: readonly string[] = [ENDOFTEXT, PAD]) {
    if (new Set(specials).size !== specials.length) throw new TokenizerError(`duplicate special tokens in [${specials.join(", ")}]: give each once`);
    this.specials = [...specials];
    this.vocabSize = 256 + specials.length;
    this.specialIds = new Map(specials.map((s, i) => [s, 256 + i]));
    this.eosId = this.specialIds.get(ENDOFTEXT) ?? null;
    this.bosId = this.eosId;
    this.padId = this.specialIds.get(PAD) ?? null;
    // Longest first, so a special token that is a prefix of another never wins.
    const alts = [...specials].sort((a, b) => b.length - a.length).map(s => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    this.splitter = alts.length ? new RegExp(`(${alts.join("|")})`, "g") : null;
  }

  get bosToken() { return this.bosId === null ? null : this.specials[this.bosId - 256]; }
  get eosToken() { return this.eosId === null ? null : this.specials[this.eosId - 256]; }
  get padToken() { return this.padId === null ? null : this.specials[this.padId - 256]; }

  encode(text: string): number[] {
    const ids: number[] = [];
    const enc = new TextEncoder();
    const parts = this.splitter ? text.split(this.splitter) : [text];
    for (const part of parts) {
      const special = this.specialIds.get(part);
      if (special !== undefined) ids.push(special);
      else for (const b of enc.encode(part)) ids.push(b);
    }
    return ids;
  }

  decode(ids: readonly number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    let out = "";
    let bytes: number[] = [];
    const flush = () => { if (bytes.length) out += this.utf8.decode(new Uint8Array(bytes)); bytes = []; };
    for (const id of ids) {
      if (id < 256 && id >= 0) bytes.push(id);
      else {
        flush();
        const s = this.specials[id - 256];
        if (s === undefined) throw new TokenizerError(`token id ${id} is outside the byte tokenizer's vocabulary of ${this.vocabSize}`);
        if (!opts.skipSpecialTokens) out += s;
      }
    }
    flush();
    return out;
  }

  idToToken(id: number): string | undefined {
    return id >= 0 && id < 256 ? BYTE_TO_UNICODE[id] : this.specials[id - 256];
  }

  tokenToId(token: string): number | undefined {
    const special = this.specialIds.get(token);
    if (special !== undefined) return special;
    const i = BYTE_TO_UNICODE.indexOf(token);
    return i >= 0 ? i : undefined;
  }

  isSpecial(id: number): boolean { return id >= 256 && id < this.vocabSize; }

  /** The same tokenizer as a Hugging Face tokenizer.json (byte-level BPE with no merges; ids identical). */
  toTokenizerJson(): TokenizerJson {
    return byteLevelTokenizerJson([], this.specials);
  }
}
