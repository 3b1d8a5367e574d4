/* Causal grouped-query attention with a key padding mask and a KV cache stride, as blocked GEMMs.
 * Forward, per (batch, head, block of QT queries): S = Q·Kᵀ over the keys the block can see, masked and scaled,
 * an exact softmax per row (saving lse = max + log Σ), then O = P·V. Only a QT×S tile exists at a time, never
 * a T×T matrix. Backward, per (batch, kv head) so each task owns its dk/dv rows: P is recomputed from lse,
 * dP = dO·Vᵀ, dS = P∘(dP − D)·scale with D = dO·O, then dQ += dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO.
 * Layouts: q,out,dq [B,T,nh,hd]; k,v,dk,dv [B,Smax,nkv,hd]; lse [B,nh,T]; keyMask [B,Smax] (NULL = all valid);
 * seg [B,Smax] segment ids of packed sequences (NULL = one segment).
 * Query t sits at key index i = t + S − T and sees keys j ≤ i (of its own segment), or with causal = 0 (an encoder)
 * every key j < S of its segment, the block's key window then running to S; with a sliding window W > 0 only
 * those with i − j < W (transformers' sliding_window_causal, llama.cpp's SWA), and a block's key window starts no
 * earlier than its first query's i − W + 1, so a windowed layer costs O(T·W). Scores are scaled by `scale`, then
 * soft-capped when cap > 0 (s ← cap·tanh(s/cap), Gemma 2's attn_logit_softcapping; the backward multiplies dS by
 * 1 − (s/cap)²). With segments a block
 * starts its key window at the first key any of its queries can see (lo), so a packed row costs about what its
 * examples would alone; without them lo = 0 and the arithmetic is the unsegmented kernel's. Masked keys get probability 0 and enter the
 * products as 0·v, so their k/v rows must hold finite numbers (any computed value does); slots past S are never read.
 * Decode steps (T = 1) of grouped-query attention run per (batch, kv head) instead: the group's query heads are the
 * rows of the same two GEMMs over the keys the query sees (decode_task below).
 * BF16 keys and values (attention_kv_bf16, a BF16 KV cache; forward only): a group's decode step widens its visible
 * keys and values once into F32 scratch; an MHA decode step's dot products and P·V widen each BF16 row as they read it
 * (masked keys are skipped); a block of several queries first widens its key window of K and V for its head into F32
 * scratch (exact; masked slots as zeros, so a BF16 view of reused memory may hold any bits there) and runs the same
 * GEMMs. */
#include "kernels.h"
#include "scratch.h"
#include "threadpool.h"
#include "vec.h"
#include <string.h>
#include <math.h>

#define QT 64 /* queries per block */

typedef struct {
  float *out, *lse, *dq, *dk, *dv;
  const float *q, *k, *v, *dout, *cout, *clse;
  const uint16_t *kb, *vb; /* BF16 keys and values instead of k, v (forward only) */
  const uint8_t *mask;
  const int32_t *seg;
  long B, T, S, Smax, nh, nkv, hd, window;
  float scale, cap;
  int causal; /* 0: every query sees all S keys (bidirectional); window must then be 0 */
} Attn;

static long first_visible(const int32_t *seg, long i0, long n);

/* Row r of the n×W score tile holds query t0 + r, column c key lo + c. Scale the visible scores, set masked,
 * future (causal), out-of-window (win > 0) and other-segment keys to −inf. mask and seg point at the batch row (or are NULL). */
static void mask_scores(float *s, long n, long W, long lo, long t0, long off, const Attn *a, const uint8_t *mask, const int32_t *seg) {
  long win = a->window;
  for (long r = 0; r < n; r++) {
    float *row = s + r * W;
    long self = t0 + r + off, lim = a->causal ? self : a->S - 1; /* the query's key index; the last key it sees */
    long first = win > 0 ? lim - win + 1 : 0; /* first key inside the window */
    for (long c = 0; c < W; c++) {
      long j = lo + c;
      int ok = j <= lim && j >= first && (!mask || mask[j]) && (!seg || seg[j] == seg[self]);
      row[c] = !ok ? -INFINITY : a->cap > 0 ? a->cap * tanhf(row[c] * a->scale / a->cap) : row[c] * a->scale;
    }
  }
}

