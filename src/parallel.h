/*
 * parallel.h -- function bodies on several threads.
 *
 * Idea.  The work per function body (validating it, re-encoding it) is
 * independent from one body to the next, and it is most of the time spent
 * on a large module.  So the defined functions are cut into contiguous
 * chunks of about equal byte size, several per thread; each thread takes
 * the next chunk nobody has taken yet (so a thread the system holds back
 * leaves its share to the others) and works through it with its own
 * scratch (validator, instruction reader, output buffer, error).  The
 * caller then combines the chunks' results in chunk order: the output
 * bytes are those of one thread, and the error reported is the one of the
 * lowest failing function -- exactly what the sequential loop reports.  A
 * chunk after one that failed need not be done.
 *
 * How many threads.  WasyncDecodeOptions.threads (kept in the module) is a
 * maximum; each thread gets at least `thread_min_bytes` of bodies, so small
 * modules stay on the calling thread (starting a thread costs more than it
 * saves there).  With one thread everything happens on the calling thread,
 * in one chunk, with no thread created: the library's default behaviour.
 *
 * Threads are POSIX threads; where they are unavailable (or when the
 * library is built with -DWASYNC_NO_THREADS) the calling thread does every
 * chunk, with the same results.  A thread that cannot be created is just
 * missing from the pool.
 */
#ifndef WASYNC_PARALLEL_H
#define WASYNC_PARALLEL_H

#include "module.h"

/* Default minimum of body bytes per thread (WasyncDecodeOptions). */
#define WASYNC_THREAD_MIN_BYTES (256u * 1024u)

/* Splits the defined functions of `m` into contiguous chunks of about
 * equal body size: chunk k is functions [bounds[k], bounds[k + 1]); bounds
 * needs WASYNC_MAX_CHUNKS + 1 entries.  *threads gets the number of threads
 * worth using (at most m->threads and the number of chunks, each with at
 * least m->thread_min_bytes of bodies); with 1 there is one chunk.  Returns the
 * number of chunks (1 when there are no defined functions: an empty chunk). */
unsigned wasync_split_bodies(const WasyncModule *m, uint32_t *bounds,
                             unsigned *threads);

/* Calls run(ctx, chunk, worker) for every chunk in [0, chunks) on up to
 * `threads` threads, the calling one included (worker 0); the others are
 * workers 1, 2, ...  Each worker takes chunks in increasing order.
 * Returns when every chunk is done. */
void wasync_parallel_run(unsigned threads, unsigned chunks,
                         void (*run)(void *ctx, unsigned chunk,
                                     unsigned worker),
                         void *ctx);

#endif
