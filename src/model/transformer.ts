/**
 * Decoder-only transformer of the Llama / Qwen2 / Qwen3 / Gemma 3 / SmolLM3 families: embedding (× √H on Gemma) →
 * L × (attention block, MLP block) → RMSNorm → LM head (soft-capped on Gemma when set) with chunked log-softmax.
 * Explicit forward and backward; activations are allocated once (grown when a larger B·T arrives) and reused.
 * Family traits are per-layer data (attention.ts, mlp.ts): q/k norms, RoPE table or none (NoPE), sliding window,
 * post-norms; Gemma's (1 + w) RMSNorm weights are applied as an effective weight 1 + w refreshed before each pass,
 * whose gradient is the gradient of w.
 *
 * Shapes: B batch, T tokens per row, R = B·T, H hidden, V vocab, I intermediate, L layers,
 * nh / nkv query / kv heads, hd head dim, Q = nh·hd, K = nkv·hd.
 *   tokens, targets, pos [R]   mask, segments [B,T]   res[l] [R,H] residual stream entering layer l (res[L] leaves the last)
 *   per layer: rstd1, rstd2 [R]   q [R,Q]   k, v [R,K]   att [R,Q]   lse [B,nh,T]   mid [R,H]   gate, up [R,I]
 *     q/k norms: qRaw [R,Q], kRaw [R,K], rstdQ [R·nh], rstdK [R·nkv]   Gemma post-norms: oA, oM [R,H], rstdA, rstdM [R]
 *   rstdF [R]   xf [R,H]   logp, entropy, headLse [R]
 */
import type { Backend } from "../engine/backend.js";
import type { ModelConfig } from "./config.js";
import { ModelConfigSchema, attnScale, hasQkNorm, headDim, hiddenAct, isGemma, layerRope, layerUsesRope, layerWindow } from "./config.js";
import type { CausalLM, KVCache } from "./types.js";
import { FrozenWeightsError, allocParams, bf16Eligible, getParam, numel, paramSpecs, type FloatArray, type FloatArrayCtor, type ParamSpec, type ParamStore, type ParamView, type Weight } from "./params.js";
import { TokenOutOfRangeError } from "./embedding.js";
import { f32ToBf16 } from "./io/half.js";
import { initParams } from "./init.js";
import { embeddingBackward, embeddingForward } from "./embedding.js";
import { RopeTables, attendForward, attentionBackward, qkvForward, type AttentionDims, type AttentionWeights, type LayerAttention, type PostNormSaved, type QkNormSaved } from "./attention.js";
import { mlpBackward, mlpForward, type MlpDims, type MlpWeights } from "./mlp.js";
import { headChunkRows, lmHeadBackward, lmHeadForward, softcapLogits } from "./lm-head.js";
import type { LoraAdapters } from "./lora.js";
import { CacheFullError, KVCacheImpl, type KvCacheDtype } from "./kv-cache.js";

export class BackwardBeforeForwardError extends Error {
  constructor() {
    super("backward() was called before forward(): run forward on the batch first (backward uses its saved activations)");
    this.name = "BackwardBeforeForwardError";
  }
}

export class BackwardMismatchError extends Error {
  constructor(called: string, lastForward: string, itsBackward: string) {
    super(`${called}() does not match the last forward, ${lastForward}(): call ${itsBackward}() after ${lastForward}()`);
    this.name = "BackwardMismatchError";
  }
}

export class BatchShapeError extends Error {
  constructor(what: string, got: number, want: number) {
    super(`${what} has ${got} elements but B·T = ${want}: pass flat [B*T] arrays matching B and T`);
    this.name = "BatchShapeError";
  }
}

export class ForeignCacheError extends Error {
  constructor() {
    super("decode() was given a KV cache this model did not create: make caches with model.newCache(batch, maxLen)");
    this.name = "ForeignCacheError";
  }
}

interface Layer { attn: AttentionWeights; attnGrad: AttentionWeights; mlp: MlpWeights; mlpGrad: MlpWeights; spec: LayerAttention }

/** What the model has beyond Llama: q/k norms and Gemma's post-norms decide which buffers exist. */
interface Traits { qkNorm: boolean; postNorm: boolean }

/**
 * Saved activations and backward scratch for up to `rows` rows: views into one allocation (llm.c allocates all
 * activations at once), so a set of buffers that is outgrown is freed as one block and returned to the system,
 * instead of as dozens of arrays that leave the allocator's heap fragmented.
 */
