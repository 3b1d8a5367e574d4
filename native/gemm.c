/* SGEMM: C[M,N] = (accumulate ? C : 0) + op(A)[M,K] · op(B)[K,N], row-major.
 * BLIS structure: B is packed into KC×NC panels of NR-wide strips, A into MC×KC blocks of MR-tall strips,
 * and an MR×NR register-blocked FMA microkernel runs over them. Packing also absorbs the transposes.
 * Threads take disjoint tiles of C and pack their own panels (no barriers: robust when cores are shared). */
#include "kernels.h"
#include "scratch.h"
#include "simd.h"
#include "threadpool.h"
#include "vec.h"
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

#if defined(__AVX512F__)
/* In-register transpose of a 16×16 block: r[i] holds row i on entry and column i on exit. */
static inline void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) { t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); }
  for (int i = 0; i < 16; i += 4) {
    __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]), c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
    r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c)); r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d)); r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88); t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88); t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xdd);
  }
  for (int i = 0; i < 8; i++) { r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88); r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xdd); }
}

/* dst[k*ld + c] = src[c*rs + k] for c < rows (zeros for rows ≤ c < 16), k in [0, 16): 16 source rows of 16
 * contiguous floats become 16 destination rows. Stores are 16 wide, so with ld < 16 each store spills into
 * the next k's slot, which the next store overwrites: callers go in increasing k and leave 16 floats of slack. */
static inline void transpose_block(float *dst, long ld, const float *src, long rs, int rows) {
  __m512 r[16];
  for (int c = 0; c < 16; c++) r[c] = c < rows ? _mm512_loadu_ps(src + c * rs) : _mm512_setzero_ps();
  transpose16(r);
  for (int k = 0; k < 16; k++) _mm512_storeu_ps(dst + k * ld, r[k]);
}
#define TRANSPOSE_BLOCKS 1
#else
#define TRANSPOSE_BLOCKS 0
#endif

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
    } else { /* rows contiguous along k: transpose 16-k blocks in registers */
      int k = 0;
#if TRANSPOSE_BLOCKS
      for (; k + 16 <= kc; k += 16) transpose_block(dst + k * MR, MR, src + k, a.rs, rows);
#endif
      for (; k < kc; k++) {
        int r = 0;
        for (; r < rows; r++) dst[k * MR + r] = src[r * a.rs + k];
        for (; r < MR; r++) dst[k * MR + r] = 0.f;
      }
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
    } else { /* B transposed (a Linear weight [N,K]): columns contiguous along k, transposed in 16×16 blocks */
      int k = 0;
#if TRANSPOSE_BLOCKS
      for (; k + 16 <= kc; k += 16)
        for (int c = 0; c < NR; c += 16) {
          int n = cols - c < 16 ? cols - c : 16;
          transpose_block(dst + k * NR + c, NR, src + c * b.cs + k, b.cs, n > 0 ? n : 0);
        }
#endif
      for (; k < kc; k++) {
        int c = 0;
        for (; c < cols; c++) dst[k * NR + c] = src[c * b.cs + k];
        for (; c < NR; c++) dst[k * NR + c] = 0.f;
      }
    }
  }
}

