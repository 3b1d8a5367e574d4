/* Machine FP32 peak: independent FMA chains held in registers, no memory traffic. The denominator for
 * "percent of peak" in the benchmarks. */
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"
#include <time.h>

#define CHAINS 12 /* > FMA latency × FMA ports, so the loop is throughput-bound */

typedef struct { long iters; float sink[256]; } Peak;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#if defined(__AVX512F__)
#define LANES 16
static void fma_loop(void *ctx, int task, int tid) {
  (void)tid;
  Peak *p = ctx;
  __m512 acc[CHAINS], x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_set1_ps((float)c);
  for (long i = 0; i < p->iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm512_fmadd_ps(acc[c], x, y);
  }
  __m512 s = acc[0];
  for (int c = 1; c < CHAINS; c++) s = _mm512_add_ps(s, acc[c]);
  p->sink[task] = _mm512_reduce_add_ps(s);
}
#elif defined(__AVX2__) && defined(__FMA__)
#define LANES 8
static void fma_loop(void *ctx, int task, int tid) {
  (void)tid;
  Peak *p = ctx;
  __m256 acc[CHAINS], x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
  for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_set1_ps((float)c);
  for (long i = 0; i < p->iters; i++) {
#pragma GCC unroll 12
    for (int c = 0; c < CHAINS; c++) acc[c] = _mm256_fmadd_ps(acc[c], x, y);
  }
  float out[8];
  __m256 s = acc[0];
  for (int c = 1; c < CHAINS; c++) s = _mm256_add_ps(s, acc[c]);
  _mm256_storeu_ps(out, s);
  p->sink[task] = out[0] + out[7];
}
#else
#define LANES 1
static void fma_loop(void *ctx, int task, int tid) {
  (void)tid;
  Peak *p = ctx;
  float acc[CHAINS];
  for (int c = 0; c < CHAINS; c++) acc[c] = (float)c;
  for (long i = 0; i < p->iters; i++)
    for (int c = 0; c < CHAINS; c++) acc[c] = acc[c] * 0.999999f + 1e-7f;
  float s = 0;
  for (int c = 0; c < CHAINS; c++) s += acc[c];
  p->sink[task] = s;
}
#endif

double peak_gflops(double seconds) {
  int threads = pool_threads();
  if (threads > 256) threads = 256;
  Peak p = { 1 << 16, {0} };
  /* grow the iteration count until one run takes a measurable time, then scale to `seconds` */
  double t = 0;
  for (;;) {
    double t0 = now();
    pool_for(threads, fma_loop, &p);
    t = now() - t0;
    if (t > 0.02 || p.iters > (1L << 40)) break;
    p.iters *= 4;
  }
  if (seconds > t) p.iters = (long)(p.iters * (seconds / t));
  double t0 = now();
  pool_for(threads, fma_loop, &p);
  t = now() - t0;
  return (double)threads * p.iters * CHAINS * LANES * 2.0 / t * 1e-9;
}