class TrainBuffers {
  res!: FloatArray[]; rstd1!: FloatArray[]; rstd2!: FloatArray[]; q!: FloatArray[]; k!: FloatArray[]; v!: FloatArray[]; att!: FloatArray[]; lse!: FloatArray[]; mid!: FloatArray[];
  gate!: FloatArray[]; up!: FloatArray[];
  rstdF!: FloatArray; xf!: FloatArray; logp!: FloatArray; entropy!: FloatArray; headLse!: FloatArray; dlogp!: FloatArray; dentropy!: FloatArray;
  ln!: FloatArray; rstd!: FloatArray; dln!: FloatArray; dres!: FloatArray; h!: FloatArray; dh!: FloatArray; dgate!: FloatArray; dup!: FloatArray;
  datt!: FloatArray; dq!: FloatArray; dk!: FloatArray; dv!: FloatArray; chunk!: FloatArray;
  tokens: Int32Array; targets: Int32Array; pos: Int32Array; mask: Uint8Array; segments: Int32Array;
  qk!: QkNormSaved[] | null; postA!: PostNormSaved[] | null; postM!: PostNormSaved[] | null; dO!: FloatArray; dqRaw!: FloatArray; dkRaw!: FloatArray;
  readonly chunkRows: number;
  /** The allocation every float buffer is a view of. */
  readonly memory: FloatArray;

  /** Floats the buffers for `rows` rows take. */
  static size(rows: number, c: ModelConfig): number {
    let total = 0;
    TrainBuffers.carve({} as TrainBuffers, rows, c, n => { total += n; return EMPTY; });
    return total;
  }

  private static carve(t: TrainBuffers, R: number, c: ModelConfig, take: (n: number) => FloatArray): void {
    const H = c.hidden_size, I = c.intermediate_size, hd = headDim(c), L = c.num_hidden_layers;
    const Q = c.num_attention_heads * hd, K = c.num_key_value_heads * hd;
    const perLayer = (n: number) => Array.from({ length: L }, () => take(n));
    t.res = Array.from({ length: L + 1 }, () => take(R * H));
    t.rstd1 = perLayer(R); t.rstd2 = perLayer(R); t.q = perLayer(R * Q); t.k = perLayer(R * K); t.v = perLayer(R * K);
    t.att = perLayer(R * Q); t.lse = perLayer(R * c.num_attention_heads); t.mid = perLayer(R * H); t.gate = perLayer(R * I); t.up = perLayer(R * I);
    t.rstdF = take(R); t.xf = take(R * H); t.logp = take(R); t.entropy = take(R); t.headLse = take(R); t.dlogp = take(R); t.dentropy = take(R);
    t.ln = take(R * H); t.rstd = take(R); t.dln = take(R * H); t.dres = take(R * H);
    t.h = take(R * I); t.dh = take(R * I); t.dgate = take(R * I); t.dup = take(R * I);
    t.datt = take(R * Q); t.dq = take(R * Q); t.dk = take(R * K); t.dv = take(R * K);
    t.chunk = take(headChunkRows(c.vocab_size, R) * c.vocab_size);
    // q/k norms keep the projections before the norm; Gemma's post-norms keep the branch output before its norm.
    const qkNorm = hasQkNorm(c), postNorm = isGemma(c);
    t.qk = qkNorm ? Array.from({ length: L }, () => ({ qRaw: take(R * Q), kRaw: take(R * K), rstdQ: take(R * c.num_attention_heads), rstdK: take(R * c.num_key_value_heads) })) : null;
    const tmp = take(postNorm ? R * H : 0);
    const post = () => Array.from({ length: L }, () => ({ o: take(R * H), rstdO: take(R), tmp }));
    t.postA = postNorm ? post() : null; t.postM = postNorm ? post() : null;
    t.dO = take(postNorm ? R * H : 0); t.dqRaw = take(qkNorm ? R * Q : 0); t.dkRaw = take(qkNorm ? R * K : 0);
  }

  /** `memory`: carve from it when it is large enough (its contents are overwritten), else allocate. */
  constructor(F: FloatArrayCtor, readonly rows: number, c: ModelConfig, memory?: FloatArray | null) {
    const need = TrainBuffers.size(rows, c);
    this.memory = memory && memory.length >= need ? memory : new F(need);
    let at = 0;
    TrainBuffers.carve(this, rows, c, n => this.memory.subarray(at, (at += n)));
    this.chunkRows = headChunkRows(c.vocab_size, rows);
    const R = rows;
    this.tokens = new Int32Array(R); this.targets = new Int32Array(R); this.pos = new Int32Array(R); this.mask = new Uint8Array(R);
    this.segments = new Int32Array(R);
  }
}

