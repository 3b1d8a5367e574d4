/**
 * Continuous batching: the decode loop behind `generate()` and `move37 serve`.
 *
 * Rows (a job's prompts × numReturnSequences) wait in arrival order. Before every step the engine admits waiting
 * rows while the running batch holds fewer than `batchSize`: their distinct prompts are prefilled together in a
 * cache of their own (or taken from a prefill kept for a prompt whose further samples are still waiting), and the
 * prefilled rows join the running cache (`KVCache.join`), aligned on its last slot. Then every row picks its next
 * token (a joined row from its prefill's logits), finished rows leave (`keep`), and one decode step feeds every
 * remaining row. So the batch stays full while rows are waiting, and a short job never waits for a long one.
 *
 * Each row samples from its own seeded stream and sees only its own cache slots, so what a row generates does not
 * depend on which rows share its steps (bit for bit on the reference backend; on the native backend within float
 * rounding, as batching prompts differently already was). Jobs have their own sampling options (temperature,
 * filters, stop strings, EOS ids, maxNewTokens): the server admits any request into the running batch.
 */
import { z } from "zod";
import type { CausalLM, KVCache } from "../model/types.js";
import type { Backend } from "../engine/backend.js";
import type { Tokenizer } from "../tokenizer/types.js";
import { DecodeStream } from "../tokenizer/decode-stream.js";
import { SamplingOptionsSchema, type SamplingOptions, type ResolvedSamplingOptions } from "./options.js";
import { TokenPicker } from "./pick.js";
import { Rng } from "../rng.js";

export type FinishReason = "stop" | "eos" | "length";

export interface Generation {
  /** Which prompt this completes, and which of its numReturnSequences samples it is. */
  prompt: number;
  sample: number;
  /** Generated ids, including the EOS token or the tokens that spelled a stop string. */
  ids: number[];
  /** Completion text: no EOS, cut before a stop string, special tokens skipped unless asked. */
  text: string;
  /** [ids.length] log-probs under log softmax(logits / temperature), see `Picked.logprob`. */
  logprobs: number[];
  finishReason: FinishReason;
}

/**
 * One generated token; `text` is the new printable text (may be "" while UTF-8 or a possible stop string is pending);
 * `logprob` is the token's entry in `Generation.logprobs`.
 */
export interface TokenEvent { prompt: number; sample: number; token: number; logprob: number; text: string; finishReason: FinishReason | null }

export class GenerationError extends Error {
  constructor(message: string) { super(message); this.name = "GenerationError"; }
}

/** Work for the engine: prompts × numReturnSequences rows under one set of sampling options. */
export interface EngineJob {
  prompts: readonly (readonly number[])[];
  options: SamplingOptions;
  onToken?: (e: TokenEvent) => void;
  /** Called once, when the job's last row finishes, with its generations in prompt-major order. */
  done(generations: Generation[]): void;
  /** Called instead of `done` when the engine fails (a model error) while the job is in flight. */
  fail?(e: Error): void;
}

interface Job {
  o: ResolvedSamplingOptions; eos: Set<number>; picker: TokenPicker; maxStop: number;
  rows: Row[]; left: number; spec: EngineJob;
}

interface Row {
  job: Job; prompt: number; sample: number; promptIds: readonly number[]; key: string;
  ids: number[]; logprobs: number[]; text: string; emitted: number;
  finishReason: FinishReason | null; rng: Rng; stream: DecodeStream; seen: Set<number> | null;
}

/** A prefill kept for the samples of a prompt that are still waiting (they fork it when admitted). */
interface Prefix { cache: KVCache; row: number; logits: Float32Array }

/**
 * Tokens fed to the model per prefill call. The model's decode scratch grows to the largest call and stays: 64 prompts
 * of 103 tokens at once (the default run's held-out batch) kept 100 MB of it.
 */
export const PREFILL_CHUNK_TOKENS = 1024;

export interface EngineOptions {
  /** Most rows decoded together (the running cache's rows). */
  batchSize: number;
  /**
   * Spare slots the running cache gets beyond the longest prompt + maxNewTokens of its rows, so that rows joining
   * at its end seldom force a compaction (`KVCache.compact`, a copy of the cache). Default: a quarter of that length,
   * at least 8 (`generate` gives 0 when every row fits the first batch, so nothing joins later).
   */
  slack?: number;
}

