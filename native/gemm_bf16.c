/* BF16-weight GEMM: C[M,N] = (accumulate ? C : 0) + A[M,K] · W[N,K]ᵀ, A F32 activations (row-major), W a Linear
 * weight stored BF16 (the upper 16 bits of an F32, row-major [N,K]), accumulating in F32.
 *
 * Two paths, chosen at run time (gemm_bf16_path):
 * - "dpbf16" (AVX512-BF16, `vdpbf16ps`): A is first rounded to BF16 (round to nearest even, the rows zero-padded to
 *   a multiple of 32) into one buffer shared by the threads; each 32-wide step is then a BF16 load of W, one of A
 *   and a dot product of 16 BF16 pairs into F32 lanes. Error: A's rounding (relative 2⁻⁸ per product) plus F32 sums.
 * - "widen" (AVX-512F / AVX2 / scalar): W is widened to F32 on the fly (a shift by 16) and multiplied with A as F32:
 *   the only error is F32 summation. The default when the CPU lacks AVX512-BF16; MOVE37_BF16_PATH=widen forces it.
 * Both are dot products of contiguous rows (A's rows, W's rows), in tiles of 6 (dpbf16) or 4 (widen) A rows × 4 W rows,
 * A cut into chunks of MCH rows so a chunk stays in L2 while the W rows of a task pass over it once.
 * Threads take disjoint runs of W rows (columns of C); the result does not depend on the thread count. */
#include "kernels.h"
#include "scratch.h"
#include "simd.h"
#include "threadpool.h"
#include "vec.h"
#include <stdlib.h>
#include <string.h>

#define TM 4    /* A rows per tile (widen path) */
#define TN 4    /* W rows per tile */
#define DTM 6   /* A rows per tile (dpbf16 path: 24 accumulators of the 32 zmm registers) */
#define MCH 48  /* A rows per chunk (a multiple of TM and DTM) */


#if defined(__AVX512BF16__) && defined(__AVX512BW__)
#define HAVE_DPBF16 1
#else
#define HAVE_DPBF16 0
#endif

/* -1: not chosen yet; 0: widen; 1: dpbf16 */
static int path = -1;

static int dpbf16_supported(void) {
#if HAVE_DPBF16
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return 0;
#endif
}

int gemm_bf16_path(int want) {
  if (want == 0) path = 0;
  else if (want == 1) path = dpbf16_supported() ? 1 : 0;
  else if (want == -2 || path < 0) { /* default: the fastest the CPU has, unless MOVE37_BF16_PATH=widen */
    const char *env = getenv("MOVE37_BF16_PATH");
    path = env && strcmp(env, "widen") == 0 ? 0 : dpbf16_supported();
  }
  return path;
}

typedef struct {
  float *C; const float *A; const uint16_t *W; long M, N, K; int accumulate;
  const uint16_t *Ab; long Kp; /* dpbf16: A rounded to BF16, rows Kp (a multiple of 32) apart */
} Job;

static inline void store(const Job *g, long i, long j, float d) {
  float *c = g->C + i * g->N + j;
  *c = (g->accumulate ? *c : 0.f) + d;
}

