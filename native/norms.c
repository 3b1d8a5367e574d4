/* RMSNorm and LayerNorm over rows of x[R,N]. Forward and per-row dx run in parallel over rows; the weight
 * (and bias) gradients, sums over rows, run in parallel over column blocks so each float has one writer. */
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

typedef struct {
  float *y, *mean, *rstd, *dx, *dw, *db;
  const float *x, *w, *b, *dy, *cmean, *crstd;
  long R, N; float eps;
} Norm;

static float row_sum(const float *x, long n) {
  vf acc = vf_set1(0.f);
  long i = 0;
  for (; i + VL <= n; i += VL) acc = vf_add(acc, vf_load(x + i));
  float s = vf_sum(acc);
  for (; i < n; i++) s += x[i];
  return s;
}

static void rms_rows(void *c, long lo, long hi) {
  const Norm *k = c;
  long N = k->N;
  for (long r = lo; r < hi; r++) {
    const float *x = k->x + r * N;
    float *y = k->y + r * N;
    float rs = 1.f / sqrtf(dot(x, x, N) / N + k->eps);
    k->rstd[r] = rs;
    vf vr = vf_set1(rs);
    long i = 0;
    for (; i + VL <= N; i += VL) vf_store(y + i, vf_mul(vf_mul(vf_load(x + i), vr), vf_load(k->w + i)));
    for (; i < N; i++) y[i] = x[i] * rs * k->w[i];
  }
}

void rmsnorm(float *y, float *rstd, const float *x, const float *w, long R, long N, float eps) {
  Norm k = { .y = y, .rstd = rstd, .x = x, .w = w, .R = R, .N = N, .eps = eps };
  pool_ranges(R, 4 * N, rms_rows, &k);
}

/* dx += rs·(w∘dy) − rs³/N · x · Σ(w∘dy∘x) */
static void rms_dx_rows(void *c, long lo, long hi) {
  const Norm *k = c;
  long N = k->N;
  for (long r = lo; r < hi; r++) {
    const float *x = k->x + r * N, *dy = k->dy + r * N;
    float *dx = k->dx + r * N;
    float rs = k->crstd[r];
    vf acc = vf_set1(0.f);
    long i = 0;
    for (; i + VL <= N; i += VL) acc = vf_fma(vf_mul(vf_load(k->w + i), vf_load(dy + i)), vf_load(x + i), acc);
    float d = vf_sum(acc);
    for (; i < N; i++) d += k->w[i] * dy[i] * x[i];
    float cc = rs * rs * rs * d / N;
    vf vr = vf_set1(rs), vc = vf_set1(-cc);
    for (i = 0; i + VL <= N; i += VL) {
      vf g = vf_mul(vf_mul(vf_load(k->w + i), vf_load(dy + i)), vr);
      vf_store(dx + i, vf_add(vf_load(dx + i), vf_fma(vc, vf_load(x + i), g)));
    }
    for (; i < N; i++) dx[i] += rs * k->w[i] * dy[i] - cc * x[i];
  }
}

#define COLS 256

/* dw[j] += Σ_r dy·x̂ with x̂ = (x − mean)·rstd (mean null for RMSNorm); db[j] += Σ_r dy when db is set. */
static void param_grad_cols(void *c, long lo, long hi) {
  const Norm *k = c;
  long N = k->N;
  for (long j0 = lo * COLS; j0 < hi * COLS && j0 < N; j0 += COLS) {
    long w = N - j0 < COLS ? N - j0 : COLS;
    float aw[COLS] = {0}, ab[COLS] = {0};
    for (long r = 0; r < k->R; r++) {
      const float *x = k->x + r * N + j0, *dy = k->dy + r * N + j0;
      float rs = k->crstd[r], mu = k->cmean ? k->cmean[r] : 0.f;
      vf vr = vf_set1(rs), vm = vf_set1(mu);
      long i = 0;
      for (; i + VL <= w; i += VL) {
        vf g = vf_load(dy + i);
        vf_store(aw + i, vf_fma(g, vf_mul(vf_sub(vf_load(x + i), vm), vr), vf_load(aw + i)));
        if (k->db) vf_store(ab + i, vf_add(vf_load(ab + i), g));
      }
      for (; i < w; i++) { aw[i] += dy[i] * (x[i] - mu) * rs; ab[i] += dy[i]; }
    }
    for (long i = 0; i < w; i++) k->dw[j0 + i] += aw[i];
    if (k->db) for (long i = 0; i < w; i++) k->db[j0 + i] += ab[i];
  }
}