export class DecodeEngine {
  private readonly V: number;
  private waiting: Row[] = [];
  private active: Row[] = [];
  private cache: KVCache | null = null;
  /** Rows the running cache was made for. */
  private cacheRows = 0;
  /** [active.length, V]: the logits each active row picks its next token from. */
  private logits = new Float32Array(0);
  private readonly prefixes = new Map<string, Prefix>();
  /** Waiting rows per prompt key (a kept prefill lives while its key has some). */
  private readonly pendingByKey = new Map<string, number>();
  /** Prefixes alive per kept prefill cache (released at 0). */
  private readonly cacheRefs = new Map<KVCache, number>();
  private readonly be: Backend | undefined;
  /** sampleRows' per-row inputs and outputs, grown to the batch. */
  private readonly fast = { tokens: new Int32Array(0), logprobs: new Float32Array(0), temps: new Float32Array(0), u: new Float64Array(0) };
  private readonly sampleVocab: number;
  /** Rows admitted so far and steps run (for tests and metrics). */
  readonly stats = { steps: 0, admissions: 0, prefillRows: 0, forkedRows: 0, compactions: 0, largestBatch: 0 };

  constructor(private readonly model: CausalLM, private readonly tokenizer: Tokenizer, private readonly opts: EngineOptions) {
    this.V = model.config.vocab_size;
    this.be = (model as { backend?: Backend }).backend;
    this.sampleVocab = Math.min(this.V, tokenizer.vocabSize);
  }

  /** Most rows decoded together. */
  get batchSize(): number { return this.opts.batchSize; }
  /** Rows waiting or decoding. */
  get busy(): boolean { return this.waiting.length + this.active.length > 0; }
  /** Rows decoding in the running batch. */
  get running(): number { return this.active.length; }

