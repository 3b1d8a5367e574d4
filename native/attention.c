/* Causal grouped-query attention with a key padding mask and a KV cache stride.
 * Forward: per block of QB queries, scores against the visible keys go into a QB×S scratch tile (never a
 * T×T matrix), an exact two-pass softmax turns them into probabilities, and each value row is loaded once
 * for the QB queries; lse = max + log Σ is saved. Backward recomputes p = exp(s − lse) one query row at a time.
 * Layouts: q,out,dq [B,T,nh,hd]; k,v,dk,dv [B,Smax,nkv,hd]; lse [B,nh,T]; keyMask [B,Smax] (NULL = all valid).
 * Query t sits at key index t + S − T and sees keys j ≤ that index. */
#include "kernels.h"
#include "scratch.h"
#include "threadpool.h"
#include "vec.h"
#include <string.h>

#define QB 4   /* queries per register block */
#define TQ 16  /* queries per task */

typedef struct {
  float *out, *lse, *dq, *dk, *dv;
  const float *q, *k, *v, *dout, *cout, *clse;
  const uint8_t *mask;
  long B, T, S, Smax, nh, nkv, hd;
  float scale;
} Attn;

static inline const float *kv_row(const float *base, const Attn *a, long b, long j, long kh) {
  return base + ((b * a->Smax + j) * a->nkv + kh) * a->hd;
}

/* Scores of n (≤ QB) queries against one key, sharing the key's loads. */
static inline void dots(float *out, const float *const *q, int n, const float *key, long hd) {
  vf acc[QB];
  for (int r = 0; r < QB; r++) acc[r] = vf_set1(0.f);
  long i = 0;
  for (; i + VL <= hd; i += VL) {
    vf kv = vf_load(key + i);
    for (int r = 0; r < n; r++) acc[r] = vf_fma(vf_load(q[r] + i), kv, acc[r]);
  }
  for (int r = 0; r < n; r++) {
    float s = vf_sum(acc[r]);
    for (long t = i; t < hd; t++) s += q[r][t] * key[t];
    out[r] = s;
  }
}

static void forward_task(void *ctx, int task, int tid) {
  (void)tid;
  const Attn *a = ctx;
  long nblk = (a->T + TQ - 1) / TQ;
  long b = task / (a->nh * nblk), h = (task / nblk) % a->nh, t0 = (task % nblk) * TQ;
  long t1 = t0 + TQ < a->T ? t0 + TQ : a->T, kh = h / (a->nh / a->nkv), hd = a->hd, off = a->S - a->T;
  float *sc = scratch(SCRATCH_A, (size_t)QB * a->S + VL);
  float *acc = scratch(SCRATCH_B, (size_t)QB * hd + VL);
  const uint8_t *mask = a->mask ? a->mask + b * a->Smax : NULL;
  for (long t = t0; t < t1; t += QB) {
    int n = t1 - t < QB ? (int)(t1 - t) : QB;
    const float *q[QB];
    for (int r = 0; r < n; r++) q[r] = a->q + ((b * a->T + t + r) * a->nh + h) * hd;
    long last = t + n - 1 + off; /* the block's last query sees keys 0..last */
    for (long j = 0; j <= last; j++) {
      float s[QB];
      if (mask && !mask[j]) { for (int r = 0; r < n; r++) sc[r * a->S + j] = -INFINITY; continue; }
      dots(s, q, n, kv_row(a->k, a, b, j, kh), hd);
      for (int r = 0; r < n; r++) sc[r * a->S + j] = j <= t + r + off ? s[r] * a->scale : -INFINITY;
    }
    float inv[QB];
    for (int r = 0; r < n; r++) {
      float *row = sc + r * a->S, mx = -INFINITY;
      long len = t + r + off + 1, j = 0;
      vf vm = vf_set1(-INFINITY);
      for (; j + VL <= len; j += VL) vm = vf_max(vm, vf_load(row + j));
      mx = vf_hmax(vm);
      for (; j < len; j++) if (row[j] > mx) mx = row[j];
      float *lse = a->lse + (b * a->nh + h) * a->T + t + r;
      if (mx == -INFINITY) { /* sees no key: out = 0, lse = −inf; p = 0 keeps the accumulation below exact */
        *lse = -INFINITY; inv[r] = 0.f;
        memset(row, 0, (last + 1) * sizeof(float));
        continue;
      }
      vf vmax = vf_set1(mx), vs = vf_set1(0.f);
      for (j = 0; j + VL <= len; j += VL) { vf p = vf_exp(vf_sub(vf_load(row + j), vmax)); vf_store(row + j, p); vs = vf_add(vs, p); }
      float sum = vf_sum(vs);
      for (; j < len; j++) { row[j] = sf_exp(row[j] - mx); sum += row[j]; }
      for (; j <= last; j++) row[j] = 0.f; /* keys past this query's causal limit */
      *lse = mx + logf(sum);
      inv[r] = 1.f / sum;
    }
    memset(acc, 0, (size_t)QB * hd * sizeof(float));
    for (long j = 0; j <= last; j++) {
      if (mask && !mask[j]) continue;
      const float *vj = kv_row(a->v, a, b, j, kh);
      for (int r = 0; r < n; r++) {
        float p = sc[r * a->S + j];
        if (p != 0.f) axpy(acc + r * hd, p, vj, hd);
      }
    }
    for (int r = 0; r < n; r++) {
      float *o = a->out + ((b * a->T + t + r) * a->nh + h) * hd;
      for (long i = 0; i < hd; i++) o[i] = acc[r * hd + i] * inv[r];
    }
  }
}

