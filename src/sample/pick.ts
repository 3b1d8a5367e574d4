import type { Rng } from "../rng.js";
import type { Backend } from "../engine/backend.js";

export interface PickParams {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
}

export interface Picked {
  token: number;
  /**
   * log softmax(logits / temperature)[token] of the model's raw logits: before the repetition penalty and the
   * top-k/top-p/min-p filters, as TRL computes old-policy log-probs and vLLM reports them by default, so a trainer's
   * forward at the same temperature reproduces it. Temperature 0 (greedy) uses temperature 1.
   */
  logprob: number;
}

/**
 * Chooses one token from one row of logits. Scratch buffers are reused across calls, so a picker serves one
 * generation loop. Only ids below `sampleVocab` can be chosen (the model's vocab may pad past the tokenizer's).
 */
export class TokenPicker {
  private readonly w: Float32Array;        // [V] unnormalized probabilities exp((z − max) / T)
  private readonly penalized: Float32Array; // [V] logits after the repetition penalty
  private readonly bits: Uint32Array;       // [V] w's bit patterns
  private cand: Int32Array;                 // candidate ids, sorted by probability when filtering
  private keys = new Float64Array(0);       // sort keys for cand

  /**
   * True when a backend's `sampleRows` pass can pick for these options: greedy or a plain draw at temperature T
   * (no repetition penalty, no top-k/top-p/min-p filter). The filters' ranking stays in JS.
   */
  readonly fast: boolean;
  private readonly one = { tokens: new Int32Array(1), logprobs: new Float32Array(1), temps: new Float32Array(1), u: new Float64Array(1) };

  /**
   * `backend`: when it has `sampleRows` and the options allow (`fast`), picks go through it (one vectorised pass per
   * row, as `generate` batches them over a step's rows); otherwise, and for the filters, the JS code below.
   */
  constructor(private readonly vocab: number, private readonly sampleVocab: number, private readonly p: PickParams, private readonly backend?: Backend) {
    this.fast = p.repetitionPenalty === 1 && (p.temperature === 0 || ((p.topK === 0 || p.topK >= sampleVocab) && p.topP >= 1 && p.minP === 0));
    this.w = new Float32Array(vocab);
    this.bits = new Uint32Array(this.w.buffer);
    this.penalized = p.repetitionPenalty !== 1 ? new Float32Array(vocab) : new Float32Array(0);
    this.cand = new Int32Array(Math.min(sampleVocab, 1024));
  }

  /**
   * `seen`: ids the repetition penalty applies to (prompt and completion so far); ignored when the penalty is 1.
   * `rowLse`: log Σ exp(logits) over the whole row, when the caller has it (a batched native pass over all rows of a
   * step); used by greedy picking only, which otherwise spends most of its time on that sum.
   */
  pick(logits: Float32Array, seen: Iterable<number> | null, rng: Rng, rowLse?: number): Picked {
    const { temperature, repetitionPenalty } = this.p;
    if (this.fast && this.backend?.sampleRows) {
      const o = this.one;
      o.temps[0] = temperature;
      o.u[0] = temperature > 0 ? rng.nextFloat() : 0;
      this.backend.sampleRows(o.tokens, o.logprobs, logits, o.temps, o.u, 1, this.vocab, this.sampleVocab);
      return { token: o.tokens[0], logprob: o.logprobs[0] };
    }
    let z = logits;
    if (repetitionPenalty !== 1 && seen) {
      z = this.penalized;
      z.set(logits);
      for (const id of seen) z[id] = z[id] > 0 ? z[id] / repetitionPenalty : z[id] * repetitionPenalty;
    }
    if (temperature === 0) {
      const token = argmax(z, this.sampleVocab);
      // Unpenalized over the full vocab, the argmax is the max logSumExp needs: skip its max pass.
      const max = z === logits && this.sampleVocab === this.vocab ? logits[token] : undefined;
      return { token, logprob: logits[token] - (rowLse ?? logSumExp(logits, this.vocab, 1, max)) };
    }
    const { max, total } = this.weigh(z);
    // Unpenalized over the full vocab, the sampling weights already give the normalizer: skip a second exp pass.
    const lse = z === logits && this.sampleVocab === this.vocab ? max / temperature + Math.log(total) : logSumExp(logits, this.vocab, temperature);
    const token = this.sample(total, rng);
    return { token, logprob: logits[token] / temperature - lse };
  }

  /** w[i] = exp((z[i] − max) / T) over the sampleable ids; returns max and Σ w. */
  private weigh(z: Float32Array) {
    const T = this.p.temperature, Vs = this.sampleVocab, w = this.w;
    let max = -Infinity;
    for (let i = 0; i < Vs; i++) if (z[i] > max) max = z[i];
    let total = 0;
    for (let i = 0; i < Vs; i++) { const e = Math.exp((z[i] - max) / T); w[i] = e; total += e; }
    return { max, total };
  }

