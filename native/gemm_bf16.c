/* BF16-weight GEMM: C[M,N] = (accumulate ? C : 0) + A[M,K] · W[N,K]ᵀ, A F32 activations (row-major), W a Linear
 * weight stored BF16 (the upper 16 bits of an F32, row-major [N,K]), accumulating in F32; and the NN product through
 * the same weight (gemm_bf16_nn, the activation gradient of a frozen Linear, at the end of this file).
 *
 * Two paths, chosen at run time (gemm_bf16_path):
 * - "dpbf16" (AVX512-BF16, `vdpbf16ps`): A is first rounded to BF16 (round to nearest even) once per call; each
 *   `vdpbf16ps` then adds 16 lanes of two BF16 products into F32 sums. Error: A's rounding (relative 2⁻⁸ per
 *   product) plus F32 sums. From PANEL_M rows on (batched decode steps, and since 7 Dec 2026 training's many rows
 *   too) the packed panel kernel runs (gemm_bf16_panel below: W transposed on the fly into k-pair panels, a
 *   12 × 32 register tile of C; A in row chunks, W's panels in column chunks, sized for L2); one row (batch-1
 *   decode) takes dot products of A's row against 4 W rows read in place (row_dp), which reads W once and needs no
 *   packing.
 * - "widen" (AVX-512F / AVX2 / scalar): W is widened to F32 on the fly (a shift by 16) and multiplied with A as F32:
 *   the only error is F32 summation. The default when the CPU lacks AVX512-BF16; MOVE37_BF16_PATH=widen forces it.
 *   Dot products of contiguous rows (A's rows, W's rows) in tiles of 4 A rows × 4 W rows, A cut into chunks of MCH
 *   rows so a chunk stays in L2 while the W rows of a task pass over it once. From WIDE_M rows of A on (training
 *   batches, prefill) W is widened once into F32 scratch and the packed F32 SGEMM runs (exact; the widening, N·K
 *   values, costs a few % of the product's 2·M·N·K FLOPs).
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
#define MCH 48  /* A rows per chunk (a multiple of TM) */
#define WIDE_M 96              /* A rows from which the widen path widens W and runs the packed SGEMM */
#ifndef PANEL_M
#define PANEL_M 2              /* A rows from which the dpbf16 path runs the packed panel kernel (gemm_bf16_panel) */
#endif
#ifndef PF
#define PF 1                   /* software prefetch of W ahead of use (row_dp, the panel kernel) */
#endif
#define WIDE_MAX (1L << 24)    /* … when W has at most this many values (64 MB of F32 scratch; Qwen2.5-0.5B's MLP: 4.4 M) */


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
  return __builtin_cpu_supports("avx512bf16") != 0; /* a feature bit (16 here), not 1: the callers compare path == 1 */
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