#if HAVE_DPBF16
static void to_bf16_rows(void *ctx, long lo, long hi) {
  const Job *g = ctx;
  uint16_t *dst0 = (uint16_t *)g->Ab;
  for (long i = lo; i < hi; i++) {
    const float *a = g->A + i * g->K;
    uint16_t *d = dst0 + i * g->Kp;
    for (long k = 0; k < g->Kp; k += 32) {
      long r = g->K - k;
      __mmask16 m0 = r >= 16 ? 0xFFFF : r <= 0 ? 0 : (__mmask16)((1u << r) - 1);
      __mmask16 m1 = r >= 32 ? 0xFFFF : r <= 16 ? 0 : (__mmask16)((1u << (r - 16)) - 1);
      __m512 x0 = _mm512_maskz_loadu_ps(m0, a + k), x1 = _mm512_maskz_loadu_ps(m1, a + k + 16);
      _mm512_storeu_si512((void *)(d + k), (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
    }
  }
}

static inline __m512bh ldw(const uint16_t *p, __mmask32 m) { return (__m512bh)_mm512_maskz_loadu_epi16(m, p); }
static inline __m512bh lda(const uint16_t *p) { return (__m512bh)_mm512_loadu_si512((const void *)p); }

/* d[c] = the sum of the 16 lanes of x_c, the four reduced together (a transpose-and-add, not four reductions) */
static inline void hsum4(float d[4], __m512 x0, __m512 x1, __m512 x2, __m512 x3) {
  __m512 t0 = _mm512_add_ps(_mm512_unpacklo_ps(x0, x1), _mm512_unpackhi_ps(x0, x1)); /* per 128-bit lane: x0 x1 x0 x1 */
  __m512 t1 = _mm512_add_ps(_mm512_unpacklo_ps(x2, x3), _mm512_unpackhi_ps(x2, x3)); /* x2 x3 x2 x3 */
  __m512 u = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1))),
                           _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t0), _mm512_castps_pd(t1)))); /* x0 x1 x2 x3 */
  __m256 h = _mm256_add_ps(_mm512_castps512_ps256(u), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1)));
  _mm_storeu_ps(d, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

/* rows [i0, i0+mr) × W rows [j0, j0+nr), mr ≤ TM, nr ≤ TN (missing rows repeat the last one and are not stored) */
static void tile_dp(const Job *g, long i0, int mr, long j0, int nr) {
  const uint16_t *a[DTM], *w[TN];
  for (int r = 0; r < DTM; r++) a[r] = g->Ab + (i0 + (r < mr ? r : mr - 1)) * g->Kp;
  for (int c = 0; c < TN; c++) w[c] = g->W + (j0 + (c < nr ? c : nr - 1)) * g->K;
  __m512 acc[DTM][TN];
#pragma GCC unroll 24
  for (int r = 0; r < DTM * TN; r++) acc[r / TN][r % TN] = _mm512_setzero_ps();
  long K = g->K, k = 0;
  for (; k + 32 <= K; k += 32) {
    __m512bh wv[TN];
#pragma GCC unroll 4
    for (int c = 0; c < TN; c++) wv[c] = ldw(w[c] + k, 0xFFFFFFFFu);
#pragma GCC unroll 6
    for (int r = 0; r < DTM; r++) {
      __m512bh av = lda(a[r] + k);
#pragma GCC unroll 4
      for (int c = 0; c < TN; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, wv[c]);
    }
  }
  if (k < K) { /* tail: W masked (its rows are not padded), A's padding is zeros */
    __mmask32 m = (__mmask32)((1ull << (K - k)) - 1);
    __m512bh wv[TN];
    for (int c = 0; c < TN; c++) wv[c] = ldw(w[c] + k, m);
    for (int r = 0; r < DTM; r++) {
      __m512bh av = lda(a[r] + k);
      for (int c = 0; c < TN; c++) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], av, wv[c]);
    }
  }
  for (int r = 0; r < mr; r++) {
    float d[4];
    hsum4(d, acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    for (int c = 0; c < nr; c++) store(g, i0 + r, j0 + c, d[c]);
  }
}

