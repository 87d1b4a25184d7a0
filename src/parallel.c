/*
 * parallel.c -- splitting the code into chunks, and a pool of threads
 * taking them in turn (see parallel.h).
 */
#include "parallel.h"

/* The one switch for threads: off when asked (WASYNC_NO_THREADS), on WASI
 * (wasync built for wasm32-wasi: one thread, the same output) and where
 * there are no POSIX threads or C11 atomics. */
#if !defined(WASYNC_NO_THREADS) && !defined(__wasi__) && defined(__unix__) &&  \
    !defined(__STDC_NO_ATOMICS__)
#include <pthread.h>
#include <stdatomic.h>
#define HAVE_PTHREADS 1
#else
#define HAVE_PTHREADS 0
#endif

/* Chunks per thread: enough that a thread held back by the system leaves
 * most of its share to the others, few enough to stay cheap. */
#define CHUNKS_PER_THREAD 8u

unsigned wasync_split_bodies(const WasyncModule *m, uint32_t *bounds,
                             unsigned *threads) {
  uint32_t first = m->nfunc_imports, end = m->nfuncs;
  if (first > end) first = end;
  uint64_t total = 0;
  for (uint32_t i = first; i < end; i++)
    total += m->funcs[i].code.size;
  uint64_t min = m->thread_min_bytes ? m->thread_min_bytes : 1;
  uint64_t t = m->threads > 1 ? m->threads : 1;
  if (t > WASYNC_MAX_THREADS) t = WASYNC_MAX_THREADS;
  if (t > total / min) t = total / min;
  if (t < 1) t = 1;
  *threads = (unsigned)t;
  uint64_t parts = t == 1 ? 1 : t * CHUNKS_PER_THREAD;
  if (parts > WASYNC_MAX_CHUNKS) parts = WASYNC_MAX_CHUNKS;
  if (parts > end - first) parts = end - first;
  if (parts < 1) parts = 1;
  bounds[0] = first;
  unsigned n = 1;
  uint64_t acc = 0;
  /* Chunk n ends at the first function whose end reaches n/parts of the
   * total; every chunk keeps at least one function. */
  for (uint32_t i = first; i < end && n < parts; i++) {
    acc += m->funcs[i].code.size;
    if (acc * parts >= total * n && i + 1 < end) bounds[n++] = i + 1;
  }
  bounds[n] = end;
  if (*threads > n) *threads = n; /* fewer functions than threads */
  return n;
}

#if HAVE_PTHREADS
typedef struct Pool {
  atomic_uint next; /* the next chunk nobody has taken */
  unsigned chunks;
  void (*run)(void *ctx, unsigned chunk, unsigned worker);
  void *ctx;
} Pool;

typedef struct Job {
  Pool *pool;
  unsigned worker;
  pthread_t thread;
  bool started;
} Job;

static void work(Pool *p, unsigned worker) {
  for (;;) {
    unsigned k = atomic_fetch_add(&p->next, 1u);
    if (k >= p->chunks) return;
    p->run(p->ctx, k, worker);
  }
}

static void *job_main(void *arg) {
  Job *j = arg;
  work(j->pool, j->worker);
  return NULL;
}
#endif

void wasync_parallel_run(unsigned threads, unsigned chunks,
                         void (*run)(void *ctx, unsigned chunk,
                                     unsigned worker),
                         void *ctx) {
#if HAVE_PTHREADS
  if (threads > WASYNC_MAX_THREADS) threads = WASYNC_MAX_THREADS;
  if (threads > chunks) threads = chunks;
  if (threads <= 1) {
    for (unsigned k = 0; k < chunks; k++)
      run(ctx, k, 0);
    return;
  }
  Pool pool;
  atomic_init(&pool.next, 0u);
  pool.chunks = chunks;
  pool.run = run;
  pool.ctx = ctx;
  Job jobs[WASYNC_MAX_THREADS];
  for (unsigned i = 1; i < threads; i++) {
    jobs[i].pool = &pool;
    jobs[i].worker = i;
    jobs[i].started =
        pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]) == 0;
  }
  work(&pool, 0); /* a thread that could not start: the others do more */
  for (unsigned i = 1; i < threads; i++)
    if (jobs[i].started) pthread_join(jobs[i].thread, NULL);
#else
  (void)threads;
  for (unsigned k = 0; k < chunks; k++)
    run(ctx, k, 0);
#endif
}
