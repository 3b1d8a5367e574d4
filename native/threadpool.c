/* Persistent thread pool. Workers spin briefly for the next job (kernels come in quick succession during a
 * forward pass), then sleep on a condition variable so an idle pool costs nothing on a shared 2-vCPU machine. */
#include "threadpool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_THREADS 256
/* ~20-50 µs of pause instructions: long enough to catch back-to-back kernels, short enough not to starve others. */
#define SPIN_ITERS 2000
#define CLOSED 0xFFFFFFFFu

/* Tasks are claimed from one 64-bit word, (job generation << 32) | next task index. The caller runs tasks too
 * and waits only for tasks that were claimed, never for workers to wake: on a shared machine a descheduled
 * worker then costs nothing, and one that wakes late finds the job's word closed or exhausted. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t dispatch = PTHREAD_MUTEX_INITIALIZER; /* one pool_for at a time (JS worker threads) */
static pthread_t workers[MAX_THREADS];
static int nthreads = 0;              /* 0 = not initialised */
static atomic_uint generation;        /* the current job's tag; workers wait for it to change */
static _Atomic uint64_t claim;        /* (tag << 32) | next task */
static atomic_int done;               /* tasks of the current job finished */
static atomic_uint quit_generation;   /* workers exit when woken with this tag */
static atomic_int sleepers;
static unsigned start_generation;     /* the tag new workers start from */
static pool_fn job_fn;
static void *job_ctx;
static unsigned job_ntasks;
static _Thread_local int in_pool;     /* set inside tasks: nested pool_for runs inline */

static int default_threads(void) {
  const char *env = getenv("MOVE37_THREADS");
  if (env && *env) {
    int n = atoi(env);
    if (n > 0) return n < MAX_THREADS ? n : MAX_THREADS;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n < MAX_THREADS ? n : MAX_THREADS;
  }
  return 1;
}

/* Claim and run tasks of job `tag` until none are left. A successful CAS proves the job did not change
 * between reading its fields and claiming (tags are never reused), and the caller cannot retire the job
 * before the claimed task reports done. */
static void run_tasks(unsigned tag, int tid) {
  for (;;) {
    uint64_t c = atomic_load_explicit(&claim, memory_order_acquire);
    unsigned idx = (unsigned)c;
    if ((unsigned)(c >> 32) != tag || idx == CLOSED || idx >= job_ntasks) return;
    pool_fn fn = job_fn;
    void *ctx = job_ctx;
    if (!atomic_compare_exchange_weak_explicit(&claim, &c, c + 1, memory_order_acq_rel, memory_order_acquire)) continue;
    fn(ctx, (int)idx, tid);
    atomic_fetch_add_explicit(&done, 1, memory_order_release);
  }
}

static void *worker_main(void *arg) {
  int tid = (int)(long)arg;
  unsigned seen = start_generation;
  in_pool = 1;
  for (;;) {
    unsigned g = seen;
    int spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < SPIN_ITERS) { CPU_RELAX(); spins++; }
    if (g == seen) {
      pthread_mutex_lock(&lock);
      atomic_fetch_add(&sleepers, 1);
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &lock);
      atomic_fetch_sub(&sleepers, 1);
      pthread_mutex_unlock(&lock);
    }
    seen = g;
    if (atomic_load(&quit_generation) == g) return NULL;
    run_tasks(g, tid);
  }
}

/* Make tag the current generation and wake sleeping workers (caller holds `dispatch`). */
static void publish(unsigned tag) {
  pthread_mutex_lock(&lock);
  atomic_store_explicit(&generation, tag, memory_order_release);
  if (atomic_load(&sleepers) > 0) pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
}

static void stop_workers(void) {
  if (nthreads <= 1) return;
  unsigned tag = atomic_load(&generation) + 1;
  atomic_store(&claim, ((uint64_t)tag << 32) | CLOSED);
  atomic_store(&quit_generation, tag);
  publish(tag);
  for (int i = 1; i < nthreads; i++) pthread_join(workers[i], NULL);
}

static void start_workers(int n) {
  nthreads = n;
  start_generation = atomic_load(&generation);
  atomic_store(&quit_generation, start_generation - 1);
  for (int i = 1; i < n; i++) {
    if (pthread_create(&workers[i], NULL, worker_main, (void *)(long)i) != 0) { nthreads = i; break; }
  }
}

int pool_threads(void) {
  if (nthreads == 0) {
    pthread_mutex_lock(&dispatch);
    if (nthreads == 0) start_workers(default_threads());
    pthread_mutex_unlock(&dispatch);
  }
  return nthreads;
}

void pool_set_threads(int n) {
  pool_threads();
  pthread_mutex_lock(&dispatch);
  if (n <= 0) n = default_threads();
  if (n > MAX_THREADS) n = MAX_THREADS;
  if (n != nthreads) { stop_workers(); start_workers(n); }
  pthread_mutex_unlock(&dispatch);
}

void pool_for(int ntasks, pool_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  int n = pool_threads();
  if (ntasks == 1 || n == 1 || in_pool || pthread_mutex_trylock(&dispatch) != 0) {
    int saved = in_pool;
    in_pool = 1;
    for (int t = 0; t < ntasks; t++) fn(ctx, t, 0);
    in_pool = saved;
    return;
  }
  unsigned tag = atomic_load(&generation) + 1;
  /* close the word first: a stale worker's CAS now fails before the job fields change under it */
  atomic_store(&claim, ((uint64_t)tag << 32) | CLOSED);
  atomic_thread_fence(memory_order_release);
  job_fn = fn; job_ctx = ctx; job_ntasks = (unsigned)ntasks;
  atomic_store_explicit(&done, 0, memory_order_relaxed);
  atomic_store_explicit(&claim, (uint64_t)tag << 32, memory_order_release);
  publish(tag);
  in_pool = 1;
  run_tasks(tag, 0);
  in_pool = 0;
  int spins = 0;
  while (atomic_load_explicit(&done, memory_order_acquire) < ntasks) {
    if (++spins < SPIN_ITERS * 8) CPU_RELAX(); else sched_yield();
  }
  pthread_mutex_unlock(&dispatch);
}

typedef struct { long n; int parts; range_fn fn; void *ctx; } Ranges;

static void range_task(void *ctx, int task, int tid) {
  (void)tid;
  const Ranges *r = ctx;
  long lo, hi;
  pool_range(r->n, r->parts, task, &lo, &hi);
  if (lo < hi) r->fn(r->ctx, lo, hi);
}

/* ~64k flops of work per task: below that, dispatch costs more than it saves. */
#define RANGE_GRAIN 65536

void pool_ranges(long n, long cost, range_fn fn, void *ctx) {
  if (n <= 0) return;
  int parts = pool_tasks(n * (cost > 0 ? cost : 1), RANGE_GRAIN);
  if (parts > n) parts = (int)n;
  if (parts == 1) { fn(ctx, 0, n); return; }
  Ranges r = { n, parts, fn, ctx };
  pool_for(parts, range_task, &r);
}
