/* SGEMM: C[M,N] = (accumulate ? C : 0) + op(A)[M,K] · op(B)[K,N], row-major.
 * BLIS structure: B is packed into KC×NC panels of NR-wide strips, A into MC×KC blocks of MR-tall strips,
 * and an MR×NR register-blocked FMA microkernel runs over them. Packing also absorbs the transposes.
 * Threads take disjoint tiles of C and pack their own panels (no barriers: robust when cores are shared). */
#include "kernels.h"
#include "scratch.h"
#include "simd.h"
#include "threadpool.h"
#include <string.h>

#if defined(__AVX512F__)
#define MR 12
#define NR 32
#elif defined(__AVX2__) && defined(__FMA__)
#define MR 6
#define NR 16
#else
#define MR 4
#define NR 8
#endif
#define KC 256
#define MC (MR * 16)
#define NC 1024

/* Operand views: element (i, k) of op(X) is X[i*rs + k*cs]. */
typedef struct { const float *p; long rs, cs; } View;

/* Pack rows [i0, i0+mc) × cols [k0, k0+kc) of op(A) into MR-row strips laid out [strip][k][MR], zero-padded. */
static void pack_a(float *dst, View a, long i0, int mc, long k0, int kc) {
  for (int s = 0; s < mc; s += MR, dst += (long)MR * kc) {
    int rows = mc - s < MR ? mc - s : MR;
    const float *src = a.p + (i0 + s) * a.rs + k0 * a.cs;
    if (a.rs == 1) { /* A transposed: the MR rows of one k are contiguous */
      for (int k = 0; k < kc; k++) {
        const float *col = src + k * a.cs;
        int r = 0;
        for (; r < rows; r++) dst[k * MR + r] = col[r];
        for (; r < MR; r++) dst[k * MR + r] = 0.f;
      }
    } else {
      for (int r = 0; r < rows; r++) {
        const float *row = src + r * a.rs;
        for (int k = 0; k < kc; k++) dst[k * MR + r] = row[k];
      }
      for (int r = rows; r < MR; r++) for (int k = 0; k < kc; k++) dst[k * MR + r] = 0.f;
    }
  }
}

/* Pack rows [k0, k0+kc) × cols [j0, j0+nc) of op(B) into NR-col strips laid out [strip][k][NR], zero-padded. */
static void pack_b(float *dst, View b, long k0, int kc, long j0, int nc) {
  for (int s = 0; s < nc; s += NR, dst += (long)NR * kc) {
    int cols = nc - s < NR ? nc - s : NR;
    const float *src = b.p + k0 * b.rs + (j0 + s) * b.cs;
    if (b.cs == 1) { /* B not transposed: the NR columns of one k are contiguous */
      for (int k = 0; k < kc; k++) {
        memcpy(dst + k * NR, src + k * b.rs, cols * sizeof(float));
        if (cols < NR) memset(dst + k * NR + cols, 0, (NR - cols) * sizeof(float));
      }
    } else {
      for (int c = 0; c < cols; c++) {
        const float *col = src + c * b.cs;
        for (int k = 0; k < kc; k++) dst[k * NR + c] = col[k];
      }
      for (int c = cols; c < NR; c++) for (int k = 0; k < kc; k++) dst[k * NR + c] = 0.f;
    }
  }
}