/* one A row against TN W rows (decode, batch 1: no repeated rows' work) */
static void row_dp(const Job *g, long i, long j0, int nr) {
  const uint16_t *a = g->Ab + i * g->Kp, *w[TN];
  for (int c = 0; c < TN; c++) w[c] = g->W + (j0 + (c < nr ? c : nr - 1)) * g->K;
  __m512 acc[TN], acc2[TN];
  for (int c = 0; c < TN; c++) { acc[c] = _mm512_setzero_ps(); acc2[c] = _mm512_setzero_ps(); }
  long K = g->K, k = 0;
  for (; k + 64 <= K; k += 64) {
    __m512bh a0 = lda(a + k), a1 = lda(a + k + 32);
#pragma GCC unroll 4
    for (int c = 0; c < TN; c++) {
      acc[c] = _mm512_dpbf16_ps(acc[c], a0, ldw(w[c] + k, 0xFFFFFFFFu));
      acc2[c] = _mm512_dpbf16_ps(acc2[c], a1, ldw(w[c] + k + 32, 0xFFFFFFFFu));
    }
  }
  for (; k < K; k += 32) {
    __mmask32 m = K - k >= 32 ? 0xFFFFFFFFu : (__mmask32)((1ull << (K - k)) - 1);
    __m512bh av = lda(a + k);
    for (int c = 0; c < TN; c++) acc[c] = _mm512_dpbf16_ps(acc[c], av, ldw(w[c] + k, m));
  }
  for (int c = 0; c < nr; c++) store(g, i, j0 + c, _mm512_reduce_add_ps(_mm512_add_ps(acc[c], acc2[c])));
}
#endif


static void tile_widen(const Job *g, long i0, int mr, long j0, int nr) {
  const float *a[TM];
  const uint16_t *w[TN];
  for (int r = 0; r < TM; r++) a[r] = g->A + (i0 + (r < mr ? r : mr - 1)) * g->K;
  for (int c = 0; c < TN; c++) w[c] = g->W + (j0 + (c < nr ? c : nr - 1)) * g->K;
  vf acc[TM][TN];
  for (int r = 0; r < TM * TN; r++) acc[r / TN][r % TN] = vf_set1(0.f);
  long K = g->K, k = 0;
  for (; k + VL <= K; k += VL) {
    vf wv[TN];
#pragma GCC unroll 4
    for (int c = 0; c < TN; c++) wv[c] = vf_load_bf16(w[c] + k);
#pragma GCC unroll 4
    for (int r = 0; r < TM; r++) {
      vf av = vf_load(a[r] + k);
#pragma GCC unroll 4
      for (int c = 0; c < TN; c++) acc[r][c] = vf_fma(av, wv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < mr; r++)
    for (int c = 0; c < nr; c++) {
      float d = vf_sum(acc[r][c]);
      for (long t = k; t < K; t++) d += a[r][t] * bf16_to_f32(w[c][t]);
      store(g, i0 + r, j0 + c, d);
    }
}

static void row_widen(const Job *g, long i, long j0, int nr) {
  const float *a = g->A + i * g->K;
  const uint16_t *w[TN];
  for (int c = 0; c < TN; c++) w[c] = g->W + (j0 + (c < nr ? c : nr - 1)) * g->K;
  vf acc[TN], acc2[TN];
  for (int c = 0; c < TN; c++) { acc[c] = vf_set1(0.f); acc2[c] = vf_set1(0.f); }
  long K = g->K, k = 0;
  for (; k + 2 * VL <= K; k += 2 * VL) {
    vf a0 = vf_load(a + k), a1 = vf_load(a + k + VL);
#pragma GCC unroll 4
    for (int c = 0; c < TN; c++) {
      acc[c] = vf_fma(a0, vf_load_bf16(w[c] + k), acc[c]);
      acc2[c] = vf_fma(a1, vf_load_bf16(w[c] + k + VL), acc2[c]);
    }
  }
  for (; k + VL <= K; k += VL) {
    vf av = vf_load(a + k);
    for (int c = 0; c < TN; c++) acc[c] = vf_fma(av, vf_load_bf16(w[c] + k), acc[c]);
  }
  for (int c = 0; c < nr; c++) {
    float d = vf_sum(vf_add(acc[c], acc2[c]));
    for (long t = k; t < K; t++) d += a[t] * bf16_to_f32(w[c][t]);
    store(g, i, j0 + c, d);
  }
}

/* W rows [lo·TN, hi·TN): for each chunk of A rows, every tile of the run */
static void bf16_cols(void *ctx, long lo, long hi) {
  const Job *g = ctx;
  int dp = g->Ab != NULL;
  for (long i0 = 0; i0 < g->M; i0 += MCH) {
    long i1 = i0 + MCH < g->M ? i0 + MCH : g->M;
    for (long j0 = lo * TN; j0 < hi * TN && j0 < g->N; j0 += TN) {
      int nr = g->N - j0 < TN ? (int)(g->N - j0) : TN;
      long i = i0;
#if HAVE_DPBF16
      if (dp) {
        for (; i < i1; i += DTM) {
          int mr = i1 - i < DTM ? (int)(i1 - i) : DTM;
          if (mr == 1) row_dp(g, i, j0, nr); else tile_dp(g, i, mr, j0, nr);
        }
        continue;
      }
#endif
      for (; i + TM <= i1; i += TM) tile_widen(g, i, TM, j0, nr);
      for (; i < i1; i++) row_widen(g, i, j0, nr);
    }
  }
  (void)dp;
}

void gemm_bf16(float *C, const float *A, const uint16_t *W, long M, long N, long K, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!accumulate) memset(C, 0, (size_t)M * N * sizeof(float)); return; }
  Job g = { C, A, W, M, N, K, accumulate, NULL, 0 };
#if HAVE_DPBF16
  if (gemm_bf16_path(-1) == 1) {
    g.Kp = (K + 31) / 32 * 32;
    /* the calling thread's scratch, shared by the tasks (which use none of their own) */
    g.Ab = (const uint16_t *)scratch(SCRATCH_A, (size_t)(M * g.Kp / 2));
    pool_ranges(M, K, to_bf16_rows, &g);
  }
#endif
  pool_ranges((N + TN - 1) / TN, 2 * M * K * TN, bf16_cols, &g);
}

