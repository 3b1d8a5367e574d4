/**
 * Token embedding: a row gather forward, a scatter-add backward.
 *
 * Shapes: R rows (B·T tokens), V vocab, H hidden.
 *   ids [R]   table [V, H]   out [R, H]
 */
import type { Backend } from "../engine/backend.js";
import type { FloatArray } from "./params.js";

export class TokenOutOfRangeError extends Error {
  constructor(token: number, index: number, vocab: number) {
    super(`token id ${token} at position ${index} is outside the vocabulary [0, ${vocab}): the tokenizer and the model config disagree (check vocab_size)`);
    this.name = "TokenOutOfRangeError";
  }
}

export function embeddingForward(be: Backend, out: FloatArray, table: FloatArray, ids: Int32Array, R: number, H: number, V: number): void {
  for (let r = 0; r < R; r++) if (!(ids[r] >= 0 && ids[r] < V)) throw new TokenOutOfRangeError(ids[r], r, V);
  be.embedding(out, table, ids, R, H);
}

/** dtable[ids[r]] += dout[r] */
export function embeddingBackward(be: Backend, dtable: FloatArray, dout: FloatArray, ids: Int32Array, R: number, H: number): void {
  be.embeddingBackward(dtable, dout, ids, R, H);
}
