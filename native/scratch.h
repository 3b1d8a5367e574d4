/* Per-OS-thread scratch buffers (packing panels, score rows), freed when the thread exits. */
#ifndef MOVE37_SCRATCH_H
#define MOVE37_SCRATCH_H
#include <stddef.h>

enum { SCRATCH_A, SCRATCH_B, SCRATCH_C, SCRATCH_SLOTS };

/* A 64-byte aligned buffer of at least `floats` floats for this thread and slot; contents are not preserved. */
float *scratch(int slot, size_t floats);

#endif