void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, long R, long N) {
  Norm k = { .dx = dx, .dw = dw, .dy = dy, .x = x, .w = w, .crstd = rstd, .R = R, .N = N };
  pool_ranges(R, 6 * N, rms_dx_rows, &k);
  pool_ranges((N + COLS - 1) / COLS, 3 * R * COLS, param_grad_cols, &k);
}

static void ln_rows(void *c, long lo, long hi) {
  const Norm *k = c;
  long N = k->N;
  for (long r = lo; r < hi; r++) {
    const float *x = k->x + r * N;
    float *y = k->y + r * N;
    float mu = row_sum(x, N) / N;
    vf vm = vf_set1(mu), acc = vf_set1(0.f);
    long i = 0;
    for (; i + VL <= N; i += VL) { vf d = vf_sub(vf_load(x + i), vm); acc = vf_fma(d, d, acc); }
    float var = vf_sum(acc);
    for (; i < N; i++) var += (x[i] - mu) * (x[i] - mu);
    float rs = 1.f / sqrtf(var / N + k->eps);
    k->mean[r] = mu; k->rstd[r] = rs;
    vf vr = vf_set1(rs);
    for (i = 0; i + VL <= N; i += VL)
      vf_store(y + i, vf_fma(vf_mul(vf_sub(vf_load(x + i), vm), vr), vf_load(k->w + i), vf_load(k->b + i)));
    for (; i < N; i++) y[i] = (x[i] - mu) * rs * k->w[i] + k->b[i];
  }
}

void layernorm(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, long R, long N, float eps) {
  Norm k = { .y = y, .mean = mean, .rstd = rstd, .x = x, .w = w, .b = b, .R = R, .N = N, .eps = eps };
  pool_ranges(R, 6 * N, ln_rows, &k);
}

/* with x̂ = (x−μ)·rs and g = w∘dy: dx += rs·(g − mean(g) − x̂·mean(g∘x̂)) */
static void ln_dx_rows(void *c, long lo, long hi) {
  const Norm *k = c;
  long N = k->N;
  for (long r = lo; r < hi; r++) {
    const float *x = k->x + r * N, *dy = k->dy + r * N;
    float *dx = k->dx + r * N;
    float mu = k->cmean[r], rs = k->crstd[r];
    vf vm = vf_set1(mu), vr = vf_set1(rs), sg = vf_set1(0.f), sgx = vf_set1(0.f);
    long i = 0;
    for (; i + VL <= N; i += VL) {
      vf g = vf_mul(vf_load(k->w + i), vf_load(dy + i)), xh = vf_mul(vf_sub(vf_load(x + i), vm), vr);
      sg = vf_add(sg, g); sgx = vf_fma(g, xh, sgx);
    }
    float s1 = vf_sum(sg), s2 = vf_sum(sgx);
    for (; i < N; i++) { float g = k->w[i] * dy[i], xh = (x[i] - mu) * rs; s1 += g; s2 += g * xh; }
    s1 /= N; s2 /= N;
    vf v1 = vf_set1(s1), v2 = vf_set1(s2);
    for (i = 0; i + VL <= N; i += VL) {
      vf g = vf_mul(vf_load(k->w + i), vf_load(dy + i)), xh = vf_mul(vf_sub(vf_load(x + i), vm), vr);
      vf d = vf_sub(vf_sub(g, v1), vf_mul(xh, v2));
      vf_store(dx + i, vf_fma(vr, d, vf_load(dx + i)));
    }
    for (; i < N; i++) { float xh = (x[i] - mu) * rs; dx[i] += rs * (k->w[i] * dy[i] - s1 - xh * s2); }
  }
}

void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const float *mean, const float *rstd, long R, long N) {
  Norm k = { .dx = dx, .dw = dw, .db = db, .dy = dy, .x = x, .w = w, .cmean = mean, .crstd = rstd, .R = R, .N = N };
  pool_ranges(R, 10 * N, ln_dx_rows, &k);
  pool_ranges((N + COLS - 1) / COLS, 4 * R * COLS, param_grad_cols, &k);
}
