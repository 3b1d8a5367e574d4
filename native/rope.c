/* Rotary embedding in place, Hugging Face rotate_half layout: pairs (i, i + hd/2) of each head rotate by
 * θ = pos·freq_i, read from cos/sin tables [maxPos, hd/2]. The backward is the rotation by −θ. */
#include "kernels.h"
#include "threadpool.h"
#include "vec.h"

typedef struct { float *x; const int32_t *pos; const float *cos, *sin; long heads, hd; float sgn; } Rope;

static void rope_rows(void *c, long lo, long hi) {
  const Rope *k = c;
  long half = k->hd / 2;
  vf vs = vf_set1(k->sgn);
  for (long r = lo; r < hi; r++) {
    const float *cs = k->cos + (long)k->pos[r] * half, *sn = k->sin + (long)k->pos[r] * half;
    for (long h = 0; h < k->heads; h++) {
      float *a = k->x + (r * k->heads + h) * k->hd, *b = a + half;
      long i = 0;
      for (; i + VL <= half; i += VL) {
        vf c0 = vf_load(cs + i), s0 = vf_mul(vs, vf_load(sn + i)), va = vf_load(a + i), vb = vf_load(b + i);
        vf_store(a + i, vf_sub(vf_mul(va, c0), vf_mul(vb, s0)));
        vf_store(b + i, vf_fma(va, s0, vf_mul(vb, c0)));
      }
      for (; i < half; i++) {
        float c0 = cs[i], s0 = k->sgn * sn[i], va = a[i], vb = b[i];
        a[i] = va * c0 - vb * s0;
        b[i] = vb * c0 + va * s0;
      }
    }
  }
}

void rope(float *x, const int32_t *pos, const float *cos, const float *sin, long R, long heads, long hd, int inverse) {
  Rope k = { x, pos, cos, sin, heads, hd, inverse ? -1.f : 1.f };
  pool_ranges(R, 3 * heads * hd, rope_rows, &k);
}