/* one A row against TN W rows (decode, batch 1: no repeated rows' work) */
static void row_dp(const Job *g, long i, long j0, int nr) {
  const uint16_t *a = g->Ab + i * g->Kp, *w[TN];
  for (int c = 0; c < TN; c++) w[c] = g->W + (j0 + (c < nr ? c : nr - 1)) * g->K;
  __m512 acc[TN], acc2[TN];
  for (int c = 0; c < TN; c++) { acc[c] = _mm512_setzero_ps(); acc2[c] = _mm512_setzero_ps(); }
  long K = g->K, k = 0;
  int pf = PF && j0 + 2 * TN <= g->N; /* the next TN rows at the same place: W streams from memory a step ahead */
  for (; k + 64 <= K; k += 64) {
    __m512bh a0 = lda(a + k), a1 = lda(a + k + 32);
    if (pf)
#pragma GCC unroll 4
      for (int c = 0; c < TN; c++) { _mm_prefetch((const char *)(w[c] + TN * K + k), _MM_HINT_T0); _mm_prefetch((const char *)(w[c] + TN * K + k + 32), _MM_HINT_T0); }
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

/* ---------------------------------------------------------------------------------------------------------------
 * From 2 rows (a decode step; training's many rows), dpbf16: the outer-product form of the packed SGEMM (gemm.c's
 * small-M path) with BF16 pairs in place of floats. A is rounded to BF16 once per call and packed per K block into
 * strips of PMR rows, each k-pair (A[i,k], A[i,k+1]) one dword: [block][strip][pair][PMR]. W is read in panels of
 * PNR = 32 of its rows (32 columns of C, PNR·K contiguous BF16 values, so a panel streams from memory start to
 * end), one K block at a time: 16 rows × 32 k are loaded and transposed as 16×16 dwords, which puts the 16 rows'
 * pairs for one k-pair side by side ([pair][32 rows], the layout `vdpbf16ps` takes), into a per-thread buffer that
 * stays in L1 while every strip of A passes over it. The microkernel holds PMR × 32 sums of C in 2·PMR registers;
 * a k-pair step is two loads of W, PMR broadcasts of A's pair and 2·PMR `vdpbf16ps` (64 products each), so every W
 * value loaded is used by all M rows and W is read from memory once per call. Threads take disjoint runs of panels;
 * every sum runs over k in the same order whatever the thread count. Error: that of the dpbf16 path (A rounded).
 * Many rows: A is taken PMC rows at a time (a row chunk, whose packed K block stays in L2) and, when a row chunk's
 * packed A (all of K) would not stay in L2 across panels, a task's panels several at a time (panel_cols).
 * The NN product (nn = 1: C = A·W with W [K,N], reduced over W's rows) runs the same kernel: only W's panels are
 * packed differently (panel_pack_w_nn: rows n, n+1 interleaved into the same [pair][32 columns] layout).
 * ------------------------------------------------------------------------------------------------------------- */
#define PMR 12   /* A rows per microtile: 24 accumulators + 2 W vectors + a broadcast of the 32 zmm registers */
#define PNR 32   /* W rows per panel */
#define PKC 256  /* k per block (a multiple of 32): the packed block, PNR × PKC BF16 = 16 KB, stays in L1 */
#ifndef PMC
#define PMC 384  /* A rows per row chunk at most (a multiple of PMR): its packed block, PMC × PKC BF16 = 192 KB, in L2 */
#endif
#define PA_L2 (1L << 20)   /* bytes of a row chunk's packed A (all K blocks) taken to stay in L2 across panels */
#define PC_L2 65536        /* floats of C a column chunk keeps in L2 across K blocks (256 KB) */

typedef struct {
  float *C; const float *A; const uint16_t *W; long M, N, K; int accumulate;
  int nn;                             /* W is [K,N] (the NN product: C = A·W) rather than [N,K] (C = A·Wᵀ) */
  uint32_t *Ap; long kb, nkb, ablock; /* packed A: block p at Ap + p·ablock dwords, strips PMR·kb/2 apart */
  long mc, cw;                        /* rows of A per row chunk; panels per column chunk (panel_cols) */
} Panel;

/* the near-equal K blocks of at most PKC, multiples of 32 (K = 300 gives 160 + 140 rather than 256 + 44) */
static long pk_block(long K) {
  long n = (K + PKC - 1) / PKC, kb = ((K + n - 1) / n + 31) / 32 * 32;
  return kb < PKC ? kb : PKC;
}

/* A rows rounded to BF16 and packed, K blocks [lo, hi) (rows past M and k past K are zeros) */
static void panel_pack_a(void *ctx, long lo, long hi) {
  const Panel *g = ctx;
  long strips = (g->M + PMR - 1) / PMR;
  for (long p = lo; p < hi; p++) {
    long k0 = p * g->kb, kc = g->K - k0 < g->kb ? g->K - k0 : g->kb, pairs = g->kb / 2;
    uint32_t *blk = g->Ap + p * g->ablock;
    for (long s = 0; s < strips; s++) {
      uint32_t *dst = blk + s * PMR * pairs;
      for (int r = 0; r < PMR; r++) {
        long i = s * PMR + r;
        for (long k = 0; k < g->kb; k += 32) {
          uint32_t v[16];
          long left = i < g->M ? kc - k : 0;
          __mmask16 m0 = left >= 16 ? 0xFFFF : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
          __mmask16 m1 = left >= 32 ? 0xFFFF : left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1);
          const float *a = g->A + (i < g->M ? i : 0) * g->K + k0 + k;
          __m512 x0 = _mm512_maskz_loadu_ps(m0, a), x1 = _mm512_maskz_loadu_ps(m1, a + 16);
          _mm512_storeu_si512((void *)v, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
          for (int q = 0; q < 16; q++) dst[(k / 2 + q) * PMR + r] = v[q];
        }
      }
    }
  }
}

/* W rows [j0, j0+nr) × k [k0, k0+kc) into dst as [pair][PNR] dwords, kc rounded up to 32 (rows past nr and k past K
 * are zeros) */
static void panel_pack_w(uint32_t *dst, const uint16_t *W, long K, long j0, int nr, long k0, long kc, int pf) {
  for (long k = 0; k < kc; k += 32) {
    if (pf) /* the next panel's lines at the same place: W streams from memory a panel ahead of its use */
      for (int c = 0; c < PNR; c++) _mm_prefetch((const char *)(W + (j0 + PNR + c) * K + k0 + k), _MM_HINT_T0);
    long left = kc - k;
    __mmask32 m = left >= 32 ? 0xFFFFFFFFu : (__mmask32)((1ull << left) - 1);
    for (int h = 0; h < PNR; h += 16) {
      __m512 r[16];
#pragma GCC unroll 16
      for (int c = 0; c < 16; c++)
        r[c] = h + c < nr ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, W + (j0 + h + c) * K + k0 + k)) : _mm512_setzero_ps();
      transpose16(r);
#pragma GCC unroll 16
      for (int q = 0; q < 16; q++) _mm512_store_ps((float *)dst + (k / 2 + q) * PNR + h, r[q]);
    }
  }
}