/* First key of a block whose first query sits at key index i0: by segment, then by the sliding window. */
static long block_start(const int32_t *seg, long i0, long n, long win) {
  long lo = first_visible(seg, i0, n);
  if (win > 0 && i0 - win + 1 > lo) lo = i0 - win + 1;
  return lo;
}

/* The first key any of the n queries at key indices i0.. can see by segment (keys before it are skipped). */
static long first_visible(const int32_t *seg, long i0, long n) {
  if (!seg) return 0;
  int32_t ids[QT];
  long m = 0;
  for (long r = 0; r < n; r++) if (m == 0 || ids[m - 1] != seg[i0 + r]) ids[m++] = seg[i0 + r];
  for (long j = 0; j < i0; j++)
    for (long u = 0; u < m; u++) if (seg[j] == ids[u]) return j;
  return i0;
}

/* p = exp(s − c) over a row, vectorised; exp(−inf) = 0. */
static void exp_shift(float *row, long L, float c) {
  vf vc = vf_set1(c);
  long j = 0;
  for (; j + VL <= L; j += VL) vf_store(row + j, vf_exp(vf_sub(vf_load(row + j), vc)));
  for (; j < L; j++) row[j] = sf_exp(row[j] - c);
}

/* Σ a[i]·b[i], b BF16 widened */
static inline float dot_bf16(const float *a, const uint16_t *b, long n) {
  long i = 0;
  vf acc = vf_set1(0.f);
  for (; i + VL <= n; i += VL) acc = vf_fma(vf_load(a + i), vf_load_bf16(b + i), acc);
  float s = vf_sum(acc);
  for (; i < n; i++) s += a[i] * bf16_to_f32(b[i]);
  return s;
}

static void forward_task(void *ctx, int task, int tid) {
  (void)tid;
  const Attn *a = ctx;
  long nblk = (a->T + QT - 1) / QT;
  long b = task / (a->nh * nblk), h = (task / nblk) % a->nh, t0 = (task % nblk) * QT;
  long n = a->T - t0 < QT ? a->T - t0 : QT, kh = h / (a->nh / a->nkv), hd = a->hd, off = a->S - a->T;
  long L = a->causal ? t0 + n + off : a->S; /* keys the block's last query sees */
  long qs = a->nh * hd, ks = a->nkv * hd;
  const int32_t *seg = a->seg ? a->seg + b * a->Smax : NULL;
  long lo = block_start(seg, t0 + off, n, a->window), W = L - lo; /* the block's key window [lo, L) */
  const float *q = a->q + ((b * a->T + t0) * a->nh + h) * hd;
  long kv0 = ((b * a->Smax + lo) * a->nkv + kh) * hd;
  const float *k = a->k ? a->k + kv0 : NULL, *v = a->v ? a->v + kv0 : NULL;
  const uint16_t *kb = a->kb ? a->kb + kv0 : NULL, *vb = a->vb ? a->vb + kv0 : NULL;
  float *out = a->out + ((b * a->T + t0) * a->nh + h) * hd;
  if (kb && n > 1) { /* a block of queries over BF16 keys/values: widen the window once, rows hd apart; masked slots
                       * become zeros, so whatever bits a never-written slot holds cannot reach O as 0·NaN */
    float *kw = scratch(SCRATCH_ATT2, (size_t)W * hd), *vw = scratch(SCRATCH_ATT3, (size_t)W * hd);
    const uint8_t *m = a->mask ? a->mask + b * a->Smax + lo : NULL;
    for (long j = 0; j < W; j++) {
      if (m && !m[j]) { memset(kw + j * hd, 0, hd * sizeof(float)); memset(vw + j * hd, 0, hd * sizeof(float)); continue; }
      for (long d = 0; d < hd; d++) { kw[j * hd + d] = bf16_to_f32(kb[j * ks + d]); vw[j * hd + d] = bf16_to_f32(vb[j * ks + d]); }
    }
    k = kw; v = vw; kb = vb = NULL; ks = hd;
  }
  float *s = scratch(SCRATCH_ATT1, (size_t)n * W);
  /* one query (a decode step): dot products, not a GEMM whose microkernel pads the row to MR and packs K */
  if (n == 1 && kb) for (long j = 0; j < W; j++) s[j] = dot_bf16(q, kb + j * ks, hd);
  else if (n == 1) for (long j = 0; j < W; j++) s[j] = dot(q, k + j * ks, hd);
  else gemm_serial(s, W, q, qs, 1, k, 1, ks, n, W, hd, 0); /* S = Q·Kᵀ */
  mask_scores(s, n, W, lo, t0, off, a, a->mask ? a->mask + b * a->Smax : NULL, seg);
  for (long r = 0; r < n; r++) {
    float *row = s + r * W, mx = -INFINITY;
    for (long j = 0; j < W; j++) if (row[j] > mx) mx = row[j];
    float *lse = a->lse + (b * a->nh + h) * a->T + t0 + r;
    if (mx == -INFINITY) { *lse = -INFINITY; memset(row, 0, W * sizeof(float)); continue; } /* sees no key: out = 0 */
    exp_shift(row, W, mx);
    float sum = 0;
    for (long j = 0; j < W; j++) sum += row[j];
    *lse = mx + logf(sum);
    float inv = 1.f / sum;
    for (long j = 0; j < W; j++) row[j] *= inv;
  }
  if (n == 1 && vb) {
    memset(out, 0, hd * sizeof(float));
    for (long j = 0; j < W; j++) {
      if (s[j] == 0.f) continue;
      vf p = vf_set1(s[j]);
      const uint16_t *vj = vb + j * ks;
      long d = 0;
      for (; d + VL <= hd; d += VL) vf_store(out + d, vf_fma(p, vf_load_bf16(vj + d), vf_load(out + d)));
      for (; d < hd; d++) out[d] += s[j] * bf16_to_f32(vj[d]);
    }
  } else if (n == 1) {
    memset(out, 0, hd * sizeof(float));
    for (long j = 0; j < W; j++) {
      if (s[j] == 0.f) continue;
      vf p = vf_set1(s[j]);
      const float *vj = v + j * ks;
      long d = 0;
      for (; d + VL <= hd; d += VL) vf_store(out + d, vf_fma(p, vf_load(vj + d), vf_load(out + d)));
      for (; d < hd; d++) out[d] += s[j] * vj[d];
    }
  } else gemm_serial(out, qs, s, W, 1, v, ks, 1, n, hd, W, 0); /* O = P·V */
}

