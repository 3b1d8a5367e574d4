// SentencePiece vocabularies (tokenizer.model: Gemma's, Llama 2's) → GGUF `tokenizer.ggml.model = "llama"`, as
// convert_hf_to_gguf's _set_vocab_sentencepiece writes them: every piece with its score and type, ids past the
// model padded with unused `[PADn]`, tokenizer_config.json's added_tokens_decoder overriding content and type.
import { readFileSync } from "node:fs";
import { GgufExportError } from "./errors.js";

/** SentencePiece piece types (sentencepiece_model.proto); llama.cpp's token types use the same numbers. */
export const SPM_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

export interface SentencePiece { piece: string; score: number; type: number }
export interface SentencePieceModel { pieces: SentencePiece[]; addDummyPrefix: boolean }

/** Minimal protobuf reader: the fields of ModelProto that the GGUF needs (pieces; normalizer_spec.add_dummy_prefix). */
export function readSentencePieceModel(path: string): SentencePieceModel {
  const buf = readFileSync(path);
  const bad = (what: string): never => { throw new GgufExportError(`${path}: not a SentencePiece model (${what})`); };
  const varint = (b: Buffer, o: { i: number }) => {
    let v = 0, mul = 1;
    for (;;) {
      if (o.i >= b.length) bad("truncated varint");
      const byte = b[o.i++];
      v += (byte & 0x7f) * mul;
      if (byte < 0x80) return v;
      mul *= 128;
      if (mul > 2 ** 63) bad("varint too long");
    }
  };
  /** Fields of one message: [field number, wire type, value (number) or bytes]. */
  const fields = (b: Buffer): [number, number, number | Buffer][] => {
    const out: [number, number, number | Buffer][] = [];
    const o = { i: 0 };
    while (o.i < b.length) {
      const key = varint(b, o), field = Math.floor(key / 8), wire = key % 8;
      if (wire === 0) out.push([field, wire, varint(b, o)]);
      else if (wire === 1) { if (o.i + 8 > b.length) bad("truncated fixed64"); out.push([field, wire, b.readDoubleLE(o.i)]); o.i += 8; }
      else if (wire === 2) { const n = varint(b, o); if (o.i + n > b.length) bad("truncated field"); out.push([field, wire, b.subarray(o.i, o.i + n)]); o.i += n; }
      else if (wire === 5) { if (o.i + 4 > b.length) bad("truncated fixed32"); out.push([field, wire, b.readFloatLE(o.i)]); o.i += 4; }
      else bad(`wire type ${wire}`);
    }
    return out;
  };
  const pieces: SentencePiece[] = [];
  let addDummyPrefix = true;
  for (const [field, wire, value] of fields(buf)) {
    if (field === 1 && wire === 2) {
      const p: SentencePiece = { piece: "", score: 0, type: SPM_TYPE.normal };
      for (const [f, w, v] of fields(value as Buffer)) {
        if (f === 1 && w === 2) p.piece = (v as Buffer).toString("utf8");
        else if (f === 2 && w === 5) p.score = v as number;
        else if (f === 3 && w === 0) p.type = v as number;
      }
      pieces.push(p);
    } else if (field === 3 && wire === 2) {
      for (const [f, w, v] of fields(value as Buffer)) if (f === 3 && w === 0) addDummyPrefix = v !== 0;
    }
  }
  if (pieces.length === 0) bad("no pieces");
  return { pieces, addDummyPrefix };
}

export interface SpmVocab { tokens: string[]; scores: number[]; types: number[] }

/**
 * The GGUF token list of a SentencePiece model for an embedding of `vocabSize` rows. `added` is tokenizer_config.json's
 * added_tokens_decoder (id → content, special): those ids take the content, CONTROL (special) or USER_DEFINED, score
 * −1000, as the converter does. Refuses a model without all 256 `<0xXX>` byte pieces (llama.cpp's byte fallback
 * needs every one).
 */
export function spmVocab(model: SentencePieceModel, vocabSize: number, added: ReadonlyMap<number, { content: string; special: boolean }>, where: string): SpmVocab {
  const tokens = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const scores = new Array<number>(vocabSize).fill(-10000);
  const types = new Array<number>(vocabSize).fill(SPM_TYPE.unused);
  // the converter stops at vocab_size: pieces past the embedding cannot be produced by the model
  model.pieces.slice(0, vocabSize).forEach((p, i) => { tokens[i] = p.piece; scores[i] = p.score; types[i] = p.type; });
  for (const [id, t] of added) {
    if (id < 0 || id >= vocabSize) throw new GgufExportError(`${where}: added token ${JSON.stringify(t.content)} has id ${id}, outside the model's vocab_size ${vocabSize}`);
    tokens[id] = t.content; types[id] = t.special ? SPM_TYPE.control : SPM_TYPE.userDefined; scores[id] = -1000;
  }
  const bytes = new Set(tokens.filter((t, i) => types[i] === SPM_TYPE.byte));
  const missing = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`).filter(t => !bytes.has(t));
  if (missing.length) throw new GgufExportError(`${where}: the SentencePiece model lacks ${missing.length} of the 256 byte pieces (e.g. ${missing[0]}); llama.cpp's byte fallback needs all of them`);
  return { tokens, scores, types };
}
