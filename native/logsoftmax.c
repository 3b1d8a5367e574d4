/* Fused log-softmax + gather over rows of logits[R,V] scaled by 1/temperature: per-token log-prob of the
 * target, entropy and logsumexp, in two streaming passes per row (no probability buffer); and its backward,
 * which overwrites the logits chunk with dL/dlogits. Callers chunk rows so big vocabularies stay bounded.
 * Differences z − max are clamped at −FLT_MAX so a −inf logit (a banned token) adds 0·(−big) = 0 to the
 * entropy sums instead of 0·(−inf) = NaN. */
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"
#include <float.h>

typedef struct {
  float *logp, *entropy, *lse, *logits;
  const float *clse, *dlogp, *dentropy;
  const int32_t *targets;
  long V; float inv;
} Lsm;

static void lsm_rows(void *c, long lo, long hi) {
  const Lsm *k = c;
  long V = k->V;
  vf vinv = vf_set1(k->inv);
  for (long r = lo; r < hi; r++) {
    const float *x = k->logits + r * V;
    /* max of z = x·inv */
    vf vm = vf_set1(-INFINITY);
    long j = 0;
    for (; j + VL <= V; j += VL) vm = vf_max(vm, vf_mul(vf_load(x + j), vinv));
    float mx = vf_hmax(vm);
    for (; j < V; j++) { float z = x[j] * k->inv; if (z > mx) mx = z; }
    /* Σ e^{z−max} and Σ e^{z−max}·(z−max); entropy = log Σe − Σe(z−max)/Σe, which avoids cancelling big |max| */
    vf vmax = vf_set1(mx), s = vf_set1(0.f), sz = vf_set1(0.f), lowest = vf_set1(-FLT_MAX);
    for (j = 0; j + VL <= V; j += VL) {
      vf d = vf_max(vf_sub(vf_mul(vf_load(x + j), vinv), vmax), lowest), e = vf_exp(d);
      s = vf_add(s, e);
      sz = vf_fma(e, d, sz);
    }
    float sum = vf_sum(s), sumz = vf_sum(sz);
    for (; j < V; j++) { float d = fmaxf(x[j] * k->inv - mx, -FLT_MAX), e = sf_exp(d); sum += e; sumz += e * d; }
    float ls = logf(sum);
    k->lse[r] = mx + ls;
    k->entropy[r] = ls - sumz / sum;
    int32_t t = k->targets[r];
    k->logp[r] = t < 0 ? 0.f : x[t] * k->inv - (mx + ls);
  }
}

void log_softmax_gather(float *logp, float *entropy, float *lse, const float *logits, const int32_t *targets,
                        long R, long V, float temperature) {
  Lsm k = { .logp = logp, .entropy = entropy, .lse = lse, .logits = (float *)logits, .targets = targets, .V = V, .inv = 1.f / temperature };
  pool_ranges(R, 8 * V, lsm_rows, &k);
}

/* With lp = z − lse and p = e^{lp}: dlogp/dz_j = δ_jt − p_j; dH/dz_j = −p_j (lp_j + H); dz/dlogits = inv. */
static void lsm_bw_rows(void *c, long lo, long hi) {
  const Lsm *k = c;
  long V = k->V;
  float inv = k->inv;
  vf vinv = vf_set1(inv);
  for (long r = lo; r < hi; r++) {
    float *x = k->logits + r * V;
    int32_t t = k->targets[r];
    float l = k->clse[r], gl = k->dlogp && t >= 0 ? k->dlogp[r] : 0.f, ge = k->dentropy ? k->dentropy[r] : 0.f;
    vf vl = vf_set1(l), lowest = vf_set1(-FLT_MAX);
    float H = 0.f;
    long j;
    if (ge != 0.f) {
      vf h = vf_set1(0.f);
      for (j = 0; j + VL <= V; j += VL) { vf lp = vf_max(vf_sub(vf_mul(vf_load(x + j), vinv), vl), lowest); h = vf_fma(vf_exp(lp), lp, h); }
      H = -vf_sum(h);
      for (; j < V; j++) { float lp = fmaxf(x[j] * inv - l, -FLT_MAX); H -= sf_exp(lp) * lp; }
    }
    /* d_j = −inv·p_j·(gl + ge·(lp_j + H)) */
    vf vgl = vf_set1(gl), vge = vf_set1(ge), vH = vf_set1(H), vni = vf_set1(-inv);
    for (j = 0; j + VL <= V; j += VL) {
      vf lp = vf_max(vf_sub(vf_mul(vf_load(x + j), vinv), vl), lowest), p = vf_exp(lp);
      vf_store(x + j, vf_mul(vf_mul(vni, p), vf_fma(vge, vf_add(lp, vH), vgl)));
    }
    for (; j < V; j++) { float lp = fmaxf(x[j] * inv - l, -FLT_MAX), p = sf_exp(lp); x[j] = -inv * p * (gl + ge * (lp + H)); }
    if (t >= 0) x[t] += gl * inv;
  }
}

void log_softmax_gather_backward(float *logits, const float *lse, const int32_t *targets, const float *dlogp,
                                 const float *dentropy, long R, long V, float temperature) {
  Lsm k = { .logits = logits, .clse = lse, .dlogp = dlogp, .dentropy = dentropy, .targets = targets, .V = V, .inv = 1.f / temperature };
  pool_ranges(R, 10 * V, lsm_bw_rows, &k);
}
