/**
 * The backend interface: every kernel the model, trainers and self-play need.
 * Two implementations: `native` (C + N-API, threaded, SIMD) and `reference`
 * (plain TypeScript, the oracle in tests, float64-capable for finite differences).
 *
 * Conventions (llm.c):
 * - Row-major buffers. Shapes are given in the comments: B batch, T query length,
 *   S key length, Smax allocated key length (KV cache), nh query heads, nkv kv heads,
 *   hd head dim, H hidden, V vocab, R rows, N elements.
 * - Forward ops WRITE their outputs. Backward ops ACCUMULATE (+=) into every
 *   gradient they produce (input and parameter grads), so residual branches add up
 *   and callers zero grads with a fill.
 * - Linear weights are stored like Hugging Face: W[out, in], so y = x · Wᵀ.
 * - Arithmetic only: decisions (chunking, which op when) live in TypeScript.
 */
export type Buf = Float32Array | Float64Array;

export interface Backend {
  readonly name: "native" | "reference";
  /** Threads used by the kernels (1 for reference). */
  readonly threads: number;

  /** C[M,N] = (accumulate ? C : 0) + op(A)·op(B); op(A) is [M,K] (A stored [K,M] if transA), op(B) is [K,N] (B stored [N,K] if transB). */
  matmul(C: Buf, A: Buf, B: Buf, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void;

  /**
   * BF16 weights: C[M,N] = (accumulate ? C : 0) + A[M,K]·Wᵀ with W[N,K] a Linear weight stored as BF16 bits (the high
   * half of each F32) in a Uint16Array, sums in F32 or better. Native: AVX512-BF16 dot products when the CPU has them
   * (A rounded to BF16 first: a relative error ≤ 2⁻⁸ per product), else W widened to F32 on the fly.
   */
  matmulBf16(C: Buf, A: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void;
  /**
   * The activation gradient through a frozen BF16 weight (the NN product the forward's kernel lacks):
   * X[M,K] = (accumulate ? X : 0) + Y[M,N]·W with W[N,K] the same BF16 Linear weight, not transposed. Same paths and
   * error as matmulBf16 (native dpbf16: Y rounded to BF16 first, a relative error ≤ 2⁻⁸ per product).
   */
  matmulBf16NN(X: Buf, Y: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void;

  /** y[R,N] += b[N] */
  addBias(y: Buf, b: Buf, R: number, N: number): void;
  /** db[N] += Σ_r dy[r,N] */
  biasBackward(db: Buf, dy: Buf, R: number, N: number): void;
  /** y[N] = a[N] + b[N] (y may alias a or b) */
  add(y: Buf, a: Buf, b: Buf, N: number): void;
  /** x[N] *= alpha */
  scale(x: Buf, alpha: number, N: number): void;
  /** Σ x² over N elements (float64 accumulation). */
  sumSquares(x: Buf, N: number): number;

  /** y[R,N] = x / rms(x) · w; rstd[R] saved for backward. */
  rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, R: number, N: number, eps: number): void;
  rmsnormBackward(dx: Buf, dw: Buf, dy: Buf, x: Buf, w: Buf, rstd: Buf, R: number, N: number): void;
  /** y[R,N] = (x − mean) · rstd · w + b; mean[R], rstd[R] saved. */
  layernorm(y: Buf, mean: Buf, rstd: Buf, x: Buf, w: Buf, b: Buf, R: number, N: number, eps: number): void;
  layernormBackward(dx: Buf, dw: Buf, db: Buf, dy: Buf, x: Buf, w: Buf, mean: Buf, rstd: Buf, R: number, N: number): void;

  /**
   * In-place rotary embedding, Hugging Face rotate_half layout: pairs (i, i + hd/2).
   * x[R, heads, hd]; pos[R] is each row's position; cos/sin[maxPos, hd/2] tables.
   * Backward is the same call with `inverse = true` on the gradient (rotation by −θ).
   */
  rope(x: Buf, pos: Int32Array, cos: Buf, sin: Buf, R: number, heads: number, hd: number, inverse: boolean): void;

  /**
   * Causal grouped-query attention with a key mask.
   * q[B,T,nh,hd]; k,v[B,Smax,nkv,hd] of which the first S positions are used;
   * query t sits at key index t + (S − T) and sees keys j ≤ that index with keyMask[b*Smax + j] = 1
   * (keyMask null = all valid). out[B,T,nh,hd]; lse[B,nh,T] (log-sum-exp of scaled scores, saved for backward;
   * a query that sees no key gets out = 0 and lse = −Infinity). Scores are multiplied by `scale` (default 1/√hd;
   * Gemma 3 uses query_pre_attn_scalar^(−1/2)).
   * segments[B,Smax] (optional, packed sequences): a segment id per key slot; query t, at key index i, also
   * needs segments[b*Smax + j] = segments[b*Smax + i] to see key j, so packed examples never attend to each
   * other. Absent or null = one segment per row (exactly the behaviour without it).
   * window (sliding-window layers): when > 0, the query at key index i sees key j only if i − j < window as well
   * (transformers' sliding_window_causal mask, llama.cpp's SWA). Absent or 0 = full causal attention.
   * softcap (Gemma's attn_logit_softcapping): when > 0, each scaled score s becomes softcap·tanh(s / softcap).
   * causal (default true): false makes the attention bidirectional (an encoder): every query sees every key j < S that
   * the mask and its segment (that of its key index) allow; no window then.
   */
  attention(out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number, causal?: boolean): void;
  /**
   * attention() with k, v stored BF16 (a BF16 KV cache: half its memory), widened exactly as read (inference only: no
   * backward). Same shapes, masks and options.
   */
  attentionKvBf16(out: Buf, lse: Buf, q: Buf, k: Uint16Array, v: Uint16Array, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number): void;
  /** Accumulates dq[B,T,nh,hd], dk, dv[B,Smax,nkv,hd] from dout, recomputing probabilities from lse (same masks, segments, window, scale, softcap and causal as the forward). */
  attentionBackward(dq: Buf, dk: Buf, dv: Buf, dout: Buf, out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
    B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number, causal?: boolean): void;

  /** y[N] = relu(x) as ½(x + |x|), branch-free (y may alias x; NaN stays NaN). */
  relu(y: Buf, x: Buf, N: number): void;
  /** dy[N] *= (y > 0): ReLU's backward in place, y its output (writes, not accumulates; an infinite dy where y ≤ 0 gives NaN). */
  reluMask(dy: Buf, y: Buf, N: number): void;
  /** h[N] = silu(gate) · up */
  swiglu(h: Buf, gate: Buf, up: Buf, N: number): void;
  swigluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void;
  /** y[N] = gelu_tanh(x) */
  gelu(y: Buf, x: Buf, N: number): void;
  geluBackward(dx: Buf, dy: Buf, x: Buf, N: number): void;
  /** h[N] = gelu_tanh(gate) · up (Gemma's MLP) */
  geglu(h: Buf, gate: Buf, up: Buf, N: number): void;
  gegluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void;

  /**
   * im2col for a 3×3 'same' convolution over B boards of rows × width cells: cols[B·rows·width, 9·C], the row of
   * (b, cell) holding its 3×3 neighbourhood, tap = (dr + 1)·3 + (dc + 1) for the neighbour at row + dr, col + dc,
   * C channels each, zeros off the board. act's element (b, cell, ch) is at b·sb + cell·sc + ch·sch (cells row-major),
   * so one call reads channels-last activations (sc = C, sch = 1) or channel planes (sc = 1, sch = rows·width).
   */
  im2col3x3(cols: Buf, act: Buf, B: number, rows: number, width: number, C: number, sb: number, sc: number, sch: number): void;

  /** out[R,H] = table[ids[r], :] */
  embedding(out: Buf, table: Buf, ids: Int32Array, R: number, H: number): void;
  /** dtable[ids[r], :] += dout[r, :] */
  embeddingBackward(dtable: Buf, dout: Buf, ids: Int32Array, R: number, H: number): void;

  /**
   * Per row of logits[R,V] scaled by 1/temperature: logp[r] = log softmax(z)[targets[r]],
   * entropy[r] = −Σ p log p, lse[r] = logsumexp(z) (saved). Rows with targets[r] < 0 give logp = 0.
   */
  logSoftmaxGather(logp: Buf, entropy: Buf, lse: Buf, logits: Buf, targets: Int32Array, R: number, V: number, temperature: number): void;
  /**
   * Overwrites logits[R,V] in place with dL/dlogits given dlogp[R] and dentropy[R] (either may be null = 0),
   * using the lse saved by the forward. (Writes, not accumulates: the buffer is the chunk's scratch.)
   */
  logSoftmaxGatherBackward(logits: Buf, lse: Buf, targets: Int32Array, dlogp: Buf | null, dentropy: Buf | null, R: number, V: number, temperature: number): void;
  /**
   * The sampler's pass over a step's logits[R,V], one token per row from the first Vs ids: temps[r] = 0 takes the
   * argmax (the first on ties); temps[r] > 0 draws from softmax(logits / T) by inverse CDF at u[r]·Σ (u[r] in [0, 1),
   * drawn by the caller from the row's stream), summing the weights exp((z − max)/T) in id order; temps[r] = NaN leaves
   * the row to the caller (tokens[r] = −1). With topK[r] in (0, Vs) the draw is over the top-k ids only (largest
   * logits; ties: the lower id), after min-p (weight exp((z − max)/T) ≥ minP[r]) and with top-p on the top-k set (the
   * smallest most-likely-first head whose mass reaches topP[r] of theirs), Hugging Face's order as TokenPicker applies
   * it; topK[r] = 0 ignores topP and minP (the caller keeps such rows). logprobs[r] = log softmax(logits / T)[token]
   * over all V ids, before any filter (T = 1 when greedy). Optional: a backend without it leaves every row to the JS
   * sampler.
   */
  sampleRows?(tokens: Int32Array, logprobs: Buf, logits: Buf, temps: Buf, u: Float64Array, R: number, V: number, Vs: number,
    topK: Int32Array | null, topP: Buf | null, minP: Buf | null): void;

  /**
   * AdamW with decoupled weight decay on N elements (step t ≥ 1, bias-corrected):
   * m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr·(m̂/(√v̂ + eps) + wd·p).
   */
  adamw(p: Buf, g: Buf, m: Buf, v: Buf, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void;
}