void attention(float *out, float *lse, const float *q, const float *k, const float *v, const uint8_t *mask,
               long B, long T, long S, long Smax, long nh, long nkv, long hd) {
  Attn a = { .out = out, .lse = lse, .q = q, .k = k, .v = v, .mask = mask, .B = B, .T = T, .S = S, .Smax = Smax,
             .nh = nh, .nkv = nkv, .hd = hd, .scale = 1.f / sqrtf((float)hd) };
  long tasks = B * nh * ((T + TQ - 1) / TQ);
  if (tasks == 0) return;
  /* decode steps (T = 1, short S) are too small to wake a second thread */
  if ((double)B * nh * T * S * hd < 1e5) { for (long i = 0; i < tasks; i++) forward_task(&a, (int)i, 0); return; }
  pool_for((int)tasks, forward_task, &a);
}

/* One task per (batch row, kv head): it owns that head's dk/dv rows and the dq rows of its query heads. */
static void backward_task(void *ctx, int task, int tid) {
  (void)tid;
  const Attn *a = ctx;
  long b = task / a->nkv, kh = task % a->nkv, group = a->nh / a->nkv, hd = a->hd, off = a->S - a->T;
  float *p = scratch(SCRATCH_A, (size_t)a->S + VL);
  const uint8_t *mask = a->mask ? a->mask + b * a->Smax : NULL;
  for (long h = kh * group; h < (kh + 1) * group; h++) {
    for (long t = 0; t < a->T; t++) {
      float l = a->clse[(b * a->nh + h) * a->T + t];
      if (l == -INFINITY) continue;
      long qi = ((b * a->T + t) * a->nh + h) * hd, len = t + off + 1;
      const float *q = a->q + qi, *dout = a->dout + qi;
      float *dq = a->dq + qi;
      float D = dot(dout, a->cout + qi, hd); /* Σ_j p_j (dout·v_j) */
      for (long j = 0; j < len; j++)
        p[j] = mask && !mask[j] ? -INFINITY : dot(q, kv_row(a->k, a, b, j, kh), hd) * a->scale - l;
      long j = 0;
      for (; j + VL <= len; j += VL) vf_store(p + j, vf_exp(vf_load(p + j)));
      for (; j < len; j++) p[j] = sf_exp(p[j]);
      for (j = 0; j < len; j++) {
        if (p[j] == 0.f) continue;
        const float *kj = kv_row(a->k, a, b, j, kh), *vj = kv_row(a->v, a, b, j, kh);
        float ds = p[j] * (dot(dout, vj, hd) - D) * a->scale;
        axpy(dq, ds, kj, hd);
        axpy((float *)kv_row(a->dk, a, b, j, kh), ds, q, hd);
        axpy((float *)kv_row(a->dv, a, b, j, kh), p[j], dout, hd);
      }
    }
  }
}

void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                        const float *q, const float *k, const float *v, const uint8_t *mask,
                        long B, long T, long S, long Smax, long nh, long nkv, long hd) {
  Attn a = { .dq = dq, .dk = dk, .dv = dv, .dout = dout, .cout = out, .clse = lse, .q = q, .k = k, .v = v, .mask = mask,
             .B = B, .T = T, .S = S, .Smax = Smax, .nh = nh, .nkv = nkv, .hd = hd, .scale = 1.f / sqrtf((float)hd) };
  pool_for((int)(B * nkv), backward_task, &a);
}
