/* The sampler's per-row pass over a step's logits[R,V] (one row per decoding sequence): greedy argmax, or a draw from
 * softmax(logits / T) by inverse CDF, with the chosen token's log-prob under log softmax(logits / T) over the whole
 * vocabulary — what the JS sampler did in four passes over the vocabulary with Math.exp, here in two vectorised ones.
 * Only the first Vs ids can be chosen (the model's vocabulary may pad past the tokenizer's).
 * A draw: weights w_i = exp((z_i − max)/T) are summed in blocks of SB ids (each block's sum in double); the block
 * holding u·Σw is found from the block sums and only that block's weights are recomputed and walked. A row with
 * T = NaN is left to the caller (tokens[r] = −1). */
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"
#include <math.h>
#include <stdlib.h>

#define SB 1024 /* ids per block: a multiple of every vector width */

typedef struct {
  int32_t *tokens; float *logprobs;
  const float *logits, *temps; const double *u;
  long V, Vs;
} Sample;

static float row_max(const float *z, long n) {
  vf vm = vf_set1(-INFINITY);
  long j = 0;
  for (; j + VL <= n; j += VL) vm = vf_max(vm, vf_load(z + j));
  float mx = vf_hmax(vm);
  for (; j < n; j++) if (z[j] > mx) mx = z[j];
  return mx;
}

/* Σ exp((z_j − mx)·inv) over n ids, writing each weight to w when given. The same code computes a block's weights in
 * both passes, so the walk sees exactly the weights the block sums were made of. */
static double exp_block(const float *z, long n, float mx, float inv, float *w) {
  vf vm = vf_set1(mx), vi = vf_set1(inv), s = vf_set1(0.f);
  long j = 0;
  for (; j + VL <= n; j += VL) {
    vf e = vf_exp(vf_mul(vf_sub(vf_load(z + j), vm), vi));
    if (w) vf_store(w + j, e);
    s = vf_add(s, e);
  }
  double t = vf_sum(s);
  for (; j < n; j++) { float e = sf_exp((z[j] - mx) * inv); if (w) w[j] = e; t += e; }
  return t;
}

static double exp_sum(const float *z, long n, float mx, float inv) {
  double t = 0;
  for (long b = 0; b < n; b += SB) t += exp_block(z + b, n - b < SB ? n - b : SB, mx, inv, NULL);
  return t;
}

static void sample_rows(void *ctx, long lo, long hi) {
  const Sample *k = ctx;
  long V = k->V, Vs = k->Vs, nb = (Vs + SB - 1) / SB;
  double *bs = malloc(nb * sizeof(double));
  float w[SB];
  for (long r = lo; r < hi; r++) {
    const float *z = k->logits + r * V;
    float T = k->temps[r];
    if (isnan(T)) { k->tokens[r] = -1; k->logprobs[r] = 0.f; continue; }
    float mx = row_max(z, Vs), mxV = mx;
    if (Vs < V) { float m2 = row_max(z + Vs, V - Vs); if (m2 > mxV) mxV = m2; }
    if (T == 0.f) {
      long tok = 0;
      while (tok < Vs - 1 && z[tok] != mx) tok++;
      double lse = mxV + log(exp_sum(z, V, mxV, 1.f));
      k->tokens[r] = (int32_t)tok;
      k->logprobs[r] = (float)(z[tok] - lse);
      continue;
    }
    float inv = 1.f / T;
    double total = 0;
    for (long b = 0; b < nb; b++) { long n = Vs - b * SB < SB ? Vs - b * SB : SB; bs[b] = exp_block(z + b * SB, n, mx, inv, NULL); total += bs[b]; }
    double lse = Vs == V ? (double)mx * inv + log(total) : (double)mxV * inv + log(exp_sum(z, V, mxV, inv));
    double rem = k->u[r] * total;
    long b = 0;
    while (b < nb - 1 && rem >= bs[b]) { rem -= bs[b]; b++; }
    long n = Vs - b * SB < SB ? Vs - b * SB : SB, tok = -1;
    exp_block(z + b * SB, n, mx, inv, w);
    for (long j = 0; j < n; j++) {
      if (w[j] > 0.f) tok = b * SB + j;
      rem -= w[j];
      if (rem < 0) break;
    }
    if (tok < 0) tok = b * SB; /* not reached: a block holding the draw has weight */
    k->tokens[r] = (int32_t)tok;
    k->logprobs[r] = (float)(z[tok] * inv - lse);
  }
  free(bs);
}

void sample_rows_pass(int32_t *tokens, float *logprobs, const float *logits, const float *temps, const double *u, long R, long V, long Vs) {
  Sample k = { .tokens = tokens, .logprobs = logprobs, .logits = logits, .temps = temps, .u = u, .V = V, .Vs = Vs };
  pool_ranges(R, 4 * V, sample_rows, &k);
}
