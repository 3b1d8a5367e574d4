/* Persistent thread pool. Workers spin briefly for the next job (kernels come in quick succession during a
 * forward pass), then sleep on a condition variable so an idle pool costs nothing on a shared 2-vCPU machine. */
#include "threadpool.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
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

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t dispatch = PTHREAD_MUTEX_INITIALIZER; /* one pool_for at a time (JS worker threads) */
static pthread_t workers[MAX_THREADS];
static int nthreads = 0;            /* 0 = not initialised */
static atomic_int generation;       /* bumped per job; workers wait for it to change */
static atomic_int quit_generation;  /* workers with index >= active count exit when set */
static atomic_int sleepers;
static int start_generation;        /* generation new workers start from (read before any job is published) */
static atomic_int next_task;
static atomic_int pending;          /* workers still inside the current job */
static pool_fn job_fn;
static void *job_ctx;
static int job_ntasks;
static _Thread_local int in_pool;   /* set inside tasks: nested pool_for runs inline */

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

static void run_tasks(int tid) {
  for (;;) {
    int t = atomic_fetch_add_explicit(&next_task, 1, memory_order_relaxed);
    if (t >= job_ntasks) break;
    job_fn(job_ctx, t, tid);
  }
}

static void *worker_main(void *arg) {
  int tid = (int)(long)arg;
  int seen = start_generation;
  in_pool = 1;
  for (;;) {
    int g = seen, spins = 0;
    while ((g = atomic_load_explicit(&generation, memory_order_acquire)) == seen && spins < SPIN_ITERS) { CPU_RELAX(); spins++; }
    if (g == seen) {
      pthread_mutex_lock(&lock);
      atomic_fetch_add(&sleepers, 1);
      while ((g = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &lock);
      atomic_fetch_sub(&sleepers, 1);
      pthread_mutex_unlock(&lock);
    }
    seen = g;
    if (atomic_load(&quit_generation) == g) { atomic_fetch_sub(&pending, 1); return NULL; }
    run_tasks(tid);
    atomic_fetch_sub_explicit(&pending, 1, memory_order_release);
  }
}

/* Publish a job to all workers (caller holds `dispatch`). */
static void publish(void) {
  pthread_mutex_lock(&lock);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  if (atomic_load(&sleepers) > 0) pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
}

static void wait_workers(void) {
  int spins = 0;
  while (atomic_load_explicit(&pending, memory_order_acquire) > 0) {
    if (++spins < SPIN_ITERS * 8) CPU_RELAX(); else sched_yield();
  }
}

static void stop_workers(void) {
  if (nthreads <= 1) return;
  atomic_store(&pending, nthreads - 1);
  atomic_store(&quit_generation, atomic_load(&generation) + 1);
  publish();
  for (int i = 1; i < nthreads; i++) pthread_join(workers[i], NULL);
}

static void start_workers(int n) {
  nthreads = n;
  atomic_store(&quit_generation, -1);
  start_generation = atomic_load(&generation);
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
  job_fn = fn; job_ctx = ctx; job_ntasks = ntasks;
  atomic_store(&next_task, 0);
  atomic_store(&pending, nthreads - 1);
  publish();
  in_pool = 1;
  run_tasks(0);
  in_pool = 0;
  wait_workers();
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