  private sample(total: number, rng: Rng): number {
    const { topK, topP, minP } = this.p;
    const Vs = this.sampleVocab, w = this.w;
    const floor = minP; // weights are relative to the most likely token's, which is exp(0) = 1
    const k = topK > 0 && topK < Vs ? topK : 0;
    if (k === 0 && topP >= 1) {
      // No ranking needed: walk the ids whose weight passes min-p.
      let kept = 0;
      for (let i = 0; i < Vs; i++) if (w[i] >= floor) kept += w[i];
      let u = rng.nextFloat() * kept, last = 0;
      for (let i = 0; i < Vs; i++) if (w[i] >= floor) { last = i; u -= w[i]; if (u < 0) return i; }
      return last;
    }
    const n = this.ranked(k, topP, total, floor);
    // The kept set is a prefix of the ranking: cut by top-k, then top-p on the top-k mass, then min-p.
    let end = k > 0 ? Math.min(n, k) : n;
    let massK = 0;
    for (let i = 0; i < end; i++) massK += w[this.cand[i]];
    if (topP < 1) {
      let cum = 0, j = 0;
      while (j < end) { cum += w[this.cand[j]]; j++; if (cum >= topP * massK) break; }
      end = j;
    }
    while (end > 1 && w[this.cand[end - 1]] < floor) end--;
    let kept = 0;
    for (let i = 0; i < end; i++) kept += w[this.cand[i]];
    let u = rng.nextFloat() * kept;
    for (let i = 0; i < end; i++) { u -= w[this.cand[i]]; if (u < 0) return this.cand[i]; }
    return this.cand[end - 1];
  }

  /**
   * Fills cand with the ids top-k / top-p can keep, most likely first, and returns their number. Top-k: a min-heap
   * of the k heaviest ids (one pass). Top-p alone: the ids of weight ≥ c, lowering c until their mass provably
   * reaches topP (or c reaches the min-p floor), so only the head of a 150k vocabulary is ever sorted.
   */
  private ranked(k: number, topP: number, total: number, floor: number): number {
    const Vs = this.sampleVocab, w = this.w;
    if (k > 0) {
      if (this.cand.length < k) this.cand = new Int32Array(k);
      const h = this.cand;
      let n = 0;
      for (let i = 0; i < Vs; i++) {
        const x = w[i];
        if (x < floor) continue;
        if (n < k) {
          let j = n++;
          while (j > 0) { const p = (j - 1) >> 1; if (w[h[p]] <= x) break; h[j] = h[p]; j = p; }
          h[j] = i;
        } else if (x > w[h[0]]) {
          let j = 0;
          for (;;) {
            let c = 2 * j + 1;
            if (c >= n) break;
            if (c + 1 < n && w[h[c + 1]] < w[h[c]]) c++;
            if (w[h[c]] >= x) break;
            h[j] = h[c]; j = c;
          }
          h[j] = i;
        }
      }
      this.sortDesc(n);
      return n;
    }
    for (let c = Math.max(floor, 1e-4); ; c = c > floor && c > 1e-30 ? Math.max(floor, c * 1e-4) : 0) {
      let n = 0, mass = 0;
      for (let i = 0; i < Vs; i++) {
        if (w[i] >= c) {
          if (n === this.cand.length) { const g = new Int32Array(Math.min(Vs, 2 * n)); g.set(this.cand); this.cand = g; }
          this.cand[n++] = i; mass += w[i];
        }
      }
      if (c === 0 || c <= floor || mass >= topP * total) { this.sortDesc(n); return n; }
    }
  }

  /**
   * Sorts cand[0..n) by weight, heaviest first. Positive float32 weights order like their bit patterns, so
   * (bits · 2^18 + id) is an exact float64 key and the native numeric sort replaces a comparator callback.
   */
  private sortDesc(n: number) {
    const ids = this.cand.subarray(0, n), w = this.w;
    if (this.sampleVocab > 262144) { ids.sort((a, b) => w[b] - w[a] || a - b); return; }
    if (this.keys.length < n) this.keys = new Float64Array(Math.max(n, 2 * this.keys.length));
    const keys = this.keys.subarray(0, n);
    for (let i = 0; i < n; i++) keys[i] = this.bits[ids[i]] * 262144 + ids[i];
    keys.sort();
    for (let i = 0; i < n; i++) ids[i] = keys[n - 1 - i] % 262144;
  }
}

function logSumExp(z: Float32Array, n: number, T: number, knownMax?: number): number {
  let max = knownMax ?? -Infinity;
  if (knownMax === undefined) for (let i = 0; i < n; i++) if (z[i] > max) max = z[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp((z[i] - max) / T);
  return max / T + Math.log(sum);
}

function argmax(z: Float32Array, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (z[i] > z[best]) best = i;
  return best;
}
