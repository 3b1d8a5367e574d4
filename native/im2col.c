/* im2col for 3×3 'same' convolutions (the self-play CNN, src/selfplay/cnn-network.ts): a gather, one position a unit. */
#include <string.h>
#include "kernels.h"
#include "threadpool.h"

typedef struct { float *cols; const float *act; long rows, width, C, sb, sc, sch; } Ctx;

static void im2col_positions(void *p, long lo, long hi) {
  const Ctx *x = p;
  const long HW = x->rows * x->width, C = x->C;
  for (long b = lo; b < hi; b++) {
    float *out = x->cols + b * HW * 9 * C;
    for (long r = 0; r < x->rows; r++)
      for (long c = 0; c < x->width; c++)
        for (long dr = -1; dr <= 1; dr++)
          for (long dc = -1; dc <= 1; dc++, out += C) {
            long rr = r + dr, cc = c + dc;
            if (rr < 0 || rr >= x->rows || cc < 0 || cc >= x->width) { memset(out, 0, C * sizeof(float)); continue; }
            const float *src = x->act + b * x->sb + (rr * x->width + cc) * x->sc;
            if (x->sch == 1) memcpy(out, src, C * sizeof(float));
            else for (long ch = 0; ch < C; ch++) out[ch] = src[ch * x->sch];
          }
  }
}

void im2col3x3(float *cols, const float *act, long B, long rows, long width, long C, long sb, long sc, long sch) {
  Ctx c = { cols, act, rows, width, C, sb, sc, sch };
  pool_ranges(B, rows * width * 9 * C, im2col_positions, &c);
}
