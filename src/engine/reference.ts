/**
 * The reference backend: plain TypeScript, one obvious loop per kernel, float64 accumulation.
 * It is the oracle every native kernel is tested against and the fallback when the addon cannot
 * build. Buffers may be Float32Array or Float64Array (float64 for finite-difference checks).
 * Semantics are documented on the `Backend` interface in ./backend.ts.
 */
import type { Backend, Buf } from "./backend.js";

/** W widened exactly (a BF16 value is the high half of an F32); A not rounded; float64 sums. */
function matmulBf16(C: Buf, A: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void {
  matmul(C, A, widenBf16(W, N * K), M, N, K, false, true, accumulate);
}

/** X[M,K] (+)= Y[M,N]·W, W[N,K] BF16 widened exactly; Y not rounded; float64 sums. */
function matmulBf16NN(X: Buf, Y: Buf, W: Uint16Array, M: number, N: number, K: number, accumulate: boolean): void {
  matmul(X, Y, widenBf16(W, N * K), M, K, N, false, false, accumulate);
}

/** The first n BF16 values of W as F32 (exact: each is the high half of an F32). */
function widenBf16(W: Uint16Array, n: number): Float32Array {
  const w = new Float32Array(n), bits = new Uint32Array(w.buffer);
  bits.set(W.subarray(0, n));
  for (let i = 0; i < n; i++) bits[i] <<= 16;
  return w;
}

function matmul(C: Buf, A: Buf, B: Buf, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
  const acc = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    if (transB) {
      // op(B)[k,j] = B[j,k]: each output is a dot product of two contiguous rows when A is not transposed.
      for (let j = 0; j < N; j++) {
        let s = 0;
        const bo = j * K;
        if (transA) for (let k = 0; k < K; k++) s += A[k * M + i] * B[bo + k];
        else { const ao = i * K; for (let k = 0; k < K; k++) s += A[ao + k] * B[bo + k]; }
        acc[j] = s;
      }
    } else {
      acc.fill(0);
      for (let k = 0; k < K; k++) {
        const a = transA ? A[k * M + i] : A[i * K + k];
        if (a === 0) continue;
        const bo = k * N;
        for (let j = 0; j < N; j++) acc[j] += a * B[bo + j];
      }
    }
    const co = i * N;
    if (accumulate) for (let j = 0; j < N; j++) C[co + j] += acc[j];
    else for (let j = 0; j < N; j++) C[co + j] = acc[j];
  }
}

function addBias(y: Buf, b: Buf, R: number, N: number): void {
  for (let r = 0; r < R; r++) for (let j = 0; j < N; j++) y[r * N + j] += b[j];
}

function biasBackward(db: Buf, dy: Buf, R: number, N: number): void {
  for (let j = 0; j < N; j++) {
    let s = 0;
    for (let r = 0; r < R; r++) s += dy[r * N + j];
    db[j] += s;
  }
}

function add(y: Buf, a: Buf, b: Buf, N: number): void {
  for (let i = 0; i < N; i++) y[i] = a[i] + b[i];
}

function scale(x: Buf, alpha: number, N: number): void {
  for (let i = 0; i < N; i++) x[i] *= alpha;
}

function sumSquares(x: Buf, N: number): number {
  let s = 0;
  for (let i = 0; i < N; i++) s += x[i] * x[i];
  return s;
}

function rmsnorm(y: Buf, rstd: Buf, x: Buf, w: Buf, R: number, N: number, eps: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * N;
    let ss = 0;
    for (let i = 0; i < N; i++) ss += x[o + i] * x[o + i];
    const rs = 1 / Math.sqrt(ss / N + eps);
    rstd[r] = rs;
    for (let i = 0; i < N; i++) y[o + i] = x[o + i] * rs * w[i];
  }
}