const EMPTY = new Float32Array(0);

/** Scratch for decoding up to `rows` rows (no activations are kept). */
class DecodeBuffers {
  x: FloatArray; x2: FloatArray; ln: FloatArray; rstd: FloatArray; q: FloatArray; k: FloatArray; v: FloatArray; att: FloatArray; lse: FloatArray;
  gate: FloatArray; up: FloatArray; h: FloatArray; pos: Int32Array; qk: QkNormSaved | null; post: PostNormSaved | null;
  constructor(F: FloatArrayCtor, readonly rows: number, c: ModelConfig, t: Traits) {
    const H = c.hidden_size, I = c.intermediate_size, hd = headDim(c), R = rows;
    const Q = c.num_attention_heads * hd, K = c.num_key_value_heads * hd;
    this.x = new F(R * H); this.x2 = new F(R * H); this.ln = new F(R * H); this.rstd = new F(R);
    this.q = new F(R * Q); this.k = new F(R * K); this.v = new F(R * K); this.att = new F(R * Q); this.lse = new F(R * c.num_attention_heads);
    this.gate = new F(R * I); this.up = new F(R * I); this.h = new F(R * I); this.pos = new Int32Array(R);
    this.qk = t.qkNorm ? { qRaw: new F(R * Q), kRaw: new F(R * K), rstdQ: new F(R * c.num_attention_heads), rstdK: new F(R * c.num_key_value_heads) } : null;
    this.post = t.postNorm ? { o: new F(R * H), rstdO: new F(R), tmp: new F(R * H) } : null;
  }
}

export class Transformer<F extends FloatArray> {
  readonly config: ModelConfig;
  readonly params: ParamView<F>[];
  readonly flatParams: F;
  readonly flatGrads: F;
  private store: ParamStore<F>;
  private layers: Layer[];
  private attnDims: AttentionDims;
  private mlpDims: MlpDims;
  /** Distinct RoPE tables (a Gemma 3 model has a local and a global one). */
  private ropes: RopeTables[];
  private traits: Traits;
  /** Gemma: (param, effective weight 1 + w) pairs, refreshed before each pass. */
  private shifted: { w: F; eff: F }[] = [];
  /** √H on Gemma (as float32, as transformers casts it to the weight dtype), else 1. */
  private embedScale: number;
  /** The final norm's weight as applied (1 + w on Gemma). */
  private finalNorm: F;
  /** Gemma's final_logit_softcapping (0 = none). */
  private softcap: number;
  private train: TrainBuffers | null = null;
  private infer: DecodeBuffers | null = null;
  /**
   * Memory the training activations and the KV cache take turns in (a GRPO step samples, then trains, never both at
   * once): the train buffers are carved from it, and a new cache takes it over (the activations are then gone: backward
   * needs a forward first) until the cache is released. `workLent`: a live cache holds it.
   */
  private work: F | FloatArray | null = null;
  private workLent = false;
  private last: { B: number; T: number; temperature: number; head: boolean } | null = null;
  /** The last training forward's segment ids (a view of train.segments), null when it packed nothing. */
  private segments: Int32Array | null = null;
  /** "bfloat16": every Linear weight, the LM head and the embedding table are frozen BF16 (bf16Params), not in flatParams. */
  readonly weightsDtype: "float32" | "bfloat16";
  /** The BF16 weights (HF names and shapes), empty for a float32 model. */
  readonly bf16Params: { name: string; shape: number[]; data: Uint16Array }[] = [];
  private bf16 = new Map<string, Uint16Array>();
  /**
   * How caches made from now on store keys and values: float32 (default) or bfloat16 (half the cache's memory; attention
   * widens as it reads). Set by createModel's `kvCache` option or by setKvCacheDtype.
   */
  kvCacheDtype: KvCacheDtype;
  /** LoRA adapters (attachLora): the base is frozen and gets no gradient. */
  private lora: LoraAdapters<F> | null = null;