/* ---------------------------------------------------------------------------------------------------------------
 * The "NN" product through a BF16 weight, the activation gradient of a frozen Linear:
 *   X[M,K] = (accumulate ? X : 0) + Y[M,N] · W[N,K],   W BF16 row-major [N,K] (the forward's weight, not transposed).
 * Each output is Σ_n Y[i,n]·W[n,k]: W is read along its rows (k contiguous), so a tile is NTM Y rows × TW columns of X
 * held in registers while n runs over all of N, each step a broadcast of Y[i,n] against TW columns of W's row n.
 * - "dpbf16": Y is rounded to BF16 first (its rows zero-padded to an even length); a step takes two W rows n, n+1,
 *   interleaves them into (W[n,k], W[n+1,k]) pairs (vpunpck{l,h}wd, which orders columns per 128-bit lane; the tile
 *   is put back in order once at its store) and `vdpbf16ps` adds Y[i,n]·W[n,k] + Y[i,n+1]·W[n+1,k] into F32 lanes.
 *   Error: Y's rounding (relative 2⁻⁸ per product) plus F32 sums.
 * - "widen": W's row is widened to F32 (a shift by 16) and multiplied by Y[i,n] in F32: only F32 summation error.
 *   Columns past the last full tile (fewer than TW) take a scalar loop.
 * Threads take disjoint runs of column tiles (of X and W); every output's sum runs over n in order on one thread,
 * so the result does not depend on the thread count. Same path switch as gemm_bf16 (gemm_bf16_path).
 * ------------------------------------------------------------------------------------------------------------- */
#define NTM 6   /* Y rows per tile: 6 × 4 accumulators of the 32 zmm registers */
#define NB 128  /* W rows per pass over a column tile (even): its slab, NB × 64 BF16 = 16 KB, stays in L1 across the row tiles */

typedef struct {
  float *X; const float *Y; const uint16_t *W; long M, N, K; int accumulate;
  const uint16_t *Yb; long Np; /* dpbf16: Y rounded to BF16, rows Np (a multiple of 32) apart */
  long tw;                     /* columns per tile */
} NNJob;

static inline void nn_store(float *x, vf v, int add) {
  vf_store(x, add ? vf_add(vf_load(x), v) : v);
}