#if defined(__AVX512F__)
/* C[mr,nr] (row stride ldc) = (beta ? C : 0) + Ap[kc×MR]ᵀ·Bp[kc×NR]; 24 zmm accumulators. */
static void micro(int kc, const float *restrict Ap, const float *restrict Bp, float *restrict C, long ldc, int beta, int mr, int nr) {
  __m512 c0[MR], c1[MR];
  __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? 0xFFFF : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
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
  if (mr == MR && nr == NR) {
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      float *cr = C + r * ldc;
      if (beta) { c0[r] = _mm512_add_ps(c0[r], _mm512_loadu_ps(cr)); c1[r] = _mm512_add_ps(c1[r], _mm512_loadu_ps(cr + 16)); }
      _mm512_storeu_ps(cr, c0[r]);
      _mm512_storeu_ps(cr + 16, c1[r]);
    }
  } else {
    /* edge tile: spill through a buffer with constant indices, so the accumulators stay in registers */
    float tile[MR * NR];
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) { _mm512_storeu_ps(tile + r * NR, c0[r]); _mm512_storeu_ps(tile + r * NR + 16, c1[r]); }
    for (int r = 0; r < mr; r++) {
      float *cr = C + r * ldc;
      __m512 t0 = _mm512_loadu_ps(tile + r * NR), t1 = _mm512_loadu_ps(tile + r * NR + 16);
      if (beta) { t0 = _mm512_add_ps(t0, _mm512_maskz_loadu_ps(m0, cr)); t1 = _mm512_add_ps(t1, _mm512_maskz_loadu_ps(m1, cr + 16)); }
      _mm512_mask_storeu_ps(cr, m0, t0);
      _mm512_mask_storeu_ps(cr + 16, m1, t1);
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

/* Small M with B transposed (decode steps through Linear layers, y = x·Wᵀ): B is read once in place instead
 * of packed, which would triple the memory traffic of a product bound by reading B. (With B not transposed,
 * reading B in place walks down columns a page per row, which measured slower than packing.) */
#define SKINNY_M (4 * MR)

typedef struct { float *C; const float *A, *B; long M, N, K; int accumulate; } Skinny;

/* op(B) = Bᵀ with B[N,K] (a Linear weight): rows of A and B are both contiguous along K, so each output is a
 * dot product; blocks of 8 A rows × 2 B rows keep 16 vector accumulators and read each B row once per block. */
static void skinny_nt_cols(void *ctx, long lo, long hi) {
  const Skinny *s = ctx;
  long K = s->K;
  for (long j = lo * 2; j < hi * 2 && j < s->N; j += 2) {
    int nj = s->N - j < 2 ? 1 : 2;
    const float *b0 = s->B + j * K, *b1 = s->B + (j + nj - 1) * K;
    for (long i0 = 0; i0 < s->M; i0 += 8) {
      int ni = s->M - i0 < 8 ? (int)(s->M - i0) : 8;
      const float *a[8];
      for (int r = 0; r < 8; r++) a[r] = s->A + (i0 + (r < ni ? r : 0)) * K;
      vf acc0[8], acc1[8];
      for (int r = 0; r < 8; r++) { acc0[r] = vf_set1(0.f); acc1[r] = vf_set1(0.f); }
      long k = 0;
      for (; k + VL <= K; k += VL) {
        vf w0 = vf_load(b0 + k), w1 = vf_load(b1 + k);
#pragma GCC unroll 8
        for (int r = 0; r < 8; r++) { vf x = vf_load(a[r] + k); acc0[r] = vf_fma(x, w0, acc0[r]); acc1[r] = vf_fma(x, w1, acc1[r]); }
      }
      for (int r = 0; r < ni; r++) {
        float d0 = vf_sum(acc0[r]), d1 = vf_sum(acc1[r]);
        for (long t = k; t < K; t++) { d0 += a[r][t] * b0[t]; d1 += a[r][t] * b1[t]; }
        float *c = s->C + (i0 + r) * s->N + j;
        c[0] = (s->accumulate ? c[0] : 0.f) + d0;
        if (nj == 2) c[1] = (s->accumulate ? c[1] : 0.f) + d1;
      }
    }
  }
}

/* C = A·Bᵀ for M ≤ SKINNY_M, split over column pairs. */
static void gemm_skinny_nt(float *C, const float *A, const float *B, long M, long N, long K, int accumulate) {
  Skinny s = { C, A, B, M, N, K, accumulate };
  pool_ranges((N + 1) / 2, 2 * M * K, skinny_nt_cols, &s);
}

typedef struct {
  float *C; View a, b; long M, N, K; int accumulate;
  int pm, pn; /* task grid: pm row tiles × pn column tiles */
} Gemm;

/* C rows [m0,m1) × cols [n0,n1) (row stride ldc) = (accumulate ? C : 0) + op(A)·op(B), on the calling thread. */
static void gemm_block(float *C, long ldc, View a, View b, long m0, long m1, long n0, long n1, long K, int accumulate) {
  /* +16 floats: the transposing packers' last 16-wide store may spill past the panel */
  float *Bp = scratch(SCRATCH_B, (size_t)KC * NC + 16);
  float *Ap = scratch(SCRATCH_A, (size_t)MC * KC + 16);
  for (long jc = n0; jc < n1; jc += NC) {
    int nc = (int)(n1 - jc < NC ? n1 - jc : NC);
    for (long pc = 0; pc < K; pc += KC) {
      int kc = (int)(K - pc < KC ? K - pc : KC);
      int beta = pc > 0 || accumulate;
      pack_b(Bp, b, pc, kc, jc, nc);
      for (long ic = m0; ic < m1; ic += MC) {
        int mc = (int)(m1 - ic < MC ? m1 - ic : MC);
        pack_a(Ap, a, ic, mc, pc, kc);
        for (int jr = 0; jr < nc; jr += NR) {
          int nr = nc - jr < NR ? nc - jr : NR;
          for (int ir = 0; ir < mc; ir += MR) {
            int mr = mc - ir < MR ? mc - ir : MR;
            micro(kc, Ap + (long)ir * kc, Bp + (long)jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, beta, mr, nr);
          }
        }
      }
    }
  }
}

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
  if (m0 < m1 && n0 < n1) gemm_block(g->C, g->N, g->a, g->b, m0, m1, n0, n1, g->K, g->accumulate);
}

/* Split C into `tiles` tiles, choosing the grid that packs the least: A is packed once per column tile,
 * B once per row tile. */
static void choose_grid(long M, long N, long K, int tiles, int *pm, int *pn) {
  long ms = (M + MR - 1) / MR, ns = (N + NR - 1) / NR;
  double best = -1;
  *pm = 1; *pn = 1;
  for (int p = 1; p <= tiles; p++) {
    if (tiles % p) continue;
    int q = tiles / p;
    if (p > ms || q > ns) continue;
    double cost = (double)q * M * K + (double)p * K * N;
    if (best < 0 || cost < best) { best = cost; *pm = p; *pn = q; }
  }
}

void gemm(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!accumulate) memset(C, 0, (size_t)M * N * sizeof(float)); return; }
  if (M <= SKINNY_M && !transA && transB) { gemm_skinny_nt(C, A, B, M, N, K, accumulate); return; }
  Gemm g = { C, { A, transA ? 1 : K, transA ? M : 1 }, { B, transB ? 1 : N, transB ? K : 1 }, M, N, K, accumulate, 1, 1 };
  int threads = pool_threads(), tiles = threads;
  /* below ~2 MFLOP a second thread costs more to wake than it saves; above ~100 MFLOP, 4 tiles per thread
   * let a thread on an uncontended core take over the work of one on a busy core, for a little more packing */
  double flops = 2.0 * M * N * K;
  if (flops < 2e6) tiles = 1;
  else if (flops > 1e8 && threads > 1) tiles = 4 * threads;
  choose_grid(M, N, K, tiles, &g.pm, &g.pn);
  pool_for(g.pm * g.pn, gemm_tile, &g);
}

void gemm_serial(float *C, long ldc, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs,
                 long M, long N, long K, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) for (long i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof(float));
    return;
  }
  View a = { A, a_rs, a_cs }, b = { B, b_rs, b_cs };
  gemm_block(C, ldc, a, b, 0, M, 0, N, K, accumulate);
}
