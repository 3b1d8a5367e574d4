/* Elementwise and reduction helpers: bias add/backward, add, scale, sum of squares (grad-norm clipping). */
#include "kernels.h"
#include "scratch.h"
#include "threadpool.h"
#include "vec.h"

typedef struct { float *y; const float *a, *b; float alpha; long N; double *partial; } Ctx;

static void add_bias_rows(void *c, long lo, long hi) {
  const Ctx *x = c;
  for (long r = lo; r < hi; r++) {
    float *y = x->y + r * x->N;
    long i = 0;
    for (; i + VL <= x->N; i += VL) vf_store(y + i, vf_add(vf_load(y + i), vf_load(x->b + i)));
    for (; i < x->N; i++) y[i] += x->b[i];
  }
}

void add_bias(float *y, const float *b, long R, long N) {
  Ctx c = { y, NULL, b, 0, N, NULL };
  pool_ranges(R, N, add_bias_rows, &c);
}

/* Column blocks: each task owns db[lo:hi) and sums it over all rows, so no two tasks write the same float. */
#define COLS 256
typedef struct { float *db; const float *dy; long R, N; } BiasCtx;

static void bias_backward_cols(void *c, long lo, long hi) {
  const BiasCtx *x = c;
  for (long j0 = lo * COLS; j0 < hi * COLS && j0 < x->N; j0 += COLS) {
    long w = x->N - j0 < COLS ? x->N - j0 : COLS;
    float acc[COLS] = {0};
    for (long r = 0; r < x->R; r++) {
      const float *dy = x->dy + r * x->N + j0;
      long i = 0;
      for (; i + VL <= w; i += VL) vf_store(acc + i, vf_add(vf_load(acc + i), vf_load(dy + i)));
      for (; i < w; i++) acc[i] += dy[i];
    }
    for (long i = 0; i < w; i++) x->db[j0 + i] += acc[i];
  }
}

void bias_backward(float *db, const float *dy, long R, long N) {
  BiasCtx c = { db, dy, R, N };
  pool_ranges((N + COLS - 1) / COLS, R * COLS, bias_backward_cols, &c);
}

static void add_range(void *c, long lo, long hi) {
  const Ctx *x = c;
  long i = lo;
  for (; i + VL <= hi; i += VL) vf_store(x->y + i, vf_add(vf_load(x->a + i), vf_load(x->b + i)));
  for (; i < hi; i++) x->y[i] = x->a[i] + x->b[i];
}

void add(float *y, const float *a, const float *b, long N) {
  Ctx c = { y, a, b, 0, N, NULL };
  pool_ranges(N, 1, add_range, &c);
}

static void scale_range(void *c, long lo, long hi) {
  const Ctx *x = c;
  vf va = vf_set1(x->alpha);
  long i = lo;
  for (; i + VL <= hi; i += VL) vf_store(x->y + i, vf_mul(vf_load(x->y + i), va));
  for (; i < hi; i++) x->y[i] *= x->alpha;
}

void scale(float *x, float alpha, long N) {
  Ctx c = { x, NULL, NULL, alpha, N, NULL };
  pool_ranges(N, 1, scale_range, &c);
}

/* Fixed blocks summed in float64, then added in block order: the result does not depend on the thread count. */
#define SS_BLOCK 4096
typedef struct { const float *x; long N; double *partial; } SsCtx;

static void sum_squares_blocks(void *c, long lo, long hi) {
  const SsCtx *s = c;
  for (long blk = lo; blk < hi; blk++) {
    long i = blk * SS_BLOCK, end = i + SS_BLOCK < s->N ? i + SS_BLOCK : s->N;
    double t = 0;
    /* float partial sums over 256 elements at most, so the error stays ~1e-7 relative even without SIMD lanes */
    for (; i + 256 <= end; i += 256) {
      vf acc = vf_set1(0.f);
      for (long j = i; j < i + 256; j += VL) { vf v = vf_load(s->x + j); acc = vf_fma(v, v, acc); }
      t += vf_sum(acc);
    }
    for (; i < end; i++) t += (double)s->x[i] * s->x[i];
    s->partial[blk] = t;
  }
}

double sum_squares(const float *x, long N) {
  long blocks = (N + SS_BLOCK - 1) / SS_BLOCK;
  double stack[64];
  double *partial = blocks <= 64 ? stack : (double *)scratch(SCRATCH_C, 2 * (size_t)blocks);
  SsCtx c = { x, N, partial };
  pool_ranges(blocks, SS_BLOCK, sum_squares_blocks, &c);
  double s = 0;
  for (long b = 0; b < blocks; b++) s += partial[b];
  return s;
}
