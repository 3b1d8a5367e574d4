/* SGEMM: C[M,N] = (accumulate ? C : 0) + op(A)[M,K] · op(B)[K,N], row-major.
 * BLIS structure: B is packed into KC×NC panels of NR-wide strips, A into MC×KC blocks of MR-tall strips,
 * and an MR×NR register-blocked FMA microkernel runs over them. Packing also absorbs the transposes.
 * Threads share each packed panel of op(B) and take disjoint tiles of C (see gemm()). */
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
/* Blocking (each may be overridden with -D for tuning runs): KC k-block, MC rows of op(A) per packed block, NC panel columns. */
#ifndef KC
#define KC 256
#endif
#ifndef MC
#define MC (MR * 16)
#endif
#ifndef NC
#define NC 1024
#endif

/* Operand views: element (i, k) of op(X) is X[i*rs + k*cs]. */
typedef struct { const float *p; long rs, cs; } View;

#if defined(__AVX512F__)
/* dst[k*ld + c] = src[c*rs + k] for c < rows (zeros for rows ≤ c < 16), k in [0, 16): 16 source rows of 16
 * contiguous floats become 16 destination rows. Stores are 16 wide (a masked store that crosses a cache line is
 * slow), so with ld < 16 each spills into the next k's slot, which the next store overwrites: callers go in
 * increasing k, pack into a private buffer and leave 16 floats of slack. */
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
  if (a.rs == 1) { /* A transposed: the MR rows of one k are contiguous */
    for (int s = 0; s < mc; s += MR, dst += (long)MR * kc) {
      int rows = mc - s < MR ? mc - s : MR;
      const float *src = a.p + i0 + s + k0 * a.cs;
#if defined(__AVX512F__)
      /* 16-wide stores spill like transpose_block's */
      __mmask16 m = (__mmask16)((1u << rows) - 1);
      for (int k = 0; k < kc; k++) _mm512_storeu_ps(dst + k * MR, _mm512_maskz_loadu_ps(m, src + k * a.cs));
#else
      for (int k = 0; k < kc; k++) {
        int r = 0;
        for (; r < rows; r++) dst[k * MR + r] = src[k * a.cs + r];
        for (; r < MR; r++) dst[k * MR + r] = 0.f;
      }
#endif
    }
    return;
  }
  for (int s = 0; s < mc; s += MR, dst += (long)MR * kc) { /* rows contiguous along k: transpose 16-k blocks in registers */
    int rows = mc - s < MR ? mc - s : MR;
    const float *src = a.p + (i0 + s) * a.rs + k0 * a.cs;
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

/* Pack rows [k0, k0+kc) × cols [j0, j0+nc) of op(B) into NR-col strips laid out [strip][k][NR], zero-padded. */
static void pack_b(float *dst, View b, long k0, int kc, long j0, int nc) {
  for (int s = 0; s < nc; s += NR, dst += (long)NR * kc) {
    int cols = nc - s < NR ? nc - s : NR;
    const float *src = b.p + k0 * b.rs + (j0 + s) * b.cs;
    if (b.cs == 1) { /* B not transposed: the NR columns of one k are contiguous */
#if defined(__AVX512F__)
      __mmask16 m0 = cols >= 16 ? 0xFFFF : (__mmask16)((1u << cols) - 1);
      __mmask16 m1 = cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (__mmask16)((1u << (cols - 16)) - 1);
      for (int k = 0; k < kc; k++) {
        _mm512_storeu_ps(dst + k * NR, _mm512_maskz_loadu_ps(m0, src + k * b.rs));
        _mm512_storeu_ps(dst + k * NR + 16, _mm512_maskz_loadu_ps(m1, src + k * b.rs + 16));
      }
#else
      for (int k = 0; k < kc; k++) {
        memcpy(dst + k * NR, src + k * b.rs, cols * sizeof(float));
        if (cols < NR) memset(dst + k * NR + cols, 0, (NR - cols) * sizeof(float));
      }
#endif
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

/* Very small M with B transposed (batch-1 decode through Linear layers, y = x·Wᵀ): B is read once in place
 * instead of packed, which would triple the memory traffic of a product bound by reading B. (With B not
 * transposed, reading B in place walks down columns a page per row, which measured slower than packing.)
 * From MR/3 rows up the packed small-M path below wins: a batched decode step (8–64 rows) through the dot-product
 * path reread all M rows of A from L2 for every pair of B rows and ran at a fifth of the microkernel's rate. */
#ifndef SKINNY_M
#define SKINNY_M (MR / 3)
#endif

typedef struct { float *C; const float *A, *B; long M, N, K; int accumulate; } Skinny;

/* op(B) = Bᵀ with B[N,K] (a Linear weight): rows of A and B are both contiguous along K, so each output is a dot
 * product; one A row at a time against two B rows (4 accumulators), each B row read once from memory. */
static void skinny_nt_cols(void *ctx, long lo, long hi) {
  const Skinny *s = ctx;
  long K = s->K;
  for (long j = lo * 2; j < hi * 2 && j < s->N; j += 2) {
    int nj = s->N - j < 2 ? 1 : 2;
    const float *b0 = s->B + j * K, *b1 = s->B + (j + nj - 1) * K;
    for (long i0 = 0; i0 < s->M; i0++) {
      const float *a = s->A + i0 * K;
      vf p0 = vf_set1(0.f), p1 = vf_set1(0.f), q0 = vf_set1(0.f), q1 = vf_set1(0.f);
      long k = 0;
      for (; k + 2 * VL <= K; k += 2 * VL) {
        vf x0 = vf_load(a + k), x1 = vf_load(a + k + VL);
        p0 = vf_fma(x0, vf_load(b0 + k), p0); q0 = vf_fma(x1, vf_load(b0 + k + VL), q0);
        p1 = vf_fma(x0, vf_load(b1 + k), p1); q1 = vf_fma(x1, vf_load(b1 + k + VL), q1);
      }
      for (; k + VL <= K; k += VL) { vf x = vf_load(a + k); p0 = vf_fma(x, vf_load(b0 + k), p0); p1 = vf_fma(x, vf_load(b1 + k), p1); }
      float d0 = vf_sum(vf_add(p0, q0)), d1 = vf_sum(vf_add(p1, q1));
      for (long t = k; t < K; t++) { d0 += a[t] * b0[t]; d1 += a[t] * b1[t]; }
      float *c = s->C + i0 * s->N + j;
      c[0] = (s->accumulate ? c[0] : 0.f) + d0;
      if (nj == 2) c[1] = (s->accumulate ? c[1] : 0.f) + d1;
    }
  }
}

/* C = A·Bᵀ for M ≤ SKINNY_M, split over column pairs. */
static void gemm_skinny_nt(float *C, const float *A, const float *B, long M, long N, long K, int accumulate) {
  Skinny s = { C, A, B, M, N, K, accumulate };
  pool_ranges((N + 1) / 2, 2 * M * K, skinny_nt_cols, &s);
}

/* K is cut into near-equal blocks of at most KC, multiples of 16 (the transposing packers' width): K = 262 gives
 * 144 + 118 rather than 256 + 6, whose second pass would load and store all of C for 6 products. */
static long k_block(long K) {
  long n = (K + KC - 1) / KC, kb = ((K + n - 1) / n + 15) / 16 * 16;
  return kb < KC ? kb : KC;
}

/* C rows [m0,m1) × cols [n0,n1) (row stride ldc) = (accumulate ? C : 0) + op(A)·op(B), on the calling thread. */
static void gemm_block(float *C, long ldc, View a, View b, long m0, long m1, long n0, long n1, long K, int accumulate) {
  float *Bp = scratch(SCRATCH_B, (size_t)KC * NC);
  float *Ap = scratch(SCRATCH_A, (size_t)MC * KC + 16); /* + slack for pack_a's last store */
  for (long jc = n0; jc < n1; jc += NC) {
    int nc = (int)(n1 - jc < NC ? n1 - jc : NC);
    for (long pc = 0, kb = k_block(K); pc < K; pc += kb) {
      int kc = (int)(K - pc < kb ? K - pc : kb);
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

/* Parallel GEMM. C is computed panel by panel: a panel is ≤ NC columns × a run of K blocks of op(B), at most
 * PANEL_FLOATS floats. The threads first pack the panel's strips together into one shared copy, then take tasks
 * of C (row groups × column groups); a task runs the panel's K blocks over its tile, packing its own rows of
 * op(A) in MC blocks. op(B) is packed once in all, op(A) once per column group; two dispatches per panel.
 * Tasks are claimed dynamically, so a thread slowed by a busy core does fewer of them. Per element, the K blocks
 * are summed in the same order as gemm_block's: the result does not depend on the thread count. */
#ifndef PANEL_FLOATS
#define PANEL_FLOATS (1L << 21) /* 8 MB: all of K up to 2048 for 1024 columns */
#endif

typedef struct {
  float *C; View a, b; long M, N, K; int accumulate;
  float *Bp; long kb;                 /* packed panel; K block length */
  long jc, k0, k1; int nc, ns;        /* the current panel: columns [jc, jc+nc) in ns strips, K rows [k0, k1) */
  int rg, cg;                         /* task grid: rg row groups × cg column groups */
} Gemm;

/* K block p of the panel (rows [k0 + p·kb, …) of op(B)) sits at Bp + p·kb·ns·NR, its strips NR·kc apart. */
static void pack_b_units(void *ctx, long lo, long hi) {
  const Gemm *g = ctx;
  for (long u = lo; u < hi; u++) {
    long p = u / g->ns, t = u % g->ns, pc = g->k0 + p * g->kb, j0 = t * NR;
    int kc = (int)(g->K - pc < g->kb ? g->K - pc : g->kb), nr = g->nc - j0 < NR ? (int)(g->nc - j0) : NR;
    pack_b(g->Bp + p * g->kb * g->ns * NR + j0 * kc, g->b, pc, kc, g->jc + j0, nr);
  }
}

static void gemm_task(void *ctx, int task, int tid) {
  (void)tid;
  const Gemm *g = ctx;
  long s0, s1, t0, t1;
  pool_range((g->M + MR - 1) / MR, g->rg, task / g->cg, &s0, &s1);
  pool_range(g->ns, g->cg, task % g->cg, &t0, &t1);
  if (s0 >= s1 || t0 >= t1) return;
  float *Ap = scratch(SCRATCH_A, (size_t)MC * KC + 16); /* + slack for pack_a's last store */
  long ldc = g->N, i1 = s1 * MR < g->M ? s1 * MR : g->M;
  for (long pc = g->k0; pc < g->k1; pc += g->kb) {
    int kc = (int)(g->K - pc < g->kb ? g->K - pc : g->kb), beta = pc > 0 || g->accumulate;
    const float *Bp = g->Bp + (pc - g->k0) * g->ns * NR;
    for (long i0 = s0 * MR; i0 < i1; i0 += MC) {
      int mc = (int)(i1 - i0 < MC ? i1 - i0 : MC);
      pack_a(Ap, g->a, i0, mc, pc, kc);
      for (long jr = t0 * NR; jr < t1 * NR && jr < g->nc; jr += NR) {
        int nr = g->nc - jr < NR ? (int)(g->nc - jr) : NR;
        for (int ir = 0; ir < mc; ir += MR) {
          int mr = mc - ir < MR ? mc - ir : MR;
          micro(kc, Ap + (long)ir * kc, Bp + jr * kc, g->C + (i0 + ir) * ldc + g->jc + jr, ldc, beta, mr, nr);
        }
      }
    }
  }
}

/* Task grid for an M×nc panel: about 4 tasks per thread (load balance on shared cores), choosing the split that
 * moves the least data: each column group packs all M rows of op(A) (cost 2 per float: strided read, write),
 * each row group reads its columns of the shared panel (cost 1: a contiguous read, L2 or L3). */
static void choose_grid(long M, int ns, int threads, int *rg, int *cg) {
  long ms = (M + MR - 1) / MR, want = 4L * threads;
  double best = -1;
  for (long r = 1; r <= want && r <= ms; r++) {
    long c = (want + r - 1) / r;
    if (c > ns) c = ns;
    double cost = 2.0 * c * M + (double)r * ns * NR;
    if (best < 0 || cost < best) { best = cost; *rg = (int)r; *cg = (int)c; }
  }
}

/* Few rows (M ≤ SMALL_M: a prefill's or a short batch's tokens through a Linear layer): op(A) is packed once,
 * shared, one K block beside the next (when it fits in PANEL_FLOATS, so it stays in L3), then each thread packs
 * op(B) one NR strip at a time, into L1, just before that strip's products over all M rows. The panel path
 * (gemm_task) would stop both threads to pack each op(B) panel from memory and pack op(A) again in every column
 * group: for M = 256, K = 4864 that was a quarter of its time. Per element, K blocks are summed in gemm_block's order. */
/* -DNO_SMALL_M builds the panel path for every shape: the comparison docs/engine.md measured. */
#ifndef SMALL_M
#define SMALL_M (MR * 32)
#endif

/* Packed op(A) up to this many floats (768 KB) is taken to stay in L2 across strips (see small_task). */
#ifndef A_IN_L2
#define A_IN_L2 (3L << 16)
#endif

typedef struct {
  float *C; View a, b; long M, N, K; int accumulate;
  float *Ap; long kb, ablock;         /* packed op(A): K block p at Ap + p·ablock, its MR-row strips MR·kc apart */
  int ns, groups;                     /* NR strips of C's columns, split into `groups` tasks */
} Small;

static void small_pack_a(void *ctx, long lo, long hi) {
  const Small *g = ctx;
  for (long p = lo; p < hi; p++) {
    long pc = p * g->kb;
    int kc = (int)(g->K - pc < g->kb ? g->K - pc : g->kb);
    pack_a(g->Ap + p * g->ablock, g->a, 0, (int)g->M, pc, kc); /* ablock leaves 16 floats of slack for its last store */
  }
}

static void small_task(void *ctx, int task, int tid) {
  (void)tid;
  const Small *g = ctx;
  long t0, t1;
  pool_range(g->ns, g->groups, task, &t0, &t1);
  float *Bp = scratch(SCRATCH_B, (size_t)KC * NR);
  /* columns in chunks whose M rows of C (≤ 64K floats) stay in L2 while all K blocks pass over them: with a
   * wide C (an LM head's vocabulary) a pass of every K block over the whole group would stream C from memory.
   * When all of packed op(A) fits in L2 (a decode step: M ≤ 64 rows, K ≤ 4864), the chunk is one strip: each
   * strip of op(B) (NR rows of a Linear weight, contiguous in memory) is read start to end, all K blocks in a row,
   * while its M×NR tile of C stays in L1; wider chunks reread a weight region several MB wide once per K block
   * (an LM head's 545 MB weight read that way ran at a third of the speed). Sums keep gemm_block's order. */
  long cw = (g->M + MR - 1) / MR * MR * g->K <= A_IN_L2 ? 1 : 65536 / (g->M * NR) > 1 ? 65536 / (g->M * NR) : 1;
  for (long c0 = t0; c0 < t1; c0 += cw) {
    long c1 = c0 + cw < t1 ? c0 + cw : t1;
    for (long p = 0, pc = 0; pc < g->K; p++, pc += g->kb) {
      int kc = (int)(g->K - pc < g->kb ? g->K - pc : g->kb), beta = pc > 0 || g->accumulate;
      const float *Ap = g->Ap + p * g->ablock;
      for (long j0 = c0 * NR; j0 < c1 * NR; j0 += NR) {
        int nr = g->N - j0 < NR ? (int)(g->N - j0) : NR;
        pack_b(Bp, g->b, pc, kc, j0, nr);
        for (long i0 = 0; i0 < g->M; i0 += MR)
          micro(kc, Ap + i0 * kc, Bp, g->C + i0 * g->N + j0, g->N, beta, g->M - i0 < MR ? (int)(g->M - i0) : MR, nr);
      }
    }
  }
}

static void gemm_small_m(float *C, View a, View b, long M, long N, long K, int accumulate, int threads) {
  long kb = k_block(K), nkb = (K + kb - 1) / kb, ns = (N + NR - 1) / NR;
  long ablock = (M + MR - 1) / MR * MR * kb + 16;
  Small g = { C, a, b, M, N, K, accumulate, scratch(SCRATCH_A, (size_t)(ablock * nkb)), kb, ablock, (int)ns, 0 };
  /* a few column groups per thread: each chunk of one streams all of packed op(A) from L3, so no more than load balance needs */
  g.groups = (int)(ns < 2L * threads ? ns : 2L * threads);
  pool_ranges(nkb, (long)M * kb, small_pack_a, &g);
  pool_for(g.groups, small_task, &g);
}

void gemm(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB, int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) { if (!accumulate) memset(C, 0, (size_t)M * N * sizeof(float)); return; }
  if (M <= SKINNY_M && !transA && transB) { gemm_skinny_nt(C, A, B, M, N, K, accumulate); return; }
  View a = { A, transA ? 1 : K, transA ? M : 1 }, b = { B, transB ? 1 : N, transB ? K : 1 };
  int threads = pool_threads();
  /* below ~2 MFLOP a second thread costs more to wake than it saves */
  if (threads == 1 || 2.0 * M * N * K < 2e6) { gemm_block(C, N, a, b, 0, M, 0, N, K, accumulate); return; }
#ifndef NO_SMALL_M
  if (M <= SMALL_M && M * K <= PANEL_FLOATS) { gemm_small_m(C, a, b, M, N, K, accumulate, threads); return; }
#endif
  /* panels of equal width (in strips), ≤ NC; K runs as long as PANEL_FLOATS allows (whole K blocks) */
  long ns = (N + NR - 1) / NR, per = NC / NR, panels = (ns + per - 1) / per;
  long width = (ns + panels - 1) / panels * NR, kb = k_block(K), krun = PANEL_FLOATS / width / kb * kb;
  if (krun < kb) krun = kb;
  Gemm g = { C, a, b, M, N, K, accumulate, scratch(SCRATCH_B, (size_t)width * krun), kb, 0, 0, 0, 0, 0, 1, 1 };
  for (g.jc = 0; g.jc < N; g.jc += width) {
    g.nc = (int)(N - g.jc < width ? N - g.jc : width);
    g.ns = (g.nc + NR - 1) / NR;
    choose_grid(M, g.ns, threads, &g.rg, &g.cg);
    for (g.k0 = 0; g.k0 < K; g.k0 = g.k1) {
      g.k1 = K - g.k0 < krun ? K : g.k0 + krun;
      pool_ranges((g.k1 - g.k0 + kb - 1) / kb * g.ns, (long)NR * kb, pack_b_units, &g);
      pool_for(g.rg * g.cg, gemm_task, &g);
    }
  }
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