/* C[R rows, nr ≤ 32 columns] (row stride ldc) = (beta ? C : 0) + Σ over `pairs` k-pairs of A's strip · W's panel;
 * R a constant (each instance keeps exactly 2R accumulators) */
static inline __attribute__((always_inline)) void panel_micro(const int R, long pairs, const uint32_t *restrict Ap,
    const uint32_t *restrict Bp, float *restrict C, long ldc, int beta, int nr) {
  __m512 c0[PMR], c1[PMR];
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
  for (long p = 0; p < pairs; p++, Ap += PMR, Bp += PNR) {
    __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)Bp), b1 = (__m512bh)_mm512_load_si512((const void *)(Bp + 16));
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
      __m512bh a = (__m512bh)_mm512_set1_epi32((int)Ap[r]);
      c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
    }
  }
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
#pragma GCC unroll 12
  for (int r = 0; r < R; r++) {
    float *cr = C + r * ldc;
    if (beta) { c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr)); c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16)); }
    _mm512_mask_storeu_ps(cr, m0, c0[r]);
    _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
  }
}

#define PANEL_MICRO(R) \
  static void panel_micro_##R(long pairs, const uint32_t *Ap, const uint32_t *Bp, float *C, long ldc, int beta, int nr) { \
    panel_micro(R, pairs, Ap, Bp, C, ldc, beta, nr); }
PANEL_MICRO(1) PANEL_MICRO(2) PANEL_MICRO(3) PANEL_MICRO(4) PANEL_MICRO(5) PANEL_MICRO(6)
PANEL_MICRO(7) PANEL_MICRO(8) PANEL_MICRO(9) PANEL_MICRO(10) PANEL_MICRO(11) PANEL_MICRO(12)
typedef void (*panel_micro_fn)(long, const uint32_t *, const uint32_t *, float *, long, int, int);
static const panel_micro_fn panel_micros[PMR + 1] = { NULL, panel_micro_1, panel_micro_2, panel_micro_3, panel_micro_4,
  panel_micro_5, panel_micro_6, panel_micro_7, panel_micro_8, panel_micro_9, panel_micro_10, panel_micro_11, panel_micro_12 };

/* W rows [k0, k0+kc) × columns [j0, j0+nr) of a [K, ld] W (the NN product's weight, reduced over its rows) into dst
 * as [pair][PNR] dwords, kc rounded up to 32 (rows past kc and columns past nr are zeros): rows n, n+1 interleaved
 * into (W[n,j], W[n+1,j]) pairs (vpunpck{l,h}wd, which orders columns per 128-bit lane) and put back in column order
 * (vpermt2d) */
static void panel_pack_w_nn(uint32_t *dst, const uint16_t *W, long ld, long j0, int nr, long k0, long kc) {
  const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23);
  const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31);
  __mmask32 m = nr >= 32 ? 0xFFFFFFFFu : (__mmask32)((1ull << nr) - 1);
  const uint16_t *w = W + k0 * ld + j0;
  long kp = (kc + 31) / 32 * 32;
  for (long q = 0; q < kp; q += 2, w += 2 * ld) {
    __m512i a = q < kc ? _mm512_maskz_loadu_epi16(m, w) : _mm512_setzero_si512();
    __m512i b = q + 1 < kc ? _mm512_maskz_loadu_epi16(m, w + ld) : _mm512_setzero_si512();
    __m512i l = _mm512_unpacklo_epi16(a, b), h = _mm512_unpackhi_epi16(a, b);
    _mm512_store_si512((void *)(dst + q / 2 * PNR), _mm512_permutex2var_epi32(l, lo, h));
    _mm512_store_si512((void *)(dst + q / 2 * PNR + 16), _mm512_permutex2var_epi32(l, hi, h));
  }
}