/* A decode step (T = 1) takes a whole GQA group per task, (batch row, kv head): the group's g query heads, contiguous
 * in q, are the rows of two small GEMMs over the keys the query sees, S = Q_g·Kᵀ and O = P·V, so each key row is read
 * (and, BF16, widened) once for the group instead of once per head, and the products run in the GEMM microkernel
 * instead of a reduced dot product and an axpy per key. The visible keys of the window [lo, S) (by mask and segment)
 * are gathered into F32 scratch, rows hd apart, unless all are visible and stored F32 (then the cache is read in
 * place): masked slots are never read, whatever bits they hold. Groups smaller than DECODE_GROUP_MIN (MHA) keep the
 * per-head dot-product path in forward_task: a one-row GEMM pads to the microkernel's MR rows and measured 1.5–3×
 * slower there. */
#ifndef DECODE_GROUP_MIN
#define DECODE_GROUP_MIN 2
#endif

static inline void widen_row(float *dst, const uint16_t *src, long n) {
  long d = 0;
  for (; d + VL <= n; d += VL) vf_store(dst + d, vf_load_bf16(src + d));
  for (; d < n; d++) dst[d] = bf16_to_f32(src[d]);
}

/* A row of L scores, every key visible: scaled (or soft-capped as mask_scores does), then an exact softmax in place;
 * returns lse = max + log Σ. */
static float softmax_row(float *row, long L, float scale, float cap) {
  long j = 0;
  if (cap > 0) for (; j < L; j++) row[j] = cap * tanhf(row[j] * scale / cap);
  else {
    vf vs = vf_set1(scale);
    for (; j + VL <= L; j += VL) vf_store(row + j, vf_mul(vf_load(row + j), vs));
    for (; j < L; j++) row[j] *= scale;
  }
  vf vm = vf_set1(-INFINITY);
  for (j = 0; j + VL <= L; j += VL) vm = vf_max(vm, vf_load(row + j));
  float mx = vf_hmax(vm);
  for (; j < L; j++) if (row[j] > mx) mx = row[j];
  exp_shift(row, L, mx);
  vf acc = vf_set1(0.f);
  for (j = 0; j + VL <= L; j += VL) acc = vf_add(acc, vf_load(row + j));
  float sum = vf_sum(acc);
  for (; j < L; j++) sum += row[j];
  vf vi = vf_set1(1.f / sum);
  for (j = 0; j + VL <= L; j += VL) vf_store(row + j, vf_mul(vf_load(row + j), vi));
  for (; j < L; j++) row[j] *= 1.f / sum;
  return mx + logf(sum);
}

