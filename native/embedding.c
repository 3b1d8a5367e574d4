/* Embedding gather, and its backward scatter-add. The backward splits the hidden dimension across tasks
 * (not rows), so repeated token ids never make two threads add into the same float. */
#include "kernels.h"
#include "threadpool.h"
#include <string.h>

typedef struct { float *dst; const float *src; const int32_t *ids; long R, H; } Emb;

static void gather_rows(void *c, long lo, long hi) {
  const Emb *k = c;
  for (long r = lo; r < hi; r++) memcpy(k->dst + r * k->H, k->src + (long)k->ids[r] * k->H, k->H * sizeof(float));
}

void embedding(float *out, const float *table, const int32_t *ids, long R, long H) {
  Emb k = { out, table, ids, R, H };
  pool_ranges(R, H, gather_rows, &k);
}

#define COLS 64
static void scatter_cols(void *c, long lo, long hi) {
  const Emb *k = c;
  long j0 = lo * COLS, j1 = hi * COLS < k->H ? hi * COLS : k->H;
  for (long r = 0; r < k->R; r++) {
    float *d = k->dst + (long)k->ids[r] * k->H;
    const float *s = k->src + r * k->H;
    for (long j = j0; j < j1; j++) d[j] += s[j];
  }
}

void embedding_backward(float *dtable, const float *dout, const int32_t *ids, long R, long H) {
  Emb k = { dtable, dout, ids, R, H };
  pool_ranges((H + COLS - 1) / COLS, R * COLS, scatter_cols, &k);
}