#if defined(__AVX512F__)
/* C[mr,nr] (row stride ldc) = (beta ? C : 0) + Ap[kc×MR]ᵀ·Bp[kc×NR]; 24 zmm accumulators. */
static void micro(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict C, long ldc, int beta, int mr, int nr) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) { c0[r] = _mm512_setzero_ps(); c1[r] = _mm512_setzero_ps(); }
  for (int k = 0; k < kc; k++, Ap += MR, Bp += NR) {
    __m512 b0 = _mm512_load_ps(Bp), b1 = _mm512_load_ps(Bp + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      __m512 a = _mm512_set1_ps(Ap[r]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  if (mr == MR && nr == NR) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      float *cr = C + r * ldc;
      if (beta) { c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(cr)); c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(cr + 16)); }
      _mm512_storeu_ps(cr, c0[r]);
      _mm512_storeu_ps(cr + 16, c1[r]);
    }
  } else {
    for (int r = 0; r < mr; r++) {
      float *cr = C + r * ldc;
      if (beta) { c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, cr)); c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, cr + 16)); }
      _mm512_mask_storeu_ps(cr, m0, c0[r]);
      _mm512_mask_storeu_ps(cr + 16, m1, c1[r]);
    }
  }
}
#elif defined(__AVX2__) && defined(__FMA__)
/* 6×16 AVX2 microkernel: 12 ymm accumulators. */
static void micro(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict C, long ldc, int beta, int mr, int nr) {
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; r++) { c0[r] = _mm256_setzero_ps(); c1[r] = _mm256_setzero_ps(); }
  for (int k = 0; k < kc; k++, Ap += MR, Bp += NR) {
    __m256 b0 = _mm256_load_ps(Bp), b1 = _mm256_load_ps(Bp + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      __m256 a = _mm256_broadcast_ss(Ap + r);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
  float tile[MR * NR];
  for (int r = 0; r < MR; r++) { _mm256_storeu_ps(tile + r * NR, c0[r]); _mm256_storeu_ps(tile + r * NR + 8, c1[r]); }
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) C[r * ldc + j] = (beta ? C[r * ldc + j] : 0.f) + tile[r * NR + j];
}
#else
static void micro(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict C, long ldc, int beta, int mr, int nr) {
  float tile[MR * NR] = {0};
  for (int k = 0; k < kc; k++, Ap += MR, Bp += NR)
    for (int r = 0; r < MR; r++)
      for (int j = 0; j < NR; j++) tile[r * NR + j] += Ap[r] * Bp[j];
  for (int r = 0; r < mr; r++)
    for (int j = 0; j < nr; j++) C[r * ldc + j] = (beta ? C[r * ldc + j] : 0.f) + tile[r * NR + j];
}
#endif

typedef struct {
  float *C; View a, b; long M, N, K; int accumulate;
  int pm, pn; /* task grid: pm row tiles × pn column tiles */
} Gemm;

static void gemm_tile(void *ctx, int task, int tid) {
  (void)tid;
  const Gemm *g = ctx;
  long m0, m1, n0, n1;
  /* tile boundaries in whole strips so only the last tile has ragged edges */
  long ms = (g->M + MR - 1) / MR, ns = (g->N + NR - 1) / NR;
  pool_range(ms, g->pm, task / g->pn, &m0, &m1);
  pool_range(ns, g->pn, task % g->pn, &n0, &n1);
  m0 *= MR; m1 = m1 * MR < g->M ? m1 * MR : g->M;
  n0 *= NR; n1 = n1 * NR < g->N ? n1 * NR : g->N;
  if (m0 >= m1 || n0 >= n1) return;
  float *Bp = scratch(SCRATCH_B, (size_t)KC * NC);
  float *Ap = scratch(SCRATCH_A, (size_t)MC * KC);
  for (long jc = n0; jc < n1; jc += NC) {
    int nc = (int)(n1 - jc < NC ? n1 - jc : NC);
    for (long pc = 0; pc < g->K; pc += KC) {
      int kc = (int)(g->K - pc < KC ? g->K - pc : KC);
      int beta = pc > 0 || g->accumulate;
      pack_b(Bp, g->b, pc, kc, jc, nc);
      for (long ic = m0; ic < m1; ic += MC) {
        int mc = (int)(m1 - ic < MC ? m1 - ic : MC);
        pack_a(Ap, g->a, ic, mc, pc, kc);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            micro(kc, Ap + (long)ir * kc, Bp + (long)jr * kc, g->C + (ic + ir) * g->N + jc + jr, g->N, beta, mr, nr);
          }
        }
      }
    }
  }
}

/* Split C into `threads` tiles, choosing the grid that packs the least: A is packed once per column tile,
 * B once per row tile. */
static void choose_grid(long M, long N, long K, int threads, int *pm, int *pn) {
  long ms = (M + MR - 1) / MR, ns = (N + NR - 1) / NR;
  double best = -1;
  *pm = 1; *pn = 1;
  for (int p = 1; p <= threads; p++) {
    if (threads % p) continue;
    int q = threads / p;
    if (p > ms || q > ns) continue;
    double cost = (double)q * M * K + (double)p * K * N;
    if (best < 0 || cost < best) { best = cost; *pm = p; *pn = q; }
  }
}

void gemm(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!accumulate) memset(C, 0, (size_t)M * N * sizeof(float)); return; }
  Gemm g = { C, { A, transA ? 1 : K, transA ? M : 1 }, { B, transB ? 1 : N, transB ? K : 1 }, M, N, K, accumulate, 1, 1 };
  int threads = pool_threads();
  /* below ~2 MFLOP a second thread costs more to wake than it saves */
  if ((double)M * N * K < 1e6) threads = 1;
  choose_grid(M, N, K, threads, &g.pm, &g.pn);
  pool_for(g.pm * g.pn, gemm_tile, &g);
}
