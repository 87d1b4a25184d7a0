/*
 * parallel.c -- splitting the code into runs, and running them on threads
 * (see parallel.h).
 */
#include "parallel.h"

#if !defined(WASYNC_NO_THREADS) && defined(__unix__)
#include <pthread.h>
#define HAVE_PTHREADS 1
#else
#define HAVE_PTHREADS 0
#endif

unsigned wasync_split_bodies(const WasyncModule *m, uint32_t *bounds) {
  uint32_t first = m->nfunc_imports, end = m->nfuncs;
  if (first > end) first = end;
  uint64_t total = 0;
  for (uint32_t i = first; i < end; i++)
    total += m->funcs[i].code.size;
  uint64_t min = m->thread_min_bytes ? m->thread_min_bytes : 1;
  uint64_t parts = m->threads > 1 ? m->threads : 1;
  if (parts > WASYNC_MAX_THREADS) parts = WASYNC_MAX_THREADS;
  if (parts > total / min) parts = total / min;
  if (parts > end - first) parts = end - first;
  if (parts < 1) parts = 1;
  bounds[0] = first;
  unsigned n = 1;
  uint64_t acc = 0;
  /* Run n ends at the first function whose end reaches n/parts of the
   * total; every run keeps at least one function. */
  for (uint32_t i = first; i < end && n < parts; i++) {
    acc += m->funcs[i].code.size;
    if (acc * parts >= total * n && i + 1 < end) bounds[n++] = i + 1;
  }
  bounds[n] = end;
  return n;
}

#if HAVE_PTHREADS
typedef struct Job {
  void (*run)(void *ctx, unsigned i);
  void *ctx;
  unsigned i;
  pthread_t thread;
  bool started;
} Job;

static void *job_main(void *arg) {
  Job *j = arg;
  j->run(j->ctx, j->i);
  return NULL;
}
#endif

void wasync_parallel_run(unsigned n, void (*run)(void *ctx, unsigned i),
                         void *ctx) {
#if HAVE_PTHREADS
  if (n > WASYNC_MAX_THREADS) n = WASYNC_MAX_THREADS;
  Job jobs[WASYNC_MAX_THREADS];
  for (unsigned i = 1; i < n; i++) {
    jobs[i].run = run;
    jobs[i].ctx = ctx;
    jobs[i].i = i;
    jobs[i].started =
        pthread_create(&jobs[i].thread, NULL, job_main, &jobs[i]) == 0;
  }
  if (n > 0) run(ctx, 0);
  for (unsigned i = 1; i < n; i++) {
    if (jobs[i].started)
      pthread_join(jobs[i].thread, NULL);
    else
      run(ctx, i); /* no thread: do it here */
  }
#else
  for (unsigned i = 0; i < n; i++)
    run(ctx, i);
#endif
}
