/* SwiGLU (silu(gate)·up), tanh-approximated GELU and GeGLU (gelu_tanh(gate)·up, Gemma's MLP), forward and backward
 * (backward accumulates); ReLU and its mask (the self-play networks). */
#include <math.h>
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

typedef struct { float *o1, *o2; const float *a, *b, *c; } Act;

static inline vf vf_sigmoid(vf x) {
  vf one = vf_set1(1.f);
  return vf_div(one, vf_add(one, vf_exp(vf_sub(vf_set1(0.f), x))));
}
static inline float sf_sigmoid(float x) { return 1.f / (1.f + sf_exp(-x)); }

/* h = gate·σ(gate)·up */
static void swiglu_range(void *c, long lo, long hi) {
  const Act *k = c;
  long i = lo;
  for (; i + VL <= hi; i += VL) {
    vf g = vf_load(k->a + i);
    vf_store(k->o1 + i, vf_mul(vf_mul(g, vf_sigmoid(g)), vf_load(k->b + i)));
  }
  for (; i < hi; i++) { float g = k->a[i]; k->o1[i] = g * sf_sigmoid(g) * k->b[i]; }
}

void swiglu(float *h, const float *gate, const float *up, long N) {
  Act k = { h, NULL, gate, up, NULL };
  pool_ranges(N, 24, swiglu_range, &k);
}

/* dgate += dh·up·σ(g)(1 + g(1 − σ(g))); dup += dh·g·σ(g) */
static void swiglu_bw_range(void *c, long lo, long hi) {
  const Act *k = c;
  const float *gate = k->a, *up = k->b, *dh = k->c;
  vf one = vf_set1(1.f);
  long i = lo;
  for (; i + VL <= hi; i += VL) {
    vf g = vf_load(gate + i), s = vf_sigmoid(g), d = vf_load(dh + i);
    vf dg = vf_mul(vf_mul(d, vf_load(up + i)), vf_mul(s, vf_fma(g, vf_sub(one, s), one)));
    vf_store(k->o1 + i, vf_add(vf_load(k->o1 + i), dg));
    vf_store(k->o2 + i, vf_fma(d, vf_mul(g, s), vf_load(k->o2 + i)));
  }
  for (; i < hi; i++) {
    float g = gate[i], s = sf_sigmoid(g);
    k->o1[i] += dh[i] * up[i] * s * (1.f + g * (1.f - s));
    k->o2[i] += dh[i] * g * s;
  }
}

void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long N) {
  Act k = { dgate, dup, gate, up, dh };
  pool_ranges(N, 32, swiglu_bw_range, &k);
}

#define GELU_C 0.7978845608028654f /* √(2/π) */
#define GELU_A 0.044715f

/* tanh(u) = 1 − 2/(e^{2u} + 1): exact at ±∞ through exp's 0 and +∞ */
static inline vf vf_tanh(vf u) {
  vf one = vf_set1(1.f);
  return vf_sub(one, vf_div(vf_set1(2.f), vf_add(vf_exp(vf_add(u, u)), one)));
}

/* gelu_tanh(x) = ½x(1 + tanh(c(x + a x³))); with `d`, also its derivative ½(1 + th) + ½x(1 − th²)·c(1 + 3a x²) */
static inline vf vf_gelu(vf x, vf *d) {
  vf half = vf_set1(0.5f), one = vf_set1(1.f), cc = vf_set1(GELU_C), x2 = vf_mul(x, x);
  vf th = vf_tanh(vf_mul(cc, vf_fma(vf_mul(vf_set1(GELU_A), x), x2, x)));
  if (d) *d = vf_fma(vf_mul(vf_mul(half, x), vf_sub(one, vf_mul(th, th))), vf_mul(cc, vf_fma(vf_set1(3.f * GELU_A), x2, one)), vf_mul(half, vf_add(one, th)));
  return vf_mul(vf_mul(half, x), vf_add(one, th));
}

static inline float sf_gelu(float x, float *d) {
  float th = tanhf(GELU_C * (x + GELU_A * x * x * x));
  if (d) *d = 0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * GELU_C * (1.f + 3.f * GELU_A * x * x);
  return 0.5f * x * (1.f + th);
}

