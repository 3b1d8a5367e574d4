/* Persistent pthread pool: pool_for runs tasks 0..ntasks-1 on the pool threads and the caller. */
#ifndef MOVE37_THREADPOOL_H
#define MOVE37_THREADPOOL_H

/* task: which of the ntasks to run; tid: 0..pool_threads()-1, unique among concurrently running tasks. */
typedef void (*pool_fn)(void *ctx, int task, int tid);

/* Threads the kernels use (workers + caller). Initialises the pool on first use. */
int pool_threads(void);
/* Resize the pool (n <= 0: back to the default from MOVE37_THREADS or the available cores). */
void pool_set_threads(int n);
/* Run fn(ctx, task, tid) for every task and return when all are done. Runs inline on one thread when
 * called from inside a task, from a second thread while the pool is busy, or when there is one task. */
void pool_for(int ntasks, pool_fn fn, void *ctx);
/* Split [0, n) into `parts` near-equal ranges; returns range `i` in [*lo, *hi). */
static inline void pool_range(long n, int parts, int i, long *lo, long *hi) {
  long q = n / parts, r = n % parts;
  *lo = i * q + (i < r ? i : r);
  *hi = *lo + q + (i < r ? 1 : 0);
}

/* Tasks for `work` units of roughly `grain` each: 1 for small jobs (waking a thread costs ~µs),
 * up to 4 per thread so a thread slowed by a busy core hands work to the others. */
static inline int pool_tasks(long work, long grain) {
  long t = work / (grain > 0 ? grain : 1);
  long max = 4L * pool_threads();
  return t < 1 ? 1 : t > max ? (int)max : (int)t;
}

/* Split [0, n) into pool_tasks(n · cost, grain) contiguous ranges and run fn(ctx, lo, hi) on each in parallel.
 * `cost` is the work per unit (e.g. a row's length), so small jobs stay on one thread. */
typedef void (*range_fn)(void *ctx, long lo, long hi);
void pool_ranges(long n, long cost, range_fn fn, void *ctx);

#endif
