/* AdamW with decoupled weight decay, bias-corrected (step t ≥ 1), in one pass over the flat buffers. */
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

typedef struct { float *p, *m, *v; const float *g; float lr, b1, b2, eps, wd, ibc1, ibc2; } Adam;

static void adamw_range(void *c, long lo, long hi) {
  const Adam *k = c;
  vf b1 = vf_set1(k->b1), b2 = vf_set1(k->b2), c1 = vf_set1(1.f - k->b1), c2 = vf_set1(1.f - k->b2);
  vf i1 = vf_set1(k->ibc1), i2 = vf_set1(k->ibc2), eps = vf_set1(k->eps), lr = vf_set1(k->lr), wd = vf_set1(k->wd);
  long i = lo;
  for (; i + VL <= hi; i += VL) {
    vf g = vf_load(k->g + i), p = vf_load(k->p + i);
    vf m = vf_fma(b1, vf_load(k->m + i), vf_mul(c1, g));
    vf v = vf_fma(b2, vf_load(k->v + i), vf_mul(vf_mul(c2, g), g));
    vf_store(k->m + i, m);
    vf_store(k->v + i, v);
    vf step = vf_fma(wd, p, vf_div(vf_mul(m, i1), vf_add(vf_sqrt(vf_mul(v, i2)), eps)));
    vf_store(k->p + i, vf_sub(p, vf_mul(lr, step)));
  }
  for (; i < hi; i++) {
    float g = k->g[i];
    float m = k->m[i] = k->b1 * k->m[i] + (1.f - k->b1) * g;
    float v = k->v[i] = k->b2 * k->v[i] + (1.f - k->b2) * g * g;
    k->p[i] -= k->lr * (m * k->ibc1 / (sqrtf(v * k->ibc2) + k->eps) + k->wd * k->p[i]);
  }
}

void adamw(float *p, const float *g, float *m, float *v, long N, double lr, double beta1, double beta2, double eps,
           double weight_decay, double t) {
  Adam k = { p, m, v, g, (float)lr, (float)beta1, (float)beta2, (float)eps, (float)weight_decay,
             (float)(1.0 / (1.0 - pow(beta1, t))), (float)(1.0 / (1.0 - pow(beta2, t))) };
  pool_ranges(N, 16, adamw_range, &k);
}
