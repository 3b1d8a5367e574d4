// A deterministic stand-in for CausalLM: logits are a hash of each row's whole history of valid tokens, so any
// mistake in left padding, positions or keep() changes the continuation. `force` can make it emit chosen tokens.
import assert from "node:assert/strict";
import type { CausalLM, KVCache } from "../../src/model/types.js";
import { ModelConfigSchema, type ModelConfig } from "../../src/model/config.js";

class FakeCache implements KVCache {
  length = 0;
  constructor(public batch: number, readonly maxLen: number, public rows: number[][]) {}
  keep(rows: number[]) {
    assert.ok(rows.every((r, i) => r >= 0 && r < this.batch && (i === 0 || r > rows[i - 1])), `keep(${rows}) must list rows in order`);
    this.rows = rows.map(r => this.rows[r]);
    this.batch = rows.length;
  }
  fork(rows: number[]) {
    assert.ok(rows.length > 0 && rows.every(r => r >= 0 && r < this.batch), `fork(${rows}) names a missing row`);
    this.rows = rows.map(r => [...this.rows[r]]);
    this.batch = rows.length;
  }
  /** Joined rows end at this cache's last slot; a longer source moves this cache's rows right (length grows). */
  join(src: KVCache, rows: number[]) {
    const s = src as FakeCache;
    assert.ok(s instanceof FakeCache && s !== this, "join() takes another cache of this model");
    assert.ok(rows.every(r => r >= 0 && r < s.batch), `join(${rows}) names a missing source row`);
    this.rows.push(...rows.map(r => [...s.rows[r]]));
    this.batch = this.rows.length;
    this.length = Math.max(this.length, s.length);
    assert.ok(this.length <= this.maxLen, `join overflows the cache: ${this.length} > ${this.maxLen}`);
    this.joins.push(rows.length);
  }
  /** Slots in use shrink to the longest row history (leading slots masked in every row go). */
  compact() {
    const keep = Math.max(0, ...this.rows.map(r => r.length)), d = this.length - keep;
    this.length = keep;
    return d;
  }
  /** Rows per join call. */
  readonly joins: number[] = [];
}

export interface FakeOptions { vocab: number; eos?: number | null; maxPos?: number; force?: (history: number[]) => number | null }

export class FakeLM implements CausalLM {
  readonly config: ModelConfig;
  readonly params = [];
  readonly flatParams = new Float32Array(0);
  readonly flatGrads = new Float32Array(0);
  /** Rows fed per decode call, to check that finished rows leave the batch. */
  readonly batchSizes: number[] = [];

  constructor(private readonly o: FakeOptions) {
    this.config = ModelConfigSchema.parse({
      vocab_size: o.vocab, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1,
      intermediate_size: 8, max_position_embeddings: o.maxPos ?? 4096, eos_token_id: o.eos ?? null,
    });
  }

  forward(): never { throw new Error("FakeLM has no training forward"); }
  backward(): never { throw new Error("FakeLM has no backward"); }
  newCache(batch: number, maxLen: number): KVCache {
    return new FakeCache(batch, maxLen, Array.from({ length: batch }, () => []));
  }

  decode(cache: KVCache, tokens: Int32Array, valid: Uint8Array, T: number): Float32Array {
    const c = cache as unknown as FakeCache;
    assert.equal(tokens.length, c.batch * T);
    assert.equal(valid.length, c.batch * T);
    c.length += T;
    assert.ok(c.length <= c.maxLen, `cache overflow: ${c.length} > ${c.maxLen}`);
    this.batchSizes.push(c.batch);
    for (let b = 0; b < c.batch; b++) {
      for (let t = 0; t < T; t++) {
        if (valid[b * T + t]) c.rows[b].push(tokens[b * T + t]);
        else assert.ok(c.rows[b].length === 0, "padding after a real token: prompts must be left-padded");
      }
    }
    const V = this.o.vocab;
    const out = new Float32Array(c.batch * V);
    for (let b = 0; b < c.batch; b++) out.set(this.logitsAfter(c.rows[b]), b * V);
    return out;
  }

  /** The logits this model gives after a history (what a full re-forward would give). */
  logitsAfter(history: number[]): Float32Array {
    const V = this.o.vocab;
    let h = 2166136261;
    for (const t of history) h = Math.imul(h ^ t, 16777619) >>> 0;
    const z = new Float32Array(V);
    for (let v = 0; v < V; v++) z[v] = 3 * (hash01(h, v) - 0.5);
    const f = this.o.force?.(history);
    if (f != null) z[f] += 30;
    return z;
  }
}

function hash01(h: number, v: number): number {
  let x = Math.imul(h ^ Math.imul(v + 1, 0x9e3779b1), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}
