/**
 * Batched KV cache. Every row has the same number of slots (`length`); left padding and finished rows
 * are slots with mask 0, which attention skips and which do not advance the row's position counter.
 *
 * Keys and values are stored in the model's float type (float32), or in BF16 (`dtype: "bfloat16"`: half the cache's
 * memory; rounded to nearest even as they are stored, widened exactly by the attention kernel as it reads them).
 *
 * Shapes: B batch, Smax = maxLen slots, K = nkv·hd, L layers.
 *   k[l], v[l] [B,Smax,K] (k after RoPE)   mask [B,Smax] 1 = valid key   pos [B] next position of each row
 */
import type { KVCache } from "./types.js";
import type { FloatArray, FloatArrayCtor } from "./params.js";
import { f32ToBf16 } from "./io/half.js";

/** How a KV cache stores keys and values (recipe/CLI `kv_cache_dtype`). */
export type KvCacheDtype = "float32" | "bfloat16";
export const KV_CACHE_DTYPES: readonly KvCacheDtype[] = ["float32", "bfloat16"];
/** A layer's keys or values: floats, or BF16 bits (a bfloat16 cache). */
export type KvBuf = FloatArray | Uint16Array;

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

export class BadJoinError extends Error {
  constructor(what: string) {
    super(`join(): ${what}: join rows of a cache made by the same model's newCache`);
    this.name = "BadJoinError";
  }
}

export class KVCacheImpl implements KVCache {
  batch: number;
  length = 0;
  k: KvBuf[];
  v: KvBuf[];
  mask: Uint8Array;
  pos: Int32Array;
  /** Rows there is room for: keep and fork within it move rows in place. */
  private capacity: number;
  private all: FloatArray;

  /**
   * `spare`: the memory of a released cache (see `release`), used when it is large enough; its contents do not matter
   * (a slot is written before the mask lets attention read it). `onRelease` takes the memory back for the next cache.
   */
  constructor(private Ctor: FloatArrayCtor, batch: number, readonly maxLen: number, private layers: number, private K: number,
    spare?: FloatArray | null, private onRelease?: (memory: FloatArray) => void, readonly dtype: KvCacheDtype = "float32") {
    this.batch = this.capacity = batch;
    const need = this.floatsFor(batch);
    this.all = spare && spare.length >= need ? spare : new Ctor(need);
    [this.k, this.v] = this.views();
    this.mask = new Uint8Array(batch * maxLen);
    this.pos = new Int32Array(batch);
  }

  /** Floats of the model's type that hold `rows` rows of every layer's keys and values (half as many for BF16). */
  private floatsFor(rows: number): number {
    const n = 2 * this.layers * rows * this.maxLen * this.K;
    return this.dtype === "bfloat16" ? Math.ceil(n * 2 / this.Ctor.BYTES_PER_ELEMENT) : n;
  }

  /** Bytes the keys and values of the rows there is room for take (what a BF16 cache halves). */
  get bytes(): number {
    return 2 * this.layers * this.capacity * this.maxLen * this.K * (this.dtype === "bfloat16" ? 2 : this.Ctor.BYTES_PER_ELEMENT);
  }

  /** Keys and values of every layer as views of one allocation, freed (or reused) as one block, not as 2L arrays. */
  private views(): [KvBuf[], KvBuf[]] {
    const n = this.capacity * this.maxLen * this.K;
    const mem: KvBuf = this.dtype === "bfloat16" ? new Uint16Array(this.all.buffer, this.all.byteOffset, 2 * this.layers * n) : this.all;
    const at = (first: number) => Array.from({ length: this.layers }, (_, l) => mem.subarray((first + l) * n, (first + l + 1) * n));
    return [at(0), at(this.layers)];
  }

