/*
 * arena.c -- the per-module bump allocator (see arena.h).
 *
 * Blocks are chained newest first.  Small requests are carved from the
 * newest block; a request larger than a quarter of the default block size
 * gets a block of its own, linked *behind* the current one so the space
 * left in the current block is not wasted.  Every block comes from the
 * module's WasyncAllocator, so a test can make any one of them fail.
 */
#define _DEFAULT_SOURCE 1 /* MADV_HUGEPAGE */
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

struct WasyncArenaBlock {
  WasyncArenaBlock *next;
  size_t size; /* usable bytes after the header */
  size_t pad;  /* keeps the payload 16-byte aligned */
};

#define ARENA_HEADER ((sizeof(WasyncArenaBlock) + 15u) & ~(size_t)15u)
#define ARENA_BLOCK (64u * 1024u)

static void *default_alloc(void *ctx, size_t size) {
  (void)ctx;
  return malloc(size);
}
static void *default_realloc(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  return realloc(ptr, size);
}
static void default_free(void *ctx, void *ptr) {
  (void)ctx;
  free(ptr);
}

static const WasyncAllocator default_allocator = {
    default_alloc, default_realloc, default_free, NULL};

const WasyncAllocator *wasync_default_allocator(void) {
  return &default_allocator;
}

void wasync_advise_large(void *p, size_t size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const uintptr_t huge = (uintptr_t)2 << 20;
  if (size < 2 * huge) return;
  uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)p + size) & ~(huge - 1);
  if (end > start) madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
  (void)p;
  (void)size;
#endif
}

void wasync_arena_init(WasyncArena *arena, const WasyncAllocator *allocator) {
  arena->allocator = allocator ? allocator : &default_allocator;
  arena->blocks = NULL;
  arena->used = 0;
  arena->cap = 0;
}

static WasyncArenaBlock *new_block(WasyncArena *arena, size_t size) {
  if (size > SIZE_MAX - ARENA_HEADER) return NULL;
  WasyncArenaBlock *b =
      arena->allocator->alloc(arena->allocator->ctx, ARENA_HEADER + size);
  if (!b) return NULL;
  wasync_advise_large(b, ARENA_HEADER + size);
  b->size = size;
  b->next = NULL;
  return b;
}

void *wasync_arena_alloc(WasyncArena *arena, size_t size) {
  size = (size + 15u) & ~(size_t)15u;
  if (size == 0) size = 16;
  if (arena->blocks && arena->cap - arena->used >= size) {
    uint8_t *p = (uint8_t *)arena->blocks + ARENA_HEADER + arena->used;
    arena->used += size;
    memset(p, 0, size);
    return p;
  }
  if (size > ARENA_BLOCK / 4) {
    WasyncArenaBlock *b = new_block(arena, size);
    if (!b) return NULL;
    if (arena->blocks) {
      b->next = arena->blocks->next;
      arena->blocks->next = b;
    } else {
      b->next = NULL;
      arena->blocks = b;
      arena->used = size;
      arena->cap = size;
    }
    uint8_t *p = (uint8_t *)b + ARENA_HEADER;
    memset(p, 0, size);
    return p;
  }
  WasyncArenaBlock *b = new_block(arena, ARENA_BLOCK);
  if (!b) return NULL;
  b->next = arena->blocks;
  arena->blocks = b;
  arena->used = size;
  arena->cap = ARENA_BLOCK;
  uint8_t *p = (uint8_t *)b + ARENA_HEADER;
  memset(p, 0, size);
  return p;
}

void *wasync_arena_array(WasyncArena *arena, size_t count, size_t size) {
  if (size != 0 && count > (SIZE_MAX - 16) / size) return NULL;
  return wasync_arena_alloc(arena, count * size);
}

void wasync_arena_free(WasyncArena *arena) {
  WasyncArenaBlock *b = arena->blocks;
  while (b) {
    WasyncArenaBlock *next = b->next;
    arena->allocator->free(arena->allocator->ctx, b);
    b = next;
  }
  arena->blocks = NULL;
  arena->used = arena->cap = 0;
}
