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
import { allocParams, getParam, type FloatArray, type FloatArrayCtor, type ParamSpec, type ParamStore, type ParamView } from "./params.js";
import { initParams } from "./init.js";
import { embeddingBackward, embeddingForward } from "./embedding.js";
import { RopeTables, attendForward, attentionBackward, qkvForward, type AttentionDims, type AttentionWeights, type LayerAttention, type PostNormSaved, type QkNormSaved } from "./attention.js";
import { mlpBackward, mlpForward, type MlpDims, type MlpWeights } from "./mlp.js";
import { headChunkRows, lmHeadBackward, lmHeadForward, softcapLogits } from "./lm-head.js";
import type { LoraAdapters } from "./lora.js";
import { CacheFullError, KVCacheImpl } from "./kv-cache.js";

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

/** Saved activations and backward scratch for up to `rows` rows. */
class TrainBuffers {
  res: FloatArray[]; rstd1: FloatArray[]; rstd2: FloatArray[]; q: FloatArray[]; k: FloatArray[]; v: FloatArray[]; att: FloatArray[]; lse: FloatArray[]; mid: FloatArray[];
  gate: FloatArray[]; up: FloatArray[];
  rstdF: FloatArray; xf: FloatArray; logp: FloatArray; entropy: FloatArray; headLse: FloatArray; dlogp: FloatArray; dentropy: FloatArray;
  ln: FloatArray; rstd: FloatArray; dln: FloatArray; dres: FloatArray; h: FloatArray; dh: FloatArray; dgate: FloatArray; dup: FloatArray;
  datt: FloatArray; dq: FloatArray; dk: FloatArray; dv: FloatArray; chunk: FloatArray;
  tokens: Int32Array; targets: Int32Array; pos: Int32Array; mask: Uint8Array; segments: Int32Array;
  qk: QkNormSaved[] | null; postA: PostNormSaved[] | null; postM: PostNormSaved[] | null; dO: FloatArray; dqRaw: FloatArray; dkRaw: FloatArray;