/* panels [lo, hi), cw at a time (a column chunk); for each chunk, A's rows mc at a time (a row chunk); for each row
 * chunk, the K blocks in order, and for each block every panel of the chunk packed in turn with every strip of the
 * row chunk over it. With one chunk of each (decode rows) that is each panel's K blocks in order, W streamed panel by
 * panel; with many rows a row chunk's packed block of A stays in L2 while the panels of the column chunk pass over
 * it, and the chunk's tile of C (mc × cw·PNR floats) stays in L2 across the K blocks. Every sum of C runs over the
 * K blocks in order whatever the chunks, so neither they nor the thread count change a bit of the result. */
static void panel_cols(void *ctx, long lo, long hi) {
  const Panel *g = ctx;
  uint32_t *Bp = (uint32_t *)scratch(SCRATCH_B, (size_t)PNR * PKC / 2);
  long pairs = g->kb / 2;
  for (long c0 = lo; c0 < hi; c0 += g->cw) {
    long c1 = c0 + g->cw < hi ? c0 + g->cw : hi;
    for (long m0 = 0; m0 < g->M; m0 += g->mc) {
      long m1 = m0 + g->mc < g->M ? m0 + g->mc : g->M;
      for (long p = 0; p < g->nkb; p++) {
        long k0 = p * g->kb, kc = g->K - k0 < g->kb ? g->K - k0 : g->kb;
        int beta = p > 0 || g->accumulate;
        long kp = (kc + 31) / 32 * 16; /* pairs in this block, padded as packed */
        const uint32_t *Ab = g->Ap + p * g->ablock;
        for (long t = c0; t < c1; t++) {
          long j0 = t * PNR;
          int nr = g->N - j0 < PNR ? (int)(g->N - j0) : PNR;
          if (g->nn) panel_pack_w_nn(Bp, g->W, g->N, j0, nr, k0, kc);
          else panel_pack_w(Bp, g->W, g->K, j0, nr, k0, kc, PF && j0 + 2 * PNR <= g->N);
          for (long i0 = m0; i0 < m1; i0 += PMR) {
            int mr = m1 - i0 < PMR ? (int)(m1 - i0) : PMR;
            panel_micros[mr](kp, Ab + i0 * pairs, Bp, g->C + i0 * g->N + j0, g->N, beta, nr);
          }
        }
      }
    }
  }
}

/* C[M,N] (+)= A[M,K]·Wᵀ with W [N,K] (nn = 0), or A[M,K]·W with W [K,N] (nn = 1: the NN product, K its reduction) */
static void gemm_bf16_panel(float *C, const float *A, const uint16_t *W, long M, long N, long K, int accumulate, int nn) {
  long kb = pk_block(K), nkb = (K + kb - 1) / kb, ablock = (M + PMR - 1) / PMR * PMR * (kb / 2);
  Panel g = { C, A, W, M, N, K, accumulate, nn, (uint32_t *)scratch(SCRATCH_A, (size_t)(ablock * nkb)), kb, nkb, ablock, M, 1 };
  /* row chunks: near-equal runs of whole strips, at most PMC rows */
  long chunks = (M + PMC - 1) / PMC;
  g.mc = ((M + chunks - 1) / chunks + PMR - 1) / PMR * PMR;
  /* column chunks: one panel at a time while a row chunk's packed A (all K blocks) stays in L2 across panels, else
   * as many as keep the chunk's tile of C in L2 */
  if (g.mc * K * 2 > PA_L2) g.cw = PC_L2 / (g.mc * PNR) > 1 ? PC_L2 / (g.mc * PNR) : 1;
  pool_ranges(nkb, M * kb, panel_pack_a, &g);
  pool_ranges((N + PNR - 1) / PNR, 2 * M * K * PNR, panel_cols, &g);
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
        for (; i < i1; i++) row_dp(g, i, j0, nr); /* M < PANEL_M: a W row is used by one A row, read in place */
        continue;
      }
#endif
      for (; i + TM <= i1; i += TM) tile_widen(g, i, TM, j0, nr);
      for (; i < i1; i++) row_widen(g, i, j0, nr);
    }
  }
  (void)dp;
}

typedef struct { float *dst; const uint16_t *src; long K; } WidenJob;

/* rows [lo, hi) of W, K values each, widened */
static void widen_rows(void *ctx, long lo, long hi) {
  const WidenJob *w = ctx;
  long i = lo * w->K, n = hi * w->K;
  for (; i + VL <= n; i += VL) vf_store(w->dst + i, vf_load_bf16(w->src + i));
  for (; i < n; i++) w->dst[i] = bf16_to_f32(w->src[i]);
}

