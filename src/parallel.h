/*
 * parallel.h -- function bodies on several threads.
 *
 * Idea.  The work per function body (validating it, re-encoding it) is
 * independent from one body to the next, and it is most of the time spent
 * on a large module.  So the defined functions are cut into a few
 * contiguous runs of about equal byte size, one per thread; each thread
 * works through its run with its own scratch (validator, instruction
 * reader, output buffer, error), and the caller combines the results in
 * run order.  Because runs are contiguous and combined in order, the output
 * bytes are those of one thread, and the error reported is the one of the
 * lowest failing function: exactly what the sequential loop reports.
 *
 * How many threads.  WasyncDecodeOptions.threads (kept in the module) is a
 * maximum; a run gets at least `thread_min_bytes` of bodies, so small
 * modules stay on the calling thread (starting a thread costs more than it
 * saves there).  With one run everything happens on the calling thread,
 * with no thread created: the library's default behaviour.
 *
 * Threads are POSIX threads; where they are unavailable (or when the
 * library is built with -DWASYNC_NO_THREADS) runs are done one after the
 * other on the calling thread, with the same results.  A thread that cannot
 * be created is handled the same way.
 */
#ifndef WASYNC_PARALLEL_H
#define WASYNC_PARALLEL_H

#include "module.h"

/* Default minimum of body bytes per thread (WasyncDecodeOptions). */
#define WASYNC_THREAD_MIN_BYTES (256u * 1024u)

/* Splits the defined functions of `m` into at most m->threads contiguous
 * runs of about equal body size, each of at least m->thread_min_bytes
 * (one run when there is less code).  Run i is functions [bounds[i],
 * bounds[i + 1]); bounds needs WASYNC_MAX_THREADS + 1 entries.  Returns the
 * number of runs (1 when there are no defined functions: an empty run). */
unsigned wasync_split_bodies(const WasyncModule *m, uint32_t *bounds);

/* Calls run(ctx, i) for every i in [0, n): i = 0 on the calling thread,
 * the others on threads of their own; returns when all are done. */
void wasync_parallel_run(unsigned n, void (*run)(void *ctx, unsigned i),
                         void *ctx);

#endif