static void decode_task(void *ctx, int task, int tid) {
  (void)tid;
  const Attn *a = ctx;
  long g = a->nh / a->nkv, b = task / a->nkv, kh = task % a->nkv, hd = a->hd, i = a->S - 1; /* the query's key index */
  const uint8_t *mask = a->mask ? a->mask + b * a->Smax : NULL;
  const int32_t *seg = a->seg ? a->seg + b * a->Smax : NULL;
  long lo = block_start(seg, i, 1, a->window), ks = a->nkv * hd;
  const float *q = a->q + (b * a->nh + kh * g) * hd;
  float *out = a->out + (b * a->nh + kh * g) * hd, *lse = a->lse + b * a->nh + kh * g;
  long n = 0; /* keys the query sees */
  for (long j = lo; j <= i; j++) n += (!mask || mask[j]) && (!seg || seg[j] == seg[i]);
  if (n == 0) { /* sees no key: out = 0 */
    for (long r = 0; r < g; r++) lse[r] = -INFINITY;
    memset(out, 0, (size_t)(g * hd) * sizeof(float));
    return;
  }
  const float *k, *v;
  long kst; /* row stride of k and v */
  if (a->k && n == i + 1 - lo) { long o = ((b * a->Smax + lo) * a->nkv + kh) * hd; k = a->k + o; v = a->v + o; kst = ks; }
  else {
    float *kw = scratch(SCRATCH_ATT2, (size_t)(n * hd)), *vw = scratch(SCRATCH_ATT3, (size_t)(n * hd));
    for (long j = lo, c = 0; j <= i; j++) {
      if ((mask && !mask[j]) || (seg && seg[j] != seg[i])) continue;
      long o = ((b * a->Smax + j) * a->nkv + kh) * hd;
      if (a->kb) { widen_row(kw + c * hd, a->kb + o, hd); widen_row(vw + c * hd, a->vb + o, hd); }
      else { memcpy(kw + c * hd, a->k + o, (size_t)hd * sizeof(float)); memcpy(vw + c * hd, a->v + o, (size_t)hd * sizeof(float)); }
      c++;
    }
    k = kw; v = vw; kst = hd;
  }
  float *s = scratch(SCRATCH_ATT1, (size_t)(g * n));
  gemm_serial(s, n, q, hd, 1, k, 1, kst, g, n, hd, 0);   /* S = Q_g·Kᵀ */
  for (long r = 0; r < g; r++) lse[r] = softmax_row(s + r * n, n, a->scale, a->cap);
  gemm_serial(out, hd, s, n, 1, v, kst, 1, g, hd, n, 0); /* O = P·V */
}

static void attention_run(Attn a) {
  long B = a.B, T = a.T, S = a.S, nh = a.nh, hd = a.hd;
  int group = T == 1 && nh / a.nkv >= DECODE_GROUP_MIN;
  long tasks = group ? B * a.nkv : B * nh * ((T + QT - 1) / QT);
  pool_fn fn = group ? decode_task : forward_task;
  if (tasks == 0) return;
  /* decode steps over short caches are too small to wake a second thread */
  if ((double)B * nh * T * S * hd < 1e5) { for (long i = 0; i < tasks; i++) fn(&a, (int)i, 0); return; }
  pool_for((int)tasks, fn, &a);
}

void attention(float *out, float *lse, const float *q, const float *k, const float *v, const uint8_t *mask, const int32_t *seg,
               long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap, int causal) {
  Attn a = { .out = out, .lse = lse, .q = q, .k = k, .v = v, .mask = mask, .seg = seg, .B = B, .T = T, .S = S, .Smax = Smax,
             .nh = nh, .nkv = nkv, .hd = hd, .window = window, .scale = scale, .cap = cap, .causal = causal };
  attention_run(a);
}