/* widen: rows [i0, i0+mr) × columns [k0, k0 + 4·VL), the sum over W rows [n0, n1) (added to X when add) */
static void nn_tile_widen(const NNJob *g, long i0, int mr, long k0, long n0, long n1, int add) {
  const float *y[NTM];
  for (int r = 0; r < NTM; r++) y[r] = g->Y + (i0 + (r < mr ? r : mr - 1)) * g->N;
  vf acc[NTM][4];
  for (int r = 0; r < NTM * 4; r++) acc[r / 4][r % 4] = vf_set1(0.f);
  const uint16_t *w = g->W + n0 * g->K + k0;
  for (long n = n0; n < n1; n++, w += g->K) {
    vf wv[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) wv[c] = vf_load_bf16(w + c * VL);
#pragma GCC unroll 6
    for (int r = 0; r < NTM; r++) {
      vf yv = vf_set1(y[r][n]);
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) acc[r][c] = vf_fma(yv, wv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < NTM; r++) /* constant indices only: acc stays in registers */
    if (r < mr)
#pragma GCC unroll 4
      for (int c = 0; c < 4; c++) nn_store(g->X + (i0 + r) * g->K + k0 + c * VL, acc[r][c], add);
}

/* the columns [k0, k1) past the last full widen tile, one at a time */
static void nn_cols_scalar(const NNJob *g, long k0, long k1) {
  for (long i = 0; i < g->M; i++)
    for (long k = k0; k < k1; k++) {
      float s = 0.f;
      for (long n = 0; n < g->N; n++) s += g->Y[i * g->N + n] * bf16_to_f32(g->W[n * g->K + k]);
      float *x = g->X + i * g->K + k;
      *x = (g->accumulate ? *x : 0.f) + s;
    }
}

#if HAVE_DPBF16
/* one step of the dpbf16 tile: W rows n (a0 | a1, 64 columns) and n+1 (b0 | b1) interleaved into pairs, times each Y row's
 * pair (Y[i,n], Y[i,n+1]) */
static inline __attribute__((always_inline)) void nn_step_dp(__m512 acc[NTM][4], const uint32_t *const y[NTM], long n,
    __m512i a0, __m512i a1, __m512i b0, __m512i b1) {
  __m512bh p0 = (__m512bh)_mm512_unpacklo_epi16(a0, b0), p1 = (__m512bh)_mm512_unpackhi_epi16(a0, b0);
  __m512bh p2 = (__m512bh)_mm512_unpacklo_epi16(a1, b1), p3 = (__m512bh)_mm512_unpackhi_epi16(a1, b1);
#pragma GCC unroll 6
  for (int r = 0; r < NTM; r++) {
    __m512bh yv = (__m512bh)_mm512_set1_epi32((int)y[r][n >> 1]);
    acc[r][0] = _mm512_dpbf16_ps(acc[r][0], yv, p0);
    acc[r][1] = _mm512_dpbf16_ps(acc[r][1], yv, p1);
    acc[r][2] = _mm512_dpbf16_ps(acc[r][2], yv, p2);
    acc[r][3] = _mm512_dpbf16_ps(acc[r][3], yv, p3);
  }
}

/* dpbf16: rows [i0, i0+mr) × columns [k0, k0+kc), kc ≤ 64 (the missing columns masked: loaded as 0, not stored), the
 * sum over W rows [n0, n1), n0 even (added to X when add) */
static void nn_tile_dp(const NNJob *g, long i0, int mr, long k0, int kc, long n0, long n1, int add) {
  const uint32_t *y[NTM]; /* a row of Y as BF16 pairs (Y[i,n], Y[i,n+1]) */
  for (int r = 0; r < NTM; r++) y[r] = (const uint32_t *)(g->Yb + (i0 + (r < mr ? r : mr - 1)) * g->Np);
  __mmask32 m0 = kc >= 32 ? 0xFFFFFFFFu : (__mmask32)((1u << kc) - 1);
  __mmask32 m1 = kc >= 64 ? 0xFFFFFFFFu : kc <= 32 ? 0 : (__mmask32)((1u << (kc - 32)) - 1);
  __m512 acc[NTM][4];
#pragma GCC unroll 24
  for (int r = 0; r < NTM * 4; r++) acc[r / 4][r % 4] = _mm512_setzero_ps();
  const long N = n1, K = g->K;
  const uint16_t *w = g->W + n0 * K + k0;
  long n = n0;
  for (; n + 1 < N; n += 2, w += 2 * K) nn_step_dp(acc, y, n, _mm512_maskz_loadu_epi16(m0, w), _mm512_maskz_loadu_epi16(m1, w + 32),
                                                   _mm512_maskz_loadu_epi16(m0, w + K), _mm512_maskz_loadu_epi16(m1, w + K + 32));
  if (n < N) /* an odd N: the last row pairs with zeros (Y's padding is zero too) */
    nn_step_dp(acc, y, n, _mm512_maskz_loadu_epi16(m0, w), _mm512_maskz_loadu_epi16(m1, w + 32), _mm512_setzero_si512(), _mm512_setzero_si512());
  /* p[0] lane j holds column 8·(j/4) + j%4 of the first 32, p[1] column 8·(j/4) + 4 + j%4: back in order */
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
#pragma GCC unroll 6
  for (int r = 0; r < NTM; r++) { /* constant indices only: acc stays in registers */
    if (r >= mr) break;
    float *x = g->X + (i0 + r) * K + k0;
    __m512 out[4] = { _mm512_permutex2var_ps(acc[r][0], lo, acc[r][1]), _mm512_permutex2var_ps(acc[r][0], hi, acc[r][1]),
                      _mm512_permutex2var_ps(acc[r][2], lo, acc[r][3]), _mm512_permutex2var_ps(acc[r][2], hi, acc[r][3]) };
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
      int left = kc - 16 * c;
      if (left <= 0) break;
      __mmask16 m = left >= 16 ? 0xFFFF : (__mmask16)((1u << left) - 1);
      __m512 v = out[c];
      if (add) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + 16 * c), v);
      _mm512_mask_storeu_ps(x + 16 * c, m, v);
    }
  }
}
#endif

