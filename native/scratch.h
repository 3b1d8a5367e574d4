/* Per-OS-thread scratch buffers (packing panels, score rows), freed when the thread exits. */
#ifndef MOVE37_SCRATCH_H
#define MOVE37_SCRATCH_H
#include <stddef.h>

/* A, B: GEMM packing panels; C: reductions; ATT1, ATT2, ATT3: attention tiles (which call GEMM inside);
 * W: a BF16 weight widened to F32 for the packed SGEMM (gemm_bf16 at many rows, which calls GEMM after). */
enum { SCRATCH_A, SCRATCH_B, SCRATCH_C, SCRATCH_ATT1, SCRATCH_ATT2, SCRATCH_ATT3, SCRATCH_W, SCRATCH_SLOTS };

/* A 64-byte aligned buffer of at least `floats` floats for this thread and slot; contents are not preserved. */
float *scratch(int slot, size_t floats);

#endif