void gemm_bf16(float *C, const float *A, const uint16_t *W, long M, long N, long K, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!accumulate) memset(C, 0, (size_t)M * N * sizeof(float)); return; }
#if HAVE_DPBF16
  if (gemm_bf16_path(-1) == 1 && M >= PANEL_M) { gemm_bf16_panel(C, A, W, M, N, K, accumulate, 0); return; }
#endif
  if (M >= WIDE_M && N * K <= WIDE_MAX) {
    WidenJob w = { scratch(SCRATCH_W, (size_t)(N * K)), W, K };
    pool_ranges(N, K, widen_rows, &w);
    gemm(C, A, w.dst, M, N, K, 0, 1, accumulate);
    return;
  }
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
 * - "dpbf16": the packed panel kernel above (gemm_bf16_panel with nn = 1, at every M): Y rounded to BF16 and packed
 *   as gemm_bf16's A is, W's panels of 32 columns packed from rows n, n+1 interleaved into (W[n,k], W[n+1,k]) pairs
 *   (panel_pack_w_nn). Error: Y's rounding (relative 2⁻⁸ per product) plus F32 sums. (Until 7 Dec 2026 it ran its own
 *   6 × 64 register tiles, interleaving W's rows at every step; the panel kernel measured 1.0–1.45× their speed at
 *   8–2048 rows on Qwen2.5-0.5B's shapes: docs/engine.md.)
 * - "widen": each output is Σ_n Y[i,n]·W[n,k]: W is read along its rows (k contiguous), so a tile is NTM Y rows × NTW
 *   columns of X held in registers while n runs over all of N, each step a broadcast of Y[i,n] against NTW columns
 *   of W's row n widened to F32 (a shift by 16): only F32 summation error. Columns past the last full tile (fewer
 *   than NTW) take a scalar loop. Threads take disjoint runs of column tiles (of X and W); every output's sum runs
 *   over n in order on one thread, so the result does not depend on the thread count.
 * Same path switch as gemm_bf16 (gemm_bf16_path).
 * ------------------------------------------------------------------------------------------------------------- */
#define NTM 6   /* Y rows per tile: 6 × 4 accumulators of the 32 zmm registers */
#define NTW (4 * VL) /* X columns per tile */
#define NB 128  /* W rows per pass over a column tile (even): its slab, NB × 64 BF16 = 16 KB, stays in L1 across the row tiles */
#define CB 16   /* column tiles a pass runs over (X's block: M × 1024 floats, in L2) */

typedef struct { float *X; const float *Y; const uint16_t *W; long M, N, K; int accumulate; } NNJob;

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

/* column tiles [lo, hi), CB at a time: each pass of NB W rows runs over every tile of the block, so Y's NB columns
 * (all M rows) are read once per pass and stay in cache across the block, and W's rows are read CB·NTW columns wide */
static void nn_cols(void *ctx, long lo, long hi) {
  const NNJob *g = ctx;
  for (long b0 = lo; b0 < hi; b0 += CB) {
    long b1 = b0 + CB < hi ? b0 + CB : hi;
    if (b1 * NTW > g->K) { /* the tile past the last full one: a scalar loop */
      nn_cols_scalar(g, (b1 - 1) * NTW, g->K);
      if (--b1 == b0) continue;
    }
    for (long n0 = 0; n0 < g->N; n0 += NB) {
      long n1 = n0 + NB < g->N ? n0 + NB : g->N;
      int add = g->accumulate || n0 > 0;
      for (long t = b0; t < b1; t++) {
        long k0 = t * NTW;
        for (long i = 0; i < g->M; i += NTM) {
          int mr = g->M - i < NTM ? (int)(g->M - i) : NTM;
          nn_tile_widen(g, i, mr, k0, n0, n1, add);
        }
      }
    }
  }
}

void gemm_bf16_nn(float *X, const float *Y, const uint16_t *W, long M, long N, long K, int accumulate) {
  if (M <= 0 || K <= 0) return;
  if (N <= 0) { if (!accumulate) memset(X, 0, (size_t)M * K * sizeof(float)); return; }
#if HAVE_DPBF16
  if (gemm_bf16_path(-1) == 1) { gemm_bf16_panel(X, Y, W, M, K, N, accumulate, 1); return; }
#endif
  NNJob g = { X, Y, W, M, N, K, accumulate };
  pool_ranges((K + NTW - 1) / NTW, 2 * M * N * NTW, nn_cols, &g);
}