  constructor(F: FloatArrayCtor, readonly rows: number, c: ModelConfig, readonly chunkRows: number, t: Traits) {
    const H = c.hidden_size, I = c.intermediate_size, hd = headDim(c), L = c.num_hidden_layers;
    const Q = c.num_attention_heads * hd, K = c.num_key_value_heads * hd, R = rows;
    const perLayer = (n: number) => Array.from({ length: L }, () => new F(n));
    this.res = Array.from({ length: L + 1 }, () => new F(R * H));
    this.rstd1 = perLayer(R); this.rstd2 = perLayer(R); this.q = perLayer(R * Q); this.k = perLayer(R * K); this.v = perLayer(R * K);
    this.att = perLayer(R * Q); this.lse = perLayer(R * c.num_attention_heads); this.mid = perLayer(R * H); this.gate = perLayer(R * I); this.up = perLayer(R * I);
    this.rstdF = new F(R); this.xf = new F(R * H); this.logp = new F(R); this.entropy = new F(R); this.headLse = new F(R); this.dlogp = new F(R); this.dentropy = new F(R);
    this.ln = new F(R * H); this.rstd = new F(R); this.dln = new F(R * H); this.dres = new F(R * H);
    this.h = new F(R * I); this.dh = new F(R * I); this.dgate = new F(R * I); this.dup = new F(R * I);
    this.datt = new F(R * Q); this.dq = new F(R * Q); this.dk = new F(R * K); this.dv = new F(R * K);
    this.chunk = new F(chunkRows * c.vocab_size);
    this.tokens = new Int32Array(R); this.targets = new Int32Array(R); this.pos = new Int32Array(R); this.mask = new Uint8Array(R);
    this.segments = new Int32Array(R);
    this.qk = t.qkNorm ? Array.from({ length: L }, () => ({ qRaw: new F(R * Q), kRaw: new F(R * K), rstdQ: new F(R * c.num_attention_heads), rstdK: new F(R * c.num_key_value_heads) })) : null;
    const tmp = t.postNorm ? new F(R * H) : new F(0);
    const post = () => Array.from({ length: L }, () => ({ o: new F(R * H), rstdO: new F(R), tmp }));
    this.postA = t.postNorm ? post() : null; this.postM = t.postNorm ? post() : null;
    this.dO = new F(t.postNorm ? R * H : 0); this.dqRaw = new F(t.qkNorm ? R * Q : 0); this.dkRaw = new F(t.qkNorm ? R * K : 0);
  }
}

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
  private last: { B: number; T: number; temperature: number; head: boolean } | null = null;
  /** The last training forward's segment ids (a view of train.segments), null when it packed nothing. */
  private segments: Int32Array | null = null;
  /** LoRA adapters (attachLora): the base is frozen and gets no gradient. */
  private lora: LoraAdapters<F> | null = null;

  /**
   * seed null: parameters start at 0 and are not initialised, for callers that overwrite every one (loadPretrained).
   * `extraParams` are allocated after the model's own in the same flat buffer (and initialised by name like them).
   */
  constructor(config: ModelConfig, readonly backend: Backend, seed: number | null, private F: FloatArrayCtor & { new(n: number): F },
    extraParams: readonly ParamSpec[] = []) {
    this.config = ModelConfigSchema.parse(config);
    const c = this.config;
    const gemma = isGemma(c);
    this.traits = { qkNorm: hasQkNorm(c), postNorm: gemma };
    this.embedScale = gemma ? Math.fround(Math.sqrt(c.hidden_size)) : 1;
    this.store = allocParams(c, F, extraParams);
    if (seed !== null) initParams(this.store, c.num_hidden_layers, seed, 0.02, gemma ? 0 : 1);
    this.params = this.store.views; this.flatParams = this.store.flat; this.flatGrads = this.store.grads;
    const grad = (n: string) => getParam(this.store, n).grad;
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
    const attn = (p: string, f: (n: string) => F): AttentionWeights => ({
      ln: f(p + "input_layernorm.weight"),
      wq: f(p + "self_attn.q_proj.weight"), bq: orNull(c.attention_bias, p + "self_attn.q_proj.bias", f),
      wk: f(p + "self_attn.k_proj.weight"), bk: orNull(c.attention_bias, p + "self_attn.k_proj.bias", f),
      wv: f(p + "self_attn.v_proj.weight"), bv: orNull(c.attention_bias, p + "self_attn.v_proj.bias", f),
      wo: f(p + "self_attn.o_proj.weight"),
      qn: orNull(qk, p + "self_attn.q_norm.weight", f), kn: orNull(qk, p + "self_attn.k_norm.weight", f),
      post: orNull(gemma, p + "post_attention_layernorm.weight", f),
    });
    const mlp = (p: string, f: (n: string) => F): MlpWeights => ({
      ln: f(p + (gemma ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight")),
      wg: f(p + "mlp.gate_proj.weight"), wu: f(p + "mlp.up_proj.weight"), wd: f(p + "mlp.down_proj.weight"),
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
      return { attn: attn(p, data), attnGrad: attn(p, grad), mlp: mlp(p, data), mlpGrad: mlp(p, grad), spec: { rope, window: layerWindow(c, l) } };
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

  private headWeight(): ParamView<F> {
    return getParam(this.store, this.config.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight");
  }

  forward(tokens: Int32Array, mask: Uint8Array, targets: Int32Array, B: number, T: number, temperature = 1, segments?: Int32Array): { logp: F; entropy: F } {
    const c = this.config, be = this.backend, R = B * T, H = c.hidden_size, V = c.vocab_size;
    if (targets.length !== R) throw new BatchShapeError("targets", targets.length, R);
    const a = this.trunkForward(tokens, mask, B, T, segments);
    a.targets.set(targets);
    lmHeadForward(be, a.logp, a.entropy, a.headLse, a.xf, this.headWeight().data, a.targets, a.chunk, R, H, V, a.chunkRows, temperature, this.softcap);
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
    if (!this.train || this.train.rows < R) this.train = new TrainBuffers(this.F, R, c, headChunkRows(V, R), this.traits);
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
    embeddingForward(be, a.res[0], getParam(this.store, "model.embed_tokens.weight").data, a.tokens, R, H, V);
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
    if (!this.last || !this.train) throw new BackwardBeforeForwardError();
    if (!this.last.head) throw new BackwardMismatchError("backward", "forwardHidden", "backwardHidden");
    const { B, T, temperature } = this.last, a = this.train, c = this.config, be = this.backend;
    const R = B * T, H = c.hidden_size, V = c.vocab_size;
    if (dlogp.length !== R) throw new BatchShapeError("dlogp", dlogp.length, R);
    if (dentropy && dentropy.length !== R) throw new BatchShapeError("dentropy", dentropy.length, R);
    a.dlogp.set(dlogp);
    if (dentropy) a.dentropy.set(dentropy);
    const head = this.headWeight();
    lmHeadBackward(be, a.dln, this.lora ? null : head.grad, a.xf, head.data, a.headLse, a.targets, a.dlogp, dentropy ? a.dentropy : null, a.chunk, R, H, V, a.chunkRows, temperature, this.softcap);
    this.trunkBackward(a, B, T);
  }

  /** Accumulates parameter grads from dL/dxf [B*T, H] of the last forwardHidden. */
  backwardHidden(dxf: FloatArray): void {
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
    if (this.lora) return; // a frozen embedding
    if (this.embedScale !== 1) be.scale(a.dres, this.embedScale, R * H);
    embeddingBackward(be, getParam(this.store, "model.embed_tokens.weight").grad, a.dres, a.tokens, R, H);
  }

  newCache(batch: number, maxLen: number): KVCache {
    return new KVCacheImpl(this.F, batch, maxLen, this.config.num_hidden_layers, this.config.num_key_value_heads * headDim(this.config));
  }

  decode(cache: KVCache, tokens: Int32Array, valid: Uint8Array, T: number): Float32Array {
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
    embeddingForward(be, d.x, getParam(this.store, "model.embed_tokens.weight").data, tokens, R, H, V);
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
    const logits = new this.F(B * V);
    be.matmul(logits, d.ln, this.headWeight().data, B, V, H, false, true, false);
    if (this.softcap > 0) softcapLogits(logits, this.softcap, B * V);
    return logits instanceof Float32Array ? logits : Float32Array.from(logits);
  }
}

/** A freshly initialised model (see init.ts) on `backend`; with seed null, all-zero parameters for a caller that loads every weight. */
export function createModel(config: ModelConfig, backend: Backend, seed: number | null = 0): CausalLM {
  return new Transformer(config, backend, seed, Float32Array);
}