  /**
   * seed null: parameters start at 0 and are not initialised, for callers that overwrite every one (loadPretrained).
   * `extraParams` are allocated after the model's own in the same flat buffer (and initialised by name like them).
   */
  constructor(config: ModelConfig, readonly backend: Backend, seed: number | null, private F: FloatArrayCtor & { new(n: number): F },
    extraParams: readonly ParamSpec[] = [], options: ModelOptions = {}) {
    this.config = ModelConfigSchema.parse(config);
    const c = this.config;
    const gemma = isGemma(c);
    this.traits = { qkNorm: hasQkNorm(c), postNorm: gemma };
    this.embedScale = gemma ? Math.fround(Math.sqrt(c.hidden_size)) : 1;
    this.weightsDtype = options.weights ?? "float32";
    this.kvCacheDtype = options.kvCache ?? "float32";
    const frozen = this.weightsDtype === "bfloat16";
    this.store = allocParams(c, F, extraParams, frozen ? n => !bf16Eligible(n) : undefined);
    if (frozen) {
      for (const s of paramSpecs(c)) if (bf16Eligible(s.name)) {
        const data = new Uint16Array(numel(s.shape));
        this.bf16Params.push({ name: s.name, shape: s.shape, data });
        this.bf16.set(s.name, data);
      }
    }
    if (seed !== null && !frozen) initParams(this.store, c.num_hidden_layers, seed, 0.02, gemma ? 0 : 1);
    else if (seed !== null) { // the float32 model's initial weights, rounded
      const full = allocParams(c, Float32Array, extraParams);
      initParams(full, c.num_hidden_layers, seed, 0.02, gemma ? 0 : 1);
      for (const v of full.views) {
        const b = this.bf16.get(v.name);
        if (b) f32ToBf16(v.data, b); else getParam(this.store, v.name).data.set(v.data);
      }
    }
    this.params = this.store.views; this.flatParams = this.store.flat; this.flatGrads = this.store.grads;
    const noGrad = new Uint16Array(0);
    const grad = (n: string) => getParam(this.store, n).grad;
    const wgrad = (n: string): Weight => this.bf16.has(n) ? noGrad : grad(n);
    const weight = (n: string): Weight => this.bf16.get(n) ?? getParam(this.store, n).data;
    // Norm weights as applied: Gemma's 1 + w lives in a buffer of its own; everything else is the parameter itself.
    const data = (n: string) => {
      const w = getParam(this.store, n).data;
      if (!gemma || !/norm\.weight$/.test(n)) return w;
      const eff = new F(w.length) as F;
      this.shifted.push({ w, eff });
      return eff;
    };
    const orNull = (ok: boolean, n: string, f: (n: string) => F) => ok ? f(n) : null;
    const qk = this.traits.qkNorm;
    const attn = (p: string, f: (n: string) => F, w: (n: string) => Weight): AttentionWeights => ({
      ln: f(p + "input_layernorm.weight"),
      wq: w(p + "self_attn.q_proj.weight"), bq: orNull(c.attention_bias, p + "self_attn.q_proj.bias", f),
      wk: w(p + "self_attn.k_proj.weight"), bk: orNull(c.attention_bias, p + "self_attn.k_proj.bias", f),
      wv: w(p + "self_attn.v_proj.weight"), bv: orNull(c.attention_bias, p + "self_attn.v_proj.bias", f),
      wo: w(p + "self_attn.o_proj.weight"),
      qn: orNull(qk, p + "self_attn.q_norm.weight", f), kn: orNull(qk, p + "self_attn.k_norm.weight", f),
      post: orNull(gemma, p + "post_attention_layernorm.weight", f),
    });
    const mlp = (p: string, f: (n: string) => F, w: (n: string) => Weight): MlpWeights => ({
      ln: f(p + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")),
      wg: w(p + "mlp.gate_proj.weight"), wu: w(p + "mlp.up_proj.weight"), wd: w(p + "mlp.down_proj.weight"),
      post: orNull(gemma, p + "post_feedforward_layernorm.weight", f),
    });
    const hd = headDim(c), tables = new Map<string, RopeTables>();
    this.layers = Array.from({ length: c.num_hidden_layers }, (_, l) => {
      const p = `model.layers.${l}.`;
      let rope: RopeTables | null = null;
      if (layerUsesRope(c, l)) {
        const { theta, scaling } = layerRope(c, l), key = JSON.stringify([theta, scaling]);
        if (!tables.has(key)) tables.set(key, new RopeTables(F, hd, theta, c.max_position_embeddings, scaling));
        rope = tables.get(key)!;
      }
      return { attn: attn(p, data, weight), attnGrad: attn(p, grad, wgrad), mlp: mlp(p, data, weight), mlpGrad: mlp(p, grad, wgrad), spec: { rope, window: layerWindow(c, l) } };
    });
    this.finalNorm = data("model.norm.weight");
    this.ropes = [...tables.values()];
    this.attnDims = { H: c.hidden_size, nh: c.num_attention_heads, nkv: c.num_key_value_heads, hd, eps: c.rms_norm_eps, scale: attnScale(c), softcap: c.attn_logit_softcapping ?? 0 };
    this.mlpDims = { H: c.hidden_size, I: c.intermediate_size, eps: c.rms_norm_eps, gelu: hiddenAct(c) === "gelu_pytorch_tanh" };
    this.softcap = c.final_logit_softcapping ?? 0;
  }

  /**
   * Puts LoRA adapters (src/model/lora.ts, made for this config) on the projections; from then on the base is frozen:
   * backward skips every base weight's gradient and only the adapters' grads accumulate.
   */
  attachLora(adapters: LoraAdapters<F>): void {
    if (adapters.layers.length !== this.layers.length) throw new RangeError(`LoRA adapters for ${adapters.layers.length} layers do not fit this ${this.layers.length}-layer model: make them from the same config`);
    this.lora = adapters;
    this.layers.forEach((layer, l) => { layer.attn.lora = adapters.layers[l]; layer.mlp.lora = adapters.layers[l]; });
  }

  /** Gemma: effective norm weights 1 + w from the current parameters. */
  private refreshNorms(): void {
    for (const { w, eff } of this.shifted) for (let i = 0; i < w.length; i++) eff[i] = 1 + w[i];
  }

  private ensureRope(n: number): void {
    for (const r of this.ropes) r.ensure(n);
    if (n > this.config.max_position_embeddings) this.rope0.ensure(n); // a NoPE-only model still refuses positions past the limit
  }
  /** Any table, for the position limit check of a model whose layers all skip RoPE. */
  private get rope0(): RopeTables {
    return this.ropes[0] ?? new RopeTables(this.F, 2, 10000, this.config.max_position_embeddings);
  }

  /** The LM head's weight and, when it is trainable, its gradient (null under LoRA, or BF16: frozen). */
  private headWeight(): { data: Weight; grad: F | null } {
    if (this.weightsDtype === "bfloat16") return { data: this.headData(), grad: null };
    const p = getParam(this.store, this.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
    return { data: p.data, grad: this.lora ? null : p.grad };
  }
  /** BF16 weights are frozen: a backward needs LoRA adapters to train (the activation gradients pass through the base). */
  private requireTrainable(what: string): void {
    if (this.weightsDtype === "bfloat16" && !this.lora) throw new FrozenWeightsError(what);
  }
  /** The LM head's weight as used by the forward passes (BF16 on a bfloat16 model). */
  private headData(): Weight {
    const n = this.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    return this.bf16.get(n) ?? getParam(this.store, n).data;
  }
  /** out[R,H] = embed_tokens[ids] (widened from BF16 on a bfloat16 model). */
  private embed(out: F, ids: Int32Array, R: number): void {
    const H = this.config.hidden_size, V = this.config.vocab_size, table = this.bf16.get("model.embed_tokens.weight");
    if (!table) { embeddingForward(this.backend, out, getParam(this.store, "model.embed_tokens.weight").data, ids, R, H, V); return; }
    for (let r = 0; r < R; r++) {
      const id = ids[r];
      if (!(id >= 0 && id < V)) throw new TokenOutOfRangeError(id, r, V);
      for (let h = 0, o = r * H, s = id * H; h < H; h++) out[o + h] = bf16Value(table[s + h]);
    }
  }

  forward(tokens: Int32Array, mask: Uint8Array, targets: Int32Array, B: number, T: number, temperature = 1, segments?: Int32Array): { logp: F; entropy: F } {
    const c = this.config, be = this.backend, R = B * T, H = c.hidden_size, V = c.vocab_size;
    if (targets.length !== R) throw new BatchShapeError("targets", targets.length, R);
    const a = this.trunkForward(tokens, mask, B, T, segments);
    a.targets.set(targets);
    lmHeadForward(be, a.logp, a.entropy, a.headLse, a.xf, this.headData(), a.targets, a.chunk, R, H, V, a.chunkRows, temperature, this.softcap);
    this.last = { B, T, temperature, head: true };
    return { logp: a.logp.slice(0, R) as F, entropy: a.entropy.slice(0, R) as F };
  }

  /**
   * Training forward without the LM head: the final-normed hidden states xf [B*T, H], the input of any other head
   * (a reward model's scalar score). Saves activations; backwardHidden(dxf) is its backward.
   */
  forwardHidden(tokens: Int32Array, mask: Uint8Array, B: number, T: number): F {
    const a = this.trunkForward(tokens, mask, B, T);
    this.last = { B, T, temperature: 1, head: false };
    return a.xf.slice(0, B * T * this.config.hidden_size) as F;
  }

  /** Embedding → layers → final norm into train.xf, activations saved. */
  private trunkForward(tokens: Int32Array, mask: Uint8Array, B: number, T: number, segments?: Int32Array): TrainBuffers {
    const c = this.config, be = this.backend, R = B * T, H = c.hidden_size, V = c.vocab_size;
    for (const [what, a] of [["tokens", tokens], ["mask", mask], ["segments", segments ?? tokens]] as const) if (a.length !== R) throw new BatchShapeError(what, a.length, R);
    // Grown by at least a quarter: batches whose length creeps up (GRPO completions) would otherwise re-allocate often.
    const rows = this.train && this.train.rows >= R ? this.train.rows : Math.max(R, Math.ceil(1.25 * (this.train?.rows ?? 0)));
    const idle = this.workLent ? null : this.work;
    const moveToIdle = idle && this.train && this.train.memory !== idle && idle.length >= TrainBuffers.size(rows, c);
    if (!this.train || this.train.rows < R || moveToIdle) {
      this.train = null;
      this.train = new TrainBuffers(this.F, rows, c, idle);
      if (!this.workLent) this.work = this.train.memory;
    }
    const a = this.train;
    a.tokens.set(tokens); a.mask.set(mask);
    const seg = this.segments = segments ? a.segments.subarray(0, R) : null;
    if (segments) seg!.set(segments);
    // Hugging Face positions: cumsum(mask) − 1 per row (per segment of a row when packed), padding slots set to 1.
    let maxPos = 0;
    for (let b = 0; b < B; b++) {
      const next = new Map<number, number>(); // segment id → its next position
      for (let t = 0; t < T; t++) {
        const i = b * T + t, id = seg ? seg[i] : 0, n = next.get(id) ?? 0;
        if (!mask[i]) { a.pos[i] = 1; continue; }
        a.pos[i] = n; next.set(id, n + 1);
        maxPos = Math.max(maxPos, n + 1);
      }
    }
    this.ensureRope(Math.max(maxPos, 2)); // ≥ 2: padding slots sit at position 1
    this.refreshNorms();
    if (this.lora) this.lora.ctl.training = true;
    this.embed(a.res[0] as F, a.tokens, R);
    if (this.embedScale !== 1) be.scale(a.res[0], this.embedScale, R * H);
    this.layers.forEach((layer, l) => {
      qkvForward(be, layer.attn, this.attnDims, layer.spec.rope, a.ln, a.rstd1[l], a.q[l], a.k[l], a.v[l], a.res[l], a.pos, R, a.qk?.[l] ?? null);
      attendForward(be, layer.attn, this.attnDims, layer.spec, a.mid[l], a.att[l], a.lse[l], a.q[l], a.k[l], a.v[l], a.mask, a.res[l], B, T, T, T, seg, a.postA?.[l] ?? null);
      mlpForward(be, layer.mlp, this.mlpDims, a.res[l + 1], a.ln, a.rstd2[l], a.gate[l], a.up[l], a.h, a.mid[l], R, a.postM?.[l] ?? null);
    });
    be.rmsnorm(a.xf, a.rstdF, a.res[c.num_hidden_layers], this.finalNorm, R, H, c.rms_norm_eps);
    return a;
  }

  backward(dlogp: FloatArray, dentropy?: FloatArray): void {
    this.requireTrainable("backward() without LoRA adapters");
    if (!this.last || !this.train) throw new BackwardBeforeForwardError();
    if (!this.last.head) throw new BackwardMismatchError("backward", "forwardHidden", "backwardHidden");
    const { B, T, temperature } = this.last, a = this.train, c = this.config, be = this.backend;
    const R = B * T, H = c.hidden_size, V = c.vocab_size;
    if (dlogp.length !== R) throw new BatchShapeError("dlogp", dlogp.length, R);
    if (dentropy && dentropy.length !== R) throw new BatchShapeError("dentropy", dentropy.length, R);
    a.dlogp.set(dlogp);
    if (dentropy) a.dentropy.set(dentropy);
    const head = this.headWeight();
    lmHeadBackward(be, a.dln, head.grad, a.xf, head.data, a.headLse, a.targets, a.dlogp, dentropy ? a.dentropy : null, a.chunk, R, H, V, a.chunkRows, temperature, this.softcap);
    this.trunkBackward(a, B, T);
  }

  /** Accumulates parameter grads from dL/dxf [B*T, H] of the last forwardHidden. */
  backwardHidden(dxf: FloatArray): void {
    this.requireTrainable("backwardHidden() without LoRA adapters");
    if (!this.last || !this.train) throw new BackwardBeforeForwardError();
    if (this.last.head) throw new BackwardMismatchError("backwardHidden", "forward", "backward");
    const { B, T } = this.last, R = B * T, H = this.config.hidden_size;
    if (dxf.length !== R * H) throw new BatchShapeError("dxf", dxf.length, R * H);
    this.train.dln.set(dxf);
    this.trunkBackward(this.train, B, T);
  }

  /** From dL/dxf in train.dln back through the final norm, the layers and the embedding. */
  private trunkBackward(a: TrainBuffers, B: number, T: number): void {
    const c = this.config, be = this.backend, R = B * T, H = c.hidden_size, L = c.num_hidden_layers;
    a.dres.subarray(0, R * H).fill(0);
    const norm = getParam(this.store, "model.norm.weight");
    be.rmsnormBackward(a.dres, norm.grad, a.dln, a.res[L], this.finalNorm, a.rstdF, R, H);
    for (let l = L - 1; l >= 0; l--) {
      const layer = this.layers[l];
      mlpBackward(be, layer.mlp, layer.mlpGrad, this.mlpDims, a, a.dres, a.mid[l], a.rstd2[l], a.gate[l], a.up[l], R, a.postM?.[l] ?? null);
      attentionBackward(be, layer.attn, layer.attnGrad, this.attnDims, layer.spec, a, a.dres, a.res[l], a.rstd1[l], a.q[l], a.k[l], a.v[l], a.att[l], a.lse[l],
        a.mask, a.pos, B, T, this.segments, a.qk?.[l] ?? null, a.postA?.[l] ?? null);
    }
    if (this.lora || this.weightsDtype === "bfloat16") return; // a frozen embedding
    if (this.embedScale !== 1) be.scale(a.dres, this.embedScale, R * H);
    embeddingBackward(be, getParam(this.store, "model.embed_tokens.weight").grad, a.dres, a.tokens, R, H);
  }

  newCache(batch: number, maxLen: number): KVCache {
    const L = this.config.num_hidden_layers, K = this.config.num_key_value_heads * headDim(this.config);
    const bf16 = this.kvCacheDtype === "bfloat16", need = 2 * L * batch * maxLen * K;
    let spare: FloatArray | null = null;
    if (this.work && !this.workLent && this.work.length >= (bf16 ? Math.ceil(need * 2 / this.F.BYTES_PER_ELEMENT) : need)) {
      spare = this.work; this.workLent = true;
      if (this.train?.memory === spare) { this.train = null; this.last = null; }
    }
    // A released cache's memory serves the next cache and the training activations.
    return new KVCacheImpl(this.F, batch, maxLen, L, K, spare, memory => {
      if (memory === this.work) this.workLent = false;
      else if (!this.workLent && memory.length > (this.work?.length ?? 0)) this.work = memory;
    }, this.kvCacheDtype);
  }

  decode(cache: KVCache, tokens: Int32Array, valid: Uint8Array, T: number, out?: Float32Array): Float32Array {
    if (!(cache instanceof KVCacheImpl)) throw new ForeignCacheError();
    const c = this.config, be = this.backend, B = cache.batch, R = B * T, H = c.hidden_size, V = c.vocab_size, S = cache.length + T;
    if (tokens.length !== R) throw new BatchShapeError("tokens", tokens.length, R);
    if (valid.length !== R) throw new BatchShapeError("valid", valid.length, R);
    if (S > cache.maxLen) throw new CacheFullError(S, cache.maxLen);
    if (!this.infer || this.infer.rows < R) this.infer = new DecodeBuffers(this.F, Math.max(R, B), c, this.traits);
    const d = this.infer;
    let maxPos = 0;
    for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
      const i = b * T + t;
      cache.mask[b * cache.maxLen + cache.length + t] = valid[i];
      d.pos[i] = valid[i] ? cache.pos[b]++ : 0;
      maxPos = Math.max(maxPos, d.pos[i] + 1);
    }
    this.ensureRope(maxPos);
    this.refreshNorms();
    if (this.lora) this.lora.ctl.training = false;
    this.embed(d.x as F, tokens, R);
    if (this.embedScale !== 1) be.scale(d.x, this.embedScale, R * H);
    this.layers.forEach((layer, l) => {
      qkvForward(be, layer.attn, this.attnDims, layer.spec.rope, d.ln, d.rstd, d.q, d.k, d.v, d.x, d.pos, R, d.qk);
      cache.store(l, d.k, d.v, T);
      attendForward(be, layer.attn, this.attnDims, layer.spec, d.x2, d.att, d.lse, d.q, cache.k[l], cache.v[l], cache.mask, d.x, B, T, S, cache.maxLen, null, d.post);
      mlpForward(be, layer.mlp, this.mlpDims, d.x, d.ln, d.rstd, d.gate, d.up, d.h, d.x2, R, d.post);
    });
    cache.length = S;
    // each row's last slot → final norm → logits
    for (let b = 0; b < B; b++) d.x2.set(d.x.subarray((b * T + T - 1) * H, (b * T + T) * H), b * H);
    be.rmsnorm(d.ln, d.rstd, d.x2, this.finalNorm, B, H, c.rms_norm_eps);
    const logits = out && out.length >= B * V && this.F === Float32Array ? out.subarray(0, B * V) as F : new this.F(B * V);
    const head = this.headData();
    if (head instanceof Uint16Array) be.matmulBf16(logits, d.ln, head, B, V, H, false);
    else be.matmul(logits, d.ln, head, B, V, H, false, true, false);
    if (this.softcap > 0) softcapLogits(logits, this.softcap, B * V);
    return logits instanceof Float32Array ? logits : Float32Array.from(logits);
  }
}

/**
 * A freshly initialised model (see init.ts) on `backend`; with seed null, all-zero parameters for a caller that loads every weight.
 * `weights: "bfloat16"`: the Linear weights, LM head and embedding table live frozen in BF16 (half the memory and bandwidth);
 * norms and biases stay in flatParams. Such a model trains LoRA adapters (attachLora: the backward passes activation
 * gradients through the BF16 weights); a backward without adapters throws FrozenWeightsError.
 */
export function createModel(config: ModelConfig, backend: Backend, seed: number | null = 0, options: ModelOptions = {}): CausalLM {
  return new Transformer(config, backend, seed, Float32Array, [], options);
}

/**
 * A frozen BF16 copy of `model` on `backend` (inference only): its Linear weights, LM head and embedding rounded to
 * BF16, norms and biases copied. For a GRPO reference policy or BF16 rollouts of an F32 policy. A LoRA model is copied
 * merged (W + s·B·A, then rounded).
 */
export function bf16Copy(model: CausalLM, backend: Backend = (model as unknown as { backend: Backend }).backend): CausalLM {
  const source = model instanceof Transformer ? model : (model as { base?: unknown }).base;
  const copy = createModel(model.config, backend, null, { weights: "bfloat16", kvCache: source instanceof Transformer ? source.kvCacheDtype : undefined });
  const bf16 = new Map(copy.bf16Params!.map(p => [p.name, p.data])), f32 = new Map(copy.params.map(p => [p.name, p.data]));
  const merged = (model as { mergedTensors?: () => { name: string; data: Float32Array }[] }).mergedTensors;
  for (const p of merged ? merged.call(model) : model.params) {
    const b = bf16.get(p.name);
    if (b) f32ToBf16(p.data, b);
    else f32.get(p.name)!.set(p.data);
  }
  return copy;
}

export interface ModelOptions {
  /** Dtype of the Linear weights, LM head and embedding table: "float32" (default, trainable) or "bfloat16" (frozen). */
  weights?: "float32" | "bfloat16";
  /** How the model's KV caches store keys and values: "float32" (default) or "bfloat16" (half the memory). */
  kvCache?: KvCacheDtype;
}

/**
 * Sets how `model`'s KV caches made from now on store keys and values (a LoRA model's base, a plain transformer);
 * returns false for a model that has no such setting.
 */
export function setKvCacheDtype(model: CausalLM, dtype: KvCacheDtype): boolean {
  const t = model instanceof Transformer ? model : (model as { base?: unknown }).base;
  if (!(t instanceof Transformer)) return false;
  t.kvCacheDtype = dtype;
  return true;
}

const bf16Scratch = new Uint32Array(1), bf16View = new Float32Array(bf16Scratch.buffer);
function bf16Value(h: number): number { bf16Scratch[0] = h << 16; return bf16View[0]; }