function rmsnormBackward(dx: Buf, dw: Buf, dy: Buf, x: Buf, w: Buf, rstd: Buf, R: number, N: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * N, rs = rstd[r];
    // dx = rs·(w∘dy) − rs³/N · x · Σ(w∘dy∘x)
    let dot = 0;
    for (let i = 0; i < N; i++) dot += w[i] * dy[o + i] * x[o + i];
    const c = rs * rs * rs * dot / N;
    for (let i = 0; i < N; i++) {
      dx[o + i] += rs * w[i] * dy[o + i] - c * x[o + i];
      dw[i] += dy[o + i] * x[o + i] * rs;
    }
  }
}

function layernorm(y: Buf, mean: Buf, rstd: Buf, x: Buf, w: Buf, b: Buf, R: number, N: number, eps: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * N;
    let s = 0;
    for (let i = 0; i < N; i++) s += x[o + i];
    const mu = s / N;
    let v = 0;
    for (let i = 0; i < N; i++) { const d = x[o + i] - mu; v += d * d; }
    const rs = 1 / Math.sqrt(v / N + eps);
    mean[r] = mu; rstd[r] = rs;
    for (let i = 0; i < N; i++) y[o + i] = (x[o + i] - mu) * rs * w[i] + b[i];
  }
}

function layernormBackward(dx: Buf, dw: Buf, db: Buf, dy: Buf, x: Buf, w: Buf, mean: Buf, rstd: Buf, R: number, N: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * N, mu = mean[r], rs = rstd[r];
    // with xhat = (x−μ)·rs and g = w∘dy: dx = rs·(g − mean(g) − xhat·mean(g∘xhat))
    let sg = 0, sgx = 0;
    for (let i = 0; i < N; i++) {
      const g = w[i] * dy[o + i], xh = (x[o + i] - mu) * rs;
      sg += g; sgx += g * xh;
    }
    sg /= N; sgx /= N;
    for (let i = 0; i < N; i++) {
      const xh = (x[o + i] - mu) * rs;
      dx[o + i] += rs * (w[i] * dy[o + i] - sg - xh * sgx);
      dw[i] += dy[o + i] * xh;
      db[i] += dy[o + i];
    }
  }
}

function rope(x: Buf, pos: Int32Array, cos: Buf, sin: Buf, R: number, heads: number, hd: number, inverse: boolean): void {
  const half = hd / 2, sgn = inverse ? -1 : 1;
  for (let r = 0; r < R; r++) {
    const t = pos[r] * half;
    for (let h = 0; h < heads; h++) {
      const o = (r * heads + h) * hd;
      for (let i = 0; i < half; i++) {
        const c = cos[t + i], s = sgn * sin[t + i];
        const a = x[o + i], b = x[o + i + half];
        x[o + i] = a * c - b * s;
        x[o + i + half] = b * c + a * s;
      }
    }
  }
}

/** Index of the key that query t of a T-query block over S keys sits at. */
const queryKeyIndex = (t: number, T: number, S: number) => t + (S - T);

/** Key j is visible to the query at key index `self` of row b: not masked, in the query's segment and (window > 0) in its window. */
const visible = (keyMask: Uint8Array | null, segments: Int32Array | null | undefined, b: number, Smax: number, j: number, self: number, window = 0) =>
  (!keyMask || keyMask[b * Smax + j] !== 0) && (!segments || segments[b * Smax + j] === segments[b * Smax + self]) && (!(window > 0) || self - j < window);

/** A sliding window is defined by the causal order: bidirectional attention takes none (the native glue refuses it too). */
function bidirectionalWindow(causal: boolean, window: number): void {
  if (!causal && window > 0) throw new RangeError("attention: causal = false cannot take a sliding window");
}