void attention_kv_bf16(float *out, float *lse, const float *q, const uint16_t *k, const uint16_t *v, const uint8_t *mask, const int32_t *seg,
                       long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap) {
  Attn a = { .out = out, .lse = lse, .q = q, .kb = k, .vb = v, .mask = mask, .seg = seg, .B = B, .T = T, .S = S, .Smax = Smax,
             .nh = nh, .nkv = nkv, .hd = hd, .window = window, .scale = scale, .cap = cap, .causal = 1 };
  attention_run(a);
}

static void backward_task(void *ctx, int task, int tid) {
  (void)tid;
  const Attn *a = ctx;
  long b = task / a->nkv, kh = task % a->nkv, group = a->nh / a->nkv, hd = a->hd, off = a->S - a->T;
  long qs = a->nh * hd, ks = a->nkv * hd;
  const uint8_t *mask = a->mask ? a->mask + b * a->Smax : NULL;
  const int32_t *seg = a->seg ? a->seg + b * a->Smax : NULL;
  for (long h = kh * group; h < (kh + 1) * group; h++) {
    for (long t0 = 0; t0 < a->T; t0 += QT) {
      long n = a->T - t0 < QT ? a->T - t0 : QT, L = a->causal ? t0 + n + off : a->S;
      long lo = block_start(seg, t0 + off, n, a->window), W = L - lo, kv = ((b * a->Smax + lo) * a->nkv + kh) * hd; /* key window [lo, L) */
      const float *k = a->k + kv, *v = a->v + kv;
      float *dk = a->dk + kv, *dv = a->dv + kv;
      long qi = ((b * a->T + t0) * a->nh + h) * hd;
      const float *q = a->q + qi, *dout = a->dout + qi, *out = a->cout + qi, *lse = a->clse + (b * a->nh + h) * a->T + t0;
      float *p = scratch(SCRATCH_ATT1, (size_t)n * W), *ds = scratch(SCRATCH_ATT2, (size_t)n * W);
      gemm_serial(p, W, q, qs, 1, k, 1, ks, n, W, hd, 0);        /* S = Q·Kᵀ */
      mask_scores(p, n, W, lo, t0, off, a, mask, seg);
      float *g = NULL; /* soft-cap derivative 1 − (s/cap)², 0 on hidden keys */
      if (a->cap > 0) {
        g = scratch(SCRATCH_ATT3, (size_t)n * W);
        for (long i = 0; i < n * W; i++) { float t = p[i] / a->cap; g[i] = p[i] == -INFINITY ? 0.f : 1.f - t * t; }
      }
      gemm_serial(ds, W, dout, qs, 1, v, 1, ks, n, W, hd, 0);    /* dP = dO·Vᵀ */
      for (long r = 0; r < n; r++) {
        float *pr = p + r * W, *dr = ds + r * W;
        if (lse[r] == -INFINITY) { memset(pr, 0, W * sizeof(float)); memset(dr, 0, W * sizeof(float)); continue; }
        exp_shift(pr, W, lse[r]);
        float D = dot(dout + r * qs, out + r * qs, hd);
        vf vD = vf_set1(D), vs = vf_set1(a->scale);
        long j = 0;
        for (; j + VL <= W; j += VL) vf_store(dr + j, vf_mul(vf_mul(vf_load(pr + j), vf_sub(vf_load(dr + j), vD)), vs));
        for (; j < W; j++) dr[j] = pr[j] * (dr[j] - D) * a->scale;
        if (g) for (j = 0; j < W; j++) dr[j] *= g[r * W + j];
      }
      gemm_serial(a->dq + qi, qs, ds, W, 1, k, ks, 1, n, hd, W, 1);  /* dQ += dS·K */
      gemm_serial(dk, ks, ds, 1, W, q, qs, 1, W, hd, n, 1);          /* dK += dSᵀ·Q */
      gemm_serial(dv, ks, p, 1, W, dout, qs, 1, W, hd, n, 1);        /* dV += Pᵀ·dO */
    }
  }
}

void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                        const float *q, const float *k, const float *v, const uint8_t *mask, const int32_t *seg,
                        long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap, int causal) {
  Attn a = { .dq = dq, .dk = dk, .dv = dv, .dout = dout, .cout = out, .clse = lse, .q = q, .k = k, .v = v, .mask = mask, .seg = seg,
             .B = B, .T = T, .S = S, .Smax = Smax, .nh = nh, .nkv = nkv, .hd = hd, .window = window, .scale = scale, .cap = cap, .causal = causal };
  pool_for((int)(B * nkv), backward_task, &a);
}