  /** Validates a job and queues its rows behind the waiting ones; throws GenerationError for a bad job (nothing queued). */
  add(spec: EngineJob): void {
    const parsed = SamplingOptionsSchema.safeParse(spec.options);
    if (!parsed.success) throw new GenerationError(`invalid sampling options: ${z.prettifyError(parsed.error)}`);
    const o = parsed.data, V = this.V, prompts = spec.prompts, model = this.model, tokenizer = this.tokenizer;
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new GenerationError(`prompt ${i} is empty: give at least one token (e.g. the BOS token)`);
      for (const id of p) if (!Number.isInteger(id) || id < 0 || id >= V) throw new GenerationError(`prompt ${i} holds token id ${id}, outside the model's vocabulary of ${V}: use the model's own tokenizer`);
    });
    const longest = Math.max(0, ...prompts.map(p => p.length));
    if (longest + o.maxNewTokens > model.config.max_position_embeddings) {
      throw new GenerationError(`prompt (${longest} tokens) + maxNewTokens (${o.maxNewTokens}) exceeds the model's max_position_embeddings (${model.config.max_position_embeddings}): shorten the prompt or lower maxNewTokens`);
    }
    if (o.seeds && o.seeds.length !== prompts.length) throw new GenerationError(`seeds holds ${o.seeds.length} seeds for ${prompts.length} prompts: give one seed per prompt`);
    if (o.seeds && o.seed !== undefined) throw new GenerationError("both seed and seeds are set: give one seed for the run, or one per prompt");
    const seed = o.seed ?? Math.floor(Math.random() * 2 ** 32);
    const job: Job = {
      o, spec, rows: [], left: 0,
      eos: new Set(o.eosTokenIds ?? [tokenizer.eosId, model.config.eos_token_id].filter((x): x is number => x !== null)),
      picker: new TokenPicker(V, Math.min(V, tokenizer.vocabSize), o, this.be),
      maxStop: Math.max(0, ...o.stop.map(s => s.length)),
    };
    prompts.forEach((promptIds, prompt) => {
      const key = promptIds.join();
      for (let sample = 0; sample < o.numReturnSequences; sample++) {
        job.rows.push({
          job, prompt, sample, promptIds, key, ids: [], logprobs: [], text: "", emitted: 0, finishReason: null,
          rng: o.seeds ? Rng.forStream(o.seeds[prompt], sample) : Rng.forStream(seed, job.rows.length),
          stream: new DecodeStream(tokenizer, { skipSpecialTokens: o.skipSpecialTokens }),
          seen: o.repetitionPenalty !== 1 ? new Set(promptIds) : null,
        });
      }
    });
    job.left = job.rows.length;
    if (job.left === 0) { spec.done([]); return; }
    for (const r of job.rows) this.pendingByKey.set(r.key, (this.pendingByKey.get(r.key) ?? 0) + 1);
    this.waiting.push(...job.rows);
  }

  /** Runs steps until every queued row has finished. */
  drain(): void {
    while (this.busy) this.step();
  }

  /**
   * One step: admit waiting rows into free places of the batch, pick every row's next token (finished rows leave and
   * complete their job), then one decode step over the rows left. On a model error every job in flight fails and
   * the engine is empty again; the error is rethrown.
   */
  step(): void {
    try {
      this.admit();
      this.pickAll();
      if (this.active.length > 0) this.decodeStep();
      else if (this.waiting.length === 0) this.releaseCache();
    } catch (e) {
      this.abort(e as Error);
      throw e;
    }
  }

  /** Fails every job in flight and empties the engine. */
  abort(e: Error): void {
    const jobs = new Set([...this.active, ...this.waiting].map(r => r.job));
    this.active = []; this.waiting = []; this.logits = new Float32Array(0);
    this.pendingByKey.clear();
    for (const p of this.prefixes.values()) this.unref(p.cache);
    this.prefixes.clear();
    this.releaseCache();
    for (const j of jobs) j.spec.fail?.(e);
  }

  private releaseCache() {
    this.cache?.release?.();
    this.cache = null;
    this.cacheRows = 0;
    this.logits = new Float32Array(0);
  }

  private unref(c: KVCache) {
    const n = (this.cacheRefs.get(c) ?? 1) - 1;
    if (n > 0) { this.cacheRefs.set(c, n); return; }
    this.cacheRefs.delete(c);
    c.release?.();
  }

  /** Slots the running cache needs: the longest prompt + maxNewTokens among these rows. */
  private static need(rows: Iterable<Row>): number {
    let n = 0;
    for (const r of rows) n = Math.max(n, r.promptIds.length + r.job.o.maxNewTokens);
    return n;
  }

  private admit(): void {
    const room = this.opts.batchSize - this.active.length;
    if (room <= 0 || this.waiting.length === 0) return;
    const take = this.waiting.splice(0, room), V = this.V;
    this.stats.admissions++;
    for (const r of take) {
      const n = this.pendingByKey.get(r.key)! - 1;
      if (n > 0) this.pendingByKey.set(r.key, n); else this.pendingByKey.delete(r.key);
    }
    this.ensureCache(take);
    // distinct prompts without a kept prefill are prefilled together, once each
    const index = new Map<string, number>(), distinct: (readonly number[])[] = [];
    for (const r of take) {
      if (this.prefixes.has(r.key) || index.has(r.key)) continue;
      index.set(r.key, distinct.length); distinct.push(r.promptIds);
    }
    let fresh: KVCache | null = null, freshLogits: Float32Array | null = null;
    if (distinct.length > 0) {
      const T = Math.max(...distinct.map(p => p.length));
      fresh = this.model.newCache(distinct.length, T);
      const tokens = new Int32Array(distinct.length * T).fill(this.tokenizer.padId ?? 0); // [P, T] left-padded prompts
      const valid = new Uint8Array(distinct.length * T);                                  // [P, T] 0 on padding
      distinct.forEach((p, b) => {
        const off = b * T + T - p.length;
        tokens.set(p, off);
        valid.fill(1, off, (b + 1) * T);
      });
      freshLogits = prefill(this.model, fresh, tokens, valid, distinct.length, T);
      this.stats.prefillRows += distinct.length;
    }
    // join: fresh rows first (in take order), then rows forking kept prefills, grouped by their cache
    const groups = new Map<KVCache, { rows: number[]; joined: Row[]; logits: Float32Array[] }>();
    const group = (c: KVCache) => { let g = groups.get(c); if (!g) groups.set(c, g = { rows: [], joined: [], logits: [] }); return g; };
    for (const r of take) {
      const kept = this.prefixes.get(r.key);
      if (kept) {
        const g = group(kept.cache);
        g.rows.push(kept.row); g.joined.push(r); g.logits.push(kept.logits);
        this.stats.forkedRows++;
      } else {
        const i = index.get(r.key)!, g = group(fresh!);
        g.rows.push(i); g.joined.push(r); g.logits.push(freshLogits!.subarray(i * V, (i + 1) * V));
      }
    }
    const B0 = this.active.length, joined: Row[] = [];
    const sources: Float32Array[] = [];
    for (const [c, g] of groups) {
      this.cache!.join(c, g.rows);
      joined.push(...g.joined); sources.push(...g.logits);
    }
    // the logits buffer grows by the joined rows
    const B = B0 + joined.length;
    if (this.logits.length < B * V) {
      const grown = new Float32Array(Math.max(B, Math.min(this.opts.batchSize, B + this.waiting.length)) * V);
      grown.set(this.logits.subarray(0, B0 * V));
      this.logits = grown;
    }
    sources.forEach((z, i) => this.logits.set(z, (B0 + i) * V));
    this.active.push(...joined);
    this.stats.largestBatch = Math.max(this.stats.largestBatch, B);
    // keep the fresh prefill for prompts whose further samples are still waiting; drop kept ones no longer needed
    if (fresh) {
      for (const [key, i] of index) {
        if (!this.pendingByKey.has(key)) continue;
        this.prefixes.set(key, { cache: fresh, row: i, logits: freshLogits!.slice(i * V, (i + 1) * V) });
        this.cacheRefs.set(fresh, (this.cacheRefs.get(fresh) ?? 0) + 1);
      }
      if (!this.cacheRefs.has(fresh)) fresh.release?.();
    }
    for (const [key, p] of this.prefixes) {
      if (this.pendingByKey.has(key)) continue;
      this.prefixes.delete(key);
      this.unref(p.cache);
    }
  }

  /**
   * Makes the running cache hold the active rows plus `take`: created, or regrown (rows copied into a new one) when a
   * row needs more slots or the rows outgrow the ones it was made for (doubling, up to batchSize).
   */
  private ensureCache(take: Row[]): void {
    const need = DecodeEngine.need([...this.active, ...take]), n = this.active.length + take.length;
    if (this.cache && this.cache.maxLen >= need && this.cacheRows >= n) return;
    const slack = this.opts.slack ?? Math.max(8, Math.ceil(need / 4));
    const rows = Math.min(this.opts.batchSize, Math.max(n + this.waiting.length, 2 * this.cacheRows));
    const maxLen = Math.max(need + slack, this.cache?.maxLen ?? 0);
    const c = this.model.newCache(rows, maxLen);
    c.keep([]);
    this.cacheRows = rows;
    if (this.cache) {
      c.join(this.cache, this.active.map((_, i) => i));
      this.cache.release?.();
    }
    this.cache = c;
  }

  private pickAll(): void {
    const V = this.V, B = this.active.length, logits = this.logits;
    if (B === 0) return;
    // rows whose options allow it (greedy, or a plain draw at T) pick in one backend pass over the step's rows
    // (native: vectorised, threaded), the same pass TokenPicker makes for one row; the others pick in JS
    const be = this.be?.sampleRows && this.active.some(r => r.job.picker.fast) ? this.be : undefined;
    if (be) {
      const f = this.fast;
      if (f.tokens.length < B) Object.assign(f, { tokens: new Int32Array(B), logprobs: new Float32Array(B), temps: new Float32Array(B), u: new Float64Array(B) });
      this.active.forEach((r, b) => {
        const T = r.job.o.temperature;
        f.temps[b] = r.job.picker.fast ? T : NaN;
        f.u[b] = r.job.picker.fast && T > 0 ? r.rng.nextFloat() : 0;
      });
      be.sampleRows!(f.tokens, f.logprobs, logits, f.temps, f.u, B, V, this.sampleVocab);
    }
    const keep: number[] = [];
    this.active.forEach((r, b) => {
      const j = r.job, o = j.o;
      const { token, logprob } = be && j.picker.fast ? { token: this.fast.tokens[b], logprob: this.fast.logprobs[b] }
        : j.picker.pick(logits.subarray(b * V, (b + 1) * V), r.seen, r.rng);
      r.ids.push(token);
      r.logprobs.push(logprob);
      r.seen?.add(token);
      advance(r, token, o, j.eos, j.maxStop);
      if (j.spec.onToken) {
        const safe = r.finishReason ? r.text.length : Math.max(r.emitted, r.text.length - Math.max(0, j.maxStop - 1));
        j.spec.onToken({ prompt: r.prompt, sample: r.sample, token, logprob, text: r.text.slice(r.emitted, safe), finishReason: r.finishReason });
        r.emitted = safe;
      }
      if (!r.finishReason) keep.push(b);
      else if (--j.left === 0) {
        j.spec.done(j.rows.map(({ prompt, sample, ids, text, logprobs, finishReason }) => ({ prompt, sample, ids, text, logprobs, finishReason: finishReason! })));
      }
    });
    if (keep.length < B) {
      this.cache!.keep(keep);
      this.active = keep.map(b => this.active[b]);
    }
  }

  private decodeStep(): void {
    const cache = this.cache!, B = this.active.length;
    if (cache.length + 1 > cache.maxLen) { cache.compact(); this.stats.compactions++; }
    const next = Int32Array.from(this.active, r => r.ids[r.ids.length - 1]);
    // the step's logits land in the engine's buffer (no B·V allocation a step) unless the model returns its own
    const z = this.model.decode(cache, next, new Uint8Array(B).fill(1), 1, this.logits);
    if (z.buffer !== this.logits.buffer) this.logits.set(z.subarray(0, B * this.V));
    this.stats.steps++;
  }
}