function attention(out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
  B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window = 0, scale = 1 / Math.sqrt(hd), softcap = 0, causal = true): void {
  bidirectionalWindow(causal, window);
  const group = nh / nkv;
  const scores = new Float64Array(S), acc = new Float64Array(hd);
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const kh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const qo = ((b * T + t) * nh + h) * hd, self = queryKeyIndex(t, T, S), last = causal ? self : S - 1;
      let max = -Infinity;
      for (let j = 0; j <= last; j++) {
        if (!visible(keyMask, segments, b, Smax, j, self, window)) { scores[j] = -Infinity; continue; }
        const ko = ((b * Smax + j) * nkv + kh) * hd;
        let s = 0;
        for (let i = 0; i < hd; i++) s += q[qo + i] * k[ko + i];
        scores[j] = softcap > 0 ? softcap * Math.tanh(s * scale / softcap) : s * scale;
        if (scores[j] > max) max = scores[j];
      }
      const li = (b * nh + h) * T + t;
      if (max === -Infinity) { lse[li] = -Infinity; for (let i = 0; i < hd; i++) out[qo + i] = 0; continue; }
      let sum = 0;
      acc.fill(0);
      for (let j = 0; j <= last; j++) {
        if (scores[j] === -Infinity) continue;
        const p = Math.exp(scores[j] - max);
        sum += p;
        const vo = ((b * Smax + j) * nkv + kh) * hd;
        for (let i = 0; i < hd; i++) acc[i] += p * v[vo + i];
      }
      for (let i = 0; i < hd; i++) out[qo + i] = acc[i] / sum;
      lse[li] = max + Math.log(sum);
    }
  }
}

/** attention over BF16 keys and values: the used slots widened exactly, then the F32 kernel. */
function attentionKvBf16(out: Buf, lse: Buf, q: Buf, k: Uint16Array, v: Uint16Array, keyMask: Uint8Array | null,
  B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window?: number, scale?: number, softcap?: number): void {
  const n = B * Smax * nkv * hd;
  attention(out, lse, q, widenBf16(k, n), widenBf16(v, n), keyMask, B, T, S, Smax, nh, nkv, hd, segments, window, scale, softcap);
}

