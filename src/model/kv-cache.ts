/**
 * Batched KV cache. Every row has the same number of slots (`length`); left padding and finished rows
 * are slots with mask 0, which attention skips and which do not advance the row's position counter.
 *
 * Shapes: B batch, Smax = maxLen slots, K = nkv·hd, L layers.
 *   k[l], v[l] [B,Smax,K] (k after RoPE)   mask [B,Smax] 1 = valid key   pos [B] next position of each row
 */
import type { KVCache } from "./types.js";
import type { FloatArray, FloatArrayCtor } from "./params.js";

export class CacheFullError extends Error {
  constructor(need: number, maxLen: number) {
    super(`KV cache holds ${maxLen} slots but ${need} are needed: create it with a larger maxLen (prompt length + max new tokens)`);
    this.name = "CacheFullError";
  }
}

export class BadKeepRowsError extends Error {
  constructor(rows: number[], batch: number) {
    super(`keep(${JSON.stringify(rows)}) names a row outside [0, ${batch}) or repeats one: pass distinct indices of rows still in the batch`);
    this.name = "BadKeepRowsError";
  }
}

export class BadForkRowsError extends Error {
  constructor(rows: number[], batch: number) {
    super(`fork(${JSON.stringify(rows)}) names a row outside [0, ${batch}) or no row at all: pass the source row of every new row`);
    this.name = "BadForkRowsError";
  }
}

export class KVCacheImpl implements KVCache {
  batch: number;
  length = 0;
  k: FloatArray[];
  v: FloatArray[];
  mask: Uint8Array;
  pos: Int32Array;

  constructor(private Ctor: FloatArrayCtor, batch: number, readonly maxLen: number, layers: number, private K: number) {
    this.batch = batch;
    this.k = Array.from({ length: layers }, () => new Ctor(batch * maxLen * K));
    this.v = Array.from({ length: layers }, () => new Ctor(batch * maxLen * K));
    this.mask = new Uint8Array(batch * maxLen);
    this.pos = new Int32Array(batch);
  }

  /** Writes the T new slots of row b from src rows [b*T, b*T+T) of a [B*T, K] buffer. */
  store(layer: number, kNew: FloatArray, vNew: FloatArray, T: number): void {
    const K = this.K, S = this.maxLen;
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * S + this.length) * K, src = b * T * K, n = T * K;
      this.k[layer].set(kNew.subarray(src, src + n), dst);
      this.v[layer].set(vNew.subarray(src, src + n), dst);
    }
  }

  keep(rows: number[]): void {
    if (new Set(rows).size !== rows.length || rows.some(r => !Number.isInteger(r) || r < 0 || r >= this.batch)) throw new BadKeepRowsError(rows, this.batch);
    this.select(rows);
  }

  fork(rows: number[]): void {
    if (rows.length === 0 || rows.some(r => !Number.isInteger(r) || r < 0 || r >= this.batch)) throw new BadForkRowsError(rows, this.batch);
    this.select(rows);
  }

  /**
   * New row i = old row rows[i] (keys, values, mask, position). Only the `length` slots in use are copied. When every
   * rows[i] ≥ i (keep() with ascending rows: finished rows leave), rows move down within the same buffers, in order,
   * so no row is overwritten before it is read: no allocation and no copy of the unused slots (a 0.5B-shaped cache of
   * 32 rows × 384 slots is 75 MB per whole copy).
   */
  private select(rows: number[]): void {
    const S = this.maxLen, K = this.K, row = S * K, used = this.length * K, n = rows.length;
    if (rows.every((r, i) => r >= i) && n <= this.batch) {
      const move = (a: FloatArray) => rows.forEach((r, i) => { if (r !== i) a.copyWithin(i * row, r * row, r * row + used); });
      this.k.forEach(move); this.v.forEach(move);
      rows.forEach((r, i) => { if (r !== i) { this.mask.copyWithin(i * S, r * S, r * S + S); this.pos[i] = this.pos[r]; } });
      this.batch = n;
      return;
    }
    const pick = (a: FloatArray) => {
      const out = new this.Ctor(n * row);
      rows.forEach((r, i) => out.set(a.subarray(r * row, r * row + used), i * row));
      return out;
    };
    this.k = this.k.map(pick);
    this.v = this.v.map(pick);
    const mask = new Uint8Array(n * S), pos = new Int32Array(n);
    rows.forEach((r, i) => { mask.set(this.mask.subarray(r * S, (r + 1) * S), i * S); pos[i] = this.pos[r]; });
    this.mask = mask; this.pos = pos; this.batch = n;
  }
}
