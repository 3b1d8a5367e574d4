#include "scratch.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct { float *p; size_t n; } Buffer;

static pthread_key_t keys[SCRATCH_SLOTS];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void release(void *b) { free(((Buffer *)b)->p); free(b); }
static void make_keys(void) { for (int i = 0; i < SCRATCH_SLOTS; i++) pthread_key_create(&keys[i], release); }

float *scratch(int slot, size_t floats) {
  pthread_once(&once, make_keys);
  Buffer *b = pthread_getspecific(keys[slot]);
  if (!b) {
    b = calloc(1, sizeof *b);
    if (!b) { fprintf(stderr, "move37: out of memory allocating kernel scratch\n"); abort(); }
    pthread_setspecific(keys[slot], b);
  }
  if (b->n < floats) {
    free(b->p);
    size_t n = (floats + 15) & ~(size_t)15;
    b->p = aligned_alloc(64, n * sizeof(float));
    if (!b->p) { fprintf(stderr, "move37: out of memory allocating %zu floats of kernel scratch\n", n); abort(); }
    b->n = n;
  }
  return b->p;
}