  /** Writes the T new slots of row b from src rows [b*T, b*T+T) of a [B*T, K] buffer (rounded to BF16 in a bfloat16 cache). */
  store(layer: number, kNew: FloatArray, vNew: FloatArray, T: number): void {
    const K = this.K, S = this.maxLen;
    for (let b = 0; b < this.batch; b++) {
      const dst = (b * S + this.length) * K, src = b * T * K, n = T * K;
      for (const [to, from] of [[this.k[layer], kNew], [this.v[layer], vNew]] as const) {
        const part = from.subarray(src, src + n);
        if (!(to instanceof Uint16Array)) to.set(part, dst);
        else f32ToBf16(part instanceof Float32Array ? part : Float32Array.from(part), to.subarray(dst, dst + n));
      }
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

  join(src: KVCache, rows: number[]): void {
    if (!(src instanceof KVCacheImpl) || src.K !== this.K || src.layers !== this.layers || src === this) throw new BadJoinError("the source is not another cache of this model");
    if (src.dtype !== this.dtype) throw new BadJoinError(`the source stores ${src.dtype} keys and values, this cache ${this.dtype}`);
    if (rows.some(r => !Number.isInteger(r) || r < 0 || r >= src.batch)) throw new BadJoinError(`rows ${JSON.stringify(rows)} name a row outside the source's [0, ${src.batch})`);
    const Ls = src.length, S = this.maxLen, K = this.K, n = this.batch + rows.length;
    if (Ls > S) throw new CacheFullError(Ls, S);
    if (Ls > this.length) this.shiftRight(Ls - this.length);
    if (n > this.capacity) this.reserve(n);
    const off = this.length - Ls, Ss = src.maxLen;
    rows.forEach((r, i) => {
      const b = this.batch + i;
      for (let l = 0; l < this.layers; l++) {
        this.k[l].set(src.k[l].subarray(r * Ss * K, (r * Ss + Ls) * K), (b * S + off) * K);
        this.v[l].set(src.v[l].subarray(r * Ss * K, (r * Ss + Ls) * K), (b * S + off) * K);
      }
      this.mask.fill(0, b * S, b * S + off);
      this.mask.set(src.mask.subarray(r * Ss, r * Ss + Ls), b * S + off);
      this.pos[b] = src.pos[r];
    });
    this.batch = n;
  }

  compact(): number {
    const S = this.maxLen, K = this.K;
    let d = this.length;
    for (let b = 0; b < this.batch && d > 0; b++) {
      const first = this.mask.subarray(b * S, b * S + d).indexOf(1);
      if (first >= 0) d = first;
    }
    if (this.batch === 0) d = this.length;
    if (d === 0) return 0;
    const keep = this.length - d;
    for (let b = 0; b < this.batch; b++) {
      for (const a of [...this.k, ...this.v]) a.copyWithin(b * S * K, (b * S + d) * K, (b * S + this.length) * K);
      this.mask.copyWithin(b * S, b * S + d, b * S + this.length);
    }
    this.length = keep;
    return d;
  }

  /** Inserts d masked slots before every row's used slots (needs length + d ≤ maxLen). */
  private shiftRight(d: number): void {
    const S = this.maxLen, K = this.K;
    if (this.length + d > S) throw new CacheFullError(this.length + d, S);
    for (let b = 0; b < this.batch; b++) {
      for (const a of [...this.k, ...this.v]) a.copyWithin((b * S + d) * K, b * S * K, (b * S + this.length) * K);
      this.mask.copyWithin(b * S + d, b * S, b * S + this.length);
      this.mask.fill(0, b * S, b * S + d);
    }
    this.length += d;
  }

  /** Room for n rows: a new allocation holding the current rows. */
  private reserve(n: number): void {
    const old = { all: this.all, k: this.k, v: this.v, mask: this.mask, pos: this.pos };
    const row = this.maxLen * this.K, used = this.length * this.K;
    this.capacity = n;
    this.all = new this.Ctor(this.floatsFor(n));
    [this.k, this.v] = this.views();
    this.mask = new Uint8Array(n * this.maxLen); this.pos = new Int32Array(n);
    this.mask.set(old.mask.subarray(0, this.batch * this.maxLen));
    this.pos.set(old.pos.subarray(0, this.batch));
    for (let b = 0; b < this.batch; b++) {
      old.k.forEach((a, l) => this.k[l].set(a.subarray(b * row, b * row + used), b * row));
      old.v.forEach((a, l) => this.v[l].set(a.subarray(b * row, b * row + used), b * row));
    }
    this.onRelease?.(old.all);
  }

  /** Done with this cache: its memory goes back to the model for the next one. Using the cache afterwards is an error. */
  release(): void {
    const memory = this.all;
    this.all = new this.Ctor(0); this.k = []; this.v = []; this.batch = this.capacity = 0;
    this.onRelease?.(memory);
  }

  /**
   * New row i = old row rows[i] (keys, values, mask, position). Within the capacity, rows that only move up (keep, as
   * decoding drops finished rows) or only down (fork of prompt-major rows: [0, 0, 1, 1, …]) move in place; otherwise
   * the cache is rebuilt in a new allocation. Only the `length` slots in use are copied (a 0.5B-shaped cache of 32 rows ×
   * 384 slots is 75 MB per whole copy).
   */
  private select(rows: number[]): void {
    const S = this.maxLen, row = S * this.K, used = this.length * this.K, n = rows.length;
    const move = (i: number, r: number) => {
      if (r === i) return;
      for (const a of [...this.k, ...this.v]) a.copyWithin(i * row, r * row, r * row + used);
      this.mask.copyWithin(i * S, r * S, (r + 1) * S);
      this.pos[i] = this.pos[r];
    };
    if (rows.every((r, i) => r >= i && (i === 0 || r > rows[i - 1]))) {
      rows.forEach((r, i) => move(i, r)); // sources lie at or after i, read before they are overwritten
      this.batch = n;
      return;
    }
    if (n <= this.capacity && rows.every((r, i) => r <= i && (i === 0 || r >= rows[i - 1]))) {
      for (let i = n - 1; i >= 0; i--) move(i, rows[i]); // sources lie at or before i, read before they are overwritten
      this.batch = n;
      return;
    }
    const old = { all: this.all, k: this.k, v: this.v, mask: this.mask, pos: this.pos };
    this.capacity = n;
    this.all = new this.Ctor(this.floatsFor(n));
    [this.k, this.v] = this.views();
    this.mask = new Uint8Array(n * S); this.pos = new Int32Array(n);
    rows.forEach((r, i) => {
      old.k.forEach((a, l) => (this.k[l] as Uint16Array).set(a.subarray(r * row, r * row + used) as Uint16Array, i * row));
      old.v.forEach((a, l) => (this.v[l] as Uint16Array).set(a.subarray(r * row, r * row + used) as Uint16Array, i * row));
      this.mask.set(old.mask.subarray(r * S, (r + 1) * S), i * S);
      this.pos[i] = old.pos[r];
    });
    this.batch = n;
    this.onRelease?.(old.all); // no longer used here
  }
}