/* column tiles [lo, hi) */
static void nn_cols(void *ctx, long lo, long hi) {
  const NNJob *g = ctx;
  for (long t = lo; t < hi; t++) {
    long k0 = t * g->tw;
    if (!g->Yb && k0 + g->tw > g->K) { nn_cols_scalar(g, k0, g->K); continue; }
    for (long n0 = 0; n0 < g->N; n0 += NB) {
      long n1 = n0 + NB < g->N ? n0 + NB : g->N;
      int add = g->accumulate || n0 > 0;
      for (long i = 0; i < g->M; i += NTM) {
        int mr = g->M - i < NTM ? (int)(g->M - i) : NTM;
#if HAVE_DPBF16
        if (g->Yb) { nn_tile_dp(g, i, mr, k0, g->K - k0 < g->tw ? (int)(g->K - k0) : (int)g->tw, n0, n1, add); continue; }
#endif
        nn_tile_widen(g, i, mr, k0, n0, n1, add);
      }
    }
  }
}

void gemm_bf16_nn(float *X, const float *Y, const uint16_t *W, long M, long N, long K, int accumulate) {
  if (M <= 0 || K <= 0) return;
  if (N <= 0) { if (!accumulate) memset(X, 0, (size_t)M * K * sizeof(float)); return; }
  NNJob g = { X, Y, W, M, N, K, accumulate, NULL, 0, 4 * VL };
#if HAVE_DPBF16
  if (gemm_bf16_path(-1) == 1) {
    Job cv = { NULL, Y, NULL, M, 0, N, 0, NULL, (N + 31) / 32 * 32 };
    g.Np = cv.Kp; g.tw = 64;
    cv.Ab = g.Yb = (const uint16_t *)scratch(SCRATCH_A, (size_t)(M * g.Np / 2));
    pool_ranges(M, N, to_bf16_rows, &cv);
  }
#endif
  pool_ranges((K + g.tw - 1) / g.tw, 2 * M * N * g.tw, nn_cols, &g);
}