/** Feeds [P, T] left-padded prompts into the cache in column chunks of at most PREFILL_CHUNK_TOKENS tokens. */
function prefill(model: CausalLM, cache: KVCache, tokens: Int32Array, valid: Uint8Array, P: number, T: number): Float32Array {
  const step = Math.max(1, Math.floor(PREFILL_CHUNK_TOKENS / P));
  if (step >= T) return model.decode(cache, tokens, valid, T);
  let logits: Float32Array | null = null;
  for (let t0 = 0; t0 < T; t0 += step) {
    const n = Math.min(step, T - t0), tk = new Int32Array(P * n), ok = new Uint8Array(P * n);
    for (let b = 0; b < P; b++) {
      tk.set(tokens.subarray(b * T + t0, b * T + t0 + n), b * n);
      ok.set(valid.subarray(b * T + t0, b * T + t0 + n), b * n);
    }
    logits = model.decode(cache, tk, ok, n); // the last chunk ends at every prompt's last token
  }
  return logits!;
}

/** Appends a token's text and decides whether the row is done. */
function advance(r: Row, token: number, o: ResolvedSamplingOptions, eos: Set<number>, maxStop: number) {
  if (eos.has(token)) {
    r.finishReason = "eos";
    appendText(r, r.stream.flush(), o.stop, maxStop);
    return;
  }
  appendText(r, r.stream.push(token), o.stop, maxStop);
  if (!r.finishReason && r.ids.length >= o.maxNewTokens) {
    r.finishReason = "length";
    appendText(r, r.stream.flush(), o.stop, maxStop);
  }
}

/** Adds text and cuts it before the earliest stop string; only the tail that the new text can complete is searched. */
function appendText(r: Row, delta: string, stop: readonly string[], maxStop: number) {
  if (!delta) return;
  const from = Math.max(0, r.text.length - maxStop + 1);
  r.text += delta;
  let cut = -1;
  for (const s of stop) {
    const i = r.text.indexOf(s, from);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  if (cut >= 0) {
    r.text = r.text.slice(0, cut);
    r.finishReason = "stop";
  }
}