function attentionBackward(dq: Buf, dk: Buf, dv: Buf, dout: Buf, out: Buf, lse: Buf, q: Buf, k: Buf, v: Buf, keyMask: Uint8Array | null,
  B: number, T: number, S: number, Smax: number, nh: number, nkv: number, hd: number, segments?: Int32Array | null, window = 0, scale = 1 / Math.sqrt(hd), softcap = 0, causal = true): void {
  bidirectionalWindow(causal, window);
  const group = nh / nkv;
  for (let b = 0; b < B; b++) for (let h = 0; h < nh; h++) {
    const kh = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const l = lse[(b * nh + h) * T + t];
      if (l === -Infinity) continue;
      const qo = ((b * T + t) * nh + h) * hd, self = queryKeyIndex(t, T, S), last = causal ? self : S - 1;
      // D = Σ_j p_j (dout·v_j) = dout·out
      let D = 0;
      for (let i = 0; i < hd; i++) D += dout[qo + i] * out[qo + i];
      for (let j = 0; j <= last; j++) {
        if (!visible(keyMask, segments, b, Smax, j, self, window)) continue;
        const ko = ((b * Smax + j) * nkv + kh) * hd;
        let s = 0, dp = 0;
        for (let i = 0; i < hd; i++) { s += q[qo + i] * k[ko + i]; dp += dout[qo + i] * v[ko + i]; }
        // soft-capped score c·tanh(u/c) has derivative 1 − tanh² in u = s·scale
        const th = softcap > 0 ? Math.tanh(s * scale / softcap) : 0;
        const p = Math.exp((softcap > 0 ? softcap * th : s * scale) - l);
        const ds = p * (dp - D) * scale * (softcap > 0 ? 1 - th * th : 1);
        for (let i = 0; i < hd; i++) {
          dq[qo + i] += ds * k[ko + i];
          dk[ko + i] += ds * q[qo + i];
          dv[ko + i] += p * dout[qo + i];
        }
      }
    }
  }
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function swiglu(h: Buf, gate: Buf, up: Buf, N: number): void {
  for (let i = 0; i < N; i++) h[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

function swigluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void {
  for (let i = 0; i < N; i++) {
    const g = gate[i], s = sigmoid(g);
    dgate[i] += dh[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dh[i] * g * s;
  }
}

const GELU_C = Math.sqrt(2 / Math.PI);

function relu(y: Buf, x: Buf, N: number): void {
  for (let i = 0; i < N; i++) { const v = x[i]; y[i] = 0.5 * (v + Math.abs(v)); }
}

function reluMask(dy: Buf, y: Buf, N: number): void {
  for (let i = 0; i < N; i++) dy[i] *= +(y[i] > 0);
}

function gelu(y: Buf, x: Buf, N: number): void {
  for (let i = 0; i < N; i++) {
    const v = x[i];
    y[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
}

function geluBackward(dx: Buf, dy: Buf, x: Buf, N: number): void {
  for (let i = 0; i < N; i++) {
    const v = x[i], u = GELU_C * (v + 0.044715 * v * v * v), th = Math.tanh(u);
    const du = GELU_C * (1 + 3 * 0.044715 * v * v);
    dx[i] += dy[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du);
  }
}

function geglu(h: Buf, gate: Buf, up: Buf, N: number): void {
  for (let i = 0; i < N; i++) {
    const v = gate[i];
    h[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v))) * up[i];
  }
}

function gegluBackward(dgate: Buf, dup: Buf, dh: Buf, gate: Buf, up: Buf, N: number): void {
  for (let i = 0; i < N; i++) {
    const v = gate[i], th = Math.tanh(GELU_C * (v + 0.044715 * v * v * v)), du = GELU_C * (1 + 3 * 0.044715 * v * v);
    dgate[i] += dh[i] * up[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * du);
    dup[i] += dh[i] * 0.5 * v * (1 + th);
  }
}

function im2col3x3(cols: Buf, act: Buf, B: number, rows: number, width: number, C: number, sb: number, sc: number, sch: number): void {
  let o = 0;
  for (let b = 0; b < B; b++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < width; c++)
        for (let dr = -1; dr <= 1; dr++)
          for (let dc = -1; dc <= 1; dc++) {
            const rr = r + dr, cc = c + dc, on = rr >= 0 && rr < rows && cc >= 0 && cc < width;
            for (let ch = 0; ch < C; ch++) cols[o++] = on ? act[b * sb + (rr * width + cc) * sc + ch * sch] : 0;
          }
}

function embedding(out: Buf, table: Buf, ids: Int32Array, R: number, H: number): void {
  for (let r = 0; r < R; r++) {
    const o = ids[r] * H;
    for (let i = 0; i < H; i++) out[r * H + i] = table[o + i];
  }
}

function embeddingBackward(dtable: Buf, dout: Buf, ids: Int32Array, R: number, H: number): void {
  for (let r = 0; r < R; r++) {
    const o = ids[r] * H;
    for (let i = 0; i < H; i++) dtable[o + i] += dout[r * H + i];
  }
}

function logSoftmaxGather(logp: Buf, entropy: Buf, lse: Buf, logits: Buf, targets: Int32Array, R: number, V: number, temperature: number): void {
  const inv = 1 / temperature;
  for (let r = 0; r < R; r++) {
    const o = r * V;
    let max = -Infinity;
    for (let j = 0; j < V; j++) { const z = logits[o + j] * inv; if (z > max) max = z; }
    let sum = 0, sumPz = 0;
    for (let j = 0; j < V; j++) {
      const z = logits[o + j] * inv, e = Math.exp(z - max);
      sum += e; sumPz += e * z;
    }
    const l = max + Math.log(sum);
    lse[r] = l;
    entropy[r] = l - sumPz / sum;
    logp[r] = targets[r] < 0 ? 0 : logits[o + targets[r]] * inv - l;
  }
}

function logSoftmaxGatherBackward(logits: Buf, lse: Buf, targets: Int32Array, dlogp: Buf | null, dentropy: Buf | null, R: number, V: number, temperature: number): void {
  const inv = 1 / temperature;
  for (let r = 0; r < R; r++) {
    const o = r * V, l = lse[r], tgt = targets[r];
    const gl = dlogp && tgt >= 0 ? dlogp[r] : 0, ge = dentropy ? dentropy[r] : 0;
    // H = lse − Σ p z; dH/dz_j = −p_j (log p_j + H); dlogp/dz_j = δ_jt − p_j; dz/dlogits = 1/temperature.
    let H = 0;
    if (ge !== 0) for (let j = 0; j < V; j++) { const lp = logits[o + j] * inv - l; H -= Math.exp(lp) * lp; }
    for (let j = 0; j < V; j++) {
      const lp = logits[o + j] * inv - l, p = Math.exp(lp);
      let d = -gl * p;
      if (ge !== 0) d -= ge * p * (lp + H);
      logits[o + j] = d * inv;
    }
    if (tgt >= 0) logits[o + tgt] += gl * inv;
  }
}

function sampleRows(tokens: Int32Array, logprobs: Buf, logits: Buf, temps: Buf, u: Float64Array, R: number, V: number, Vs: number,
  topK: Int32Array | null = null, topP: Buf | null = null, minP: Buf | null = null): void {
  for (let r = 0; r < R; r++) {
    const o = r * V, T = temps[r];
    if (Number.isNaN(T)) { tokens[r] = -1; logprobs[r] = 0; continue; }
    let mx = -Infinity, best = 0, mxV = -Infinity;
    for (let j = 0; j < Vs; j++) if (logits[o + j] > mx) { mx = logits[o + j]; best = j; }
    for (let j = 0; j < V; j++) mxV = Math.max(mxV, logits[o + j]);
    const t = T === 0 ? 1 : T;
    let sumV = 0;
    for (let j = 0; j < V; j++) sumV += Math.exp((logits[o + j] - mxV) / t);
    const lse = mxV / t + Math.log(sumV);
    let tok = best;
    const k = topK ? topK[r] : 0;
    if (T > 0 && k > 0 && k < Vs) {
      // top-k among the ids passing min-p, most likely first (ties: the lower id), then top-p on their mass
      const floor = minP ? minP[r] : 0, p = topP ? topP[r] : 1;
      const ids: number[] = [];
      for (let j = 0; j < Vs; j++) if (Math.exp((logits[o + j] - mx) / T) >= floor) ids.push(j);
      ids.sort((a, b) => logits[o + b] - logits[o + a] || a - b);
      const w = ids.slice(0, k).map(j => Math.exp((logits[o + j] - mx) / T));
      const mass = w.reduce((a, b) => a + b, 0);
      let end = w.length;
      if (p < 1) { let cum = 0, j = 0; while (j < end) { cum += w[j]; j++; if (cum >= p * mass) break; } end = j; }
      let kept = 0;
      for (let j = 0; j < end; j++) kept += w[j];
      let rem = u[r] * kept;
      tok = ids[end - 1];
      for (let j = 0; j < end; j++) { rem -= w[j]; if (rem < 0) { tok = ids[j]; break; } }
    } else if (T > 0) {
      let total = 0;
      for (let j = 0; j < Vs; j++) total += Math.exp((logits[o + j] - mx) / T);
      let rem = u[r] * total;
      tok = -1;
      for (let j = 0; j < Vs; j++) {
        const w = Math.exp((logits[o + j] - mx) / T);
        if (w > 0) tok = j;
        rem -= w;
        if (rem < 0) break;
      }
    }
    tokens[r] = tok;
    logprobs[r] = logits[o + tok] / t - lse;
  }
}

function adamw(p: Buf, g: Buf, m: Buf, v: Buf, N: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, t: number): void {
  const bc1 = 1 - Math.pow(beta1, t), bc2 = 1 - Math.pow(beta2, t);
  for (let i = 0; i < N; i++) {
    const gi = g[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    const mh = m[i] / bc1, vh = v[i] / bc2;
    p[i] -= lr * (mh / (Math.sqrt(vh) + eps) + weightDecay * p[i]);
  }
}

export const referenceBackend: Backend = {
  name: "reference",
  threads: 1,
  matmul, matmulBf16, matmulBf16NN, addBias, biasBackward, add, scale, sumSquares,
  rmsnorm, rmsnormBackward, layernorm, layernormBackward, rope,
  attention, attentionKvBf16, attentionBackward, relu, reluMask, swiglu, swigluBackward, gelu, geluBackward, geglu, gegluBackward,
  im2col3x3, embedding, embeddingBackward, logSoftmaxGather, logSoftmaxGatherBackward, sampleRows, adamw,
};
