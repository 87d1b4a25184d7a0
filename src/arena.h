/*
 * arena.h -- the per-module arena.
 *
 * Everything a module owns (its arrays, names copied out of the input, pass
 * output) is carved out of one arena and released at once by
 * wasync_module_free().  Error paths therefore need no cleanup: a failed
 * decode just frees the arena.  Allocation goes through the caller's
 * WasyncAllocator so tests can make the N-th allocation fail.
 */
#ifndef WASYNC_ARENA_H
#define WASYNC_ARENA_H

#include "wasync.h"

typedef struct WasyncArenaBlock WasyncArenaBlock;

typedef struct WasyncArena {
  const WasyncAllocator *allocator; /* never NULL after init */
  WasyncArenaBlock *blocks;         /* newest first */
  size_t used, cap;                 /* within the newest block */
} WasyncArena;

void wasync_arena_init(WasyncArena *arena, const WasyncAllocator *allocator);
/* Returns zeroed, 16-byte-aligned memory, or NULL when allocation fails. */
void *wasync_arena_alloc(WasyncArena *arena, size_t size);
/* Allocates count*size bytes, NULL on overflow or failure. */
void *wasync_arena_array(WasyncArena *arena, size_t count, size_t size);
void wasync_arena_free(WasyncArena *arena);

/* Advice for a large block that is about to be written front to back: on
 * Linux, back it with transparent huge pages (one page fault per 2 MiB
 * instead of one per 4 KiB).  Does nothing elsewhere, for blocks under
 * 4 MiB, or where the memory does not allow it. */
void wasync_advise_large(void *p, size_t size);

/* The default allocator (malloc/realloc/free). */
const WasyncAllocator *wasync_default_allocator(void);

#endif