static void gelu_range(void *c, long lo, long hi) {
  const Act *k = c;
  long i = lo;
  for (; i + VL <= hi; i += VL) vf_store(k->o1 + i, vf_gelu(vf_load(k->a + i), NULL));
  for (; i < hi; i++) k->o1[i] = sf_gelu(k->a[i], NULL);
}

void gelu(float *y, const float *x, long N) {
  Act k = { y, NULL, x, NULL, NULL };
  pool_ranges(N, 24, gelu_range, &k);
}

/* dx += dy·gelu'(x) */
static void gelu_bw_range(void *c, long lo, long hi) {
  const Act *k = c;
  const float *dy = k->b, *xs = k->a;
  long i = lo;
  for (; i + VL <= hi; i += VL) {
    vf g;
    vf_gelu(vf_load(xs + i), &g);
    vf_store(k->o1 + i, vf_fma(vf_load(dy + i), g, vf_load(k->o1 + i)));
  }
  for (; i < hi; i++) {
    float g;
    sf_gelu(xs[i], &g);
    k->o1[i] += dy[i] * g;
  }
}

void gelu_backward(float *dx, const float *dy, const float *x, long N) {
  Act k = { dx, NULL, x, dy, NULL };
  pool_ranges(N, 32, gelu_bw_range, &k);
}

/* h = gelu_tanh(gate)·up */
static void geglu_range(void *c, long lo, long hi) {
  const Act *k = c;
  long i = lo;
  for (; i + VL <= hi; i += VL) vf_store(k->o1 + i, vf_mul(vf_gelu(vf_load(k->a + i), NULL), vf_load(k->b + i)));
  for (; i < hi; i++) k->o1[i] = sf_gelu(k->a[i], NULL) * k->b[i];
}

void geglu(float *h, const float *gate, const float *up, long N) {
  Act k = { h, NULL, gate, up, NULL };
  pool_ranges(N, 24, geglu_range, &k);
}

/* dgate += dh·up·gelu'(g); dup += dh·gelu(g) */
static void geglu_bw_range(void *c, long lo, long hi) {
  const Act *k = c;
  const float *gate = k->a, *up = k->b, *dh = k->c;
  long i = lo;
  for (; i + VL <= hi; i += VL) {
    vf g, d = vf_load(dh + i);
    vf y = vf_gelu(vf_load(gate + i), &g);
    vf_store(k->o1 + i, vf_fma(vf_mul(d, vf_load(up + i)), g, vf_load(k->o1 + i)));
    vf_store(k->o2 + i, vf_fma(d, y, vf_load(k->o2 + i)));
  }
  for (; i < hi; i++) {
    float g, y = sf_gelu(gate[i], &g);
    k->o1[i] += dh[i] * up[i] * g;
    k->o2[i] += dh[i] * y;
  }
}

void geglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long N) {
  Act k = { dgate, dup, gate, up, dh };
  pool_ranges(N, 32, geglu_bw_range, &k);
}

/* ReLU as ½(x + |x|) and the mask dy ·= (y > 0), both branch-free like the reference backend's (NaN stays NaN, and an
 * infinite dy where y ≤ 0 gives NaN): plain loops the compiler vectorises. */
static void relu_range(void *c, long lo, long hi) {
  const Act *k = c;
  for (long i = lo; i < hi; i++) { float v = k->a[i]; k->o1[i] = 0.5f * (v + fabsf(v)); }
}

void relu(float *y, const float *x, long N) {
  Act k = { y, NULL, x, NULL, NULL };
  pool_ranges(N, 1, relu_range, &k);
}

static void relu_mask_range(void *c, long lo, long hi) {
  const Act *k = c;
  for (long i = lo; i < hi; i++) k->o1[i] *= (float)(k->a[i] > 0.f);
}

void relu_mask(float *dy, const float *y, long N) {
  Act k = { dy, NULL, y, NULL, NULL };
  pool_ranges(N, 1, relu_mask_range, &k);
}
