/*
 * buf.h -- a growable output byte buffer, and the binary format's writes.
 * Writes never fail individually: an allocation failure sets `oom` and later
 * writes are dropped; the caller checks `oom` once at the end.
 */
#ifndef WASYNC_BUF_H
#define WASYNC_BUF_H

#include "wasync.h"

typedef struct WasyncBuf {
  uint8_t *data;
  size_t size, cap;
  bool oom;
  const WasyncAllocator *allocator;
} WasyncBuf;

void wasync_buf_init(WasyncBuf *b, const WasyncAllocator *allocator);
void wasync_buf_release(WasyncBuf *b);
/* The slow half of wasync_buf_reserve(): grows the buffer. */
bool wasync_buf_grow(WasyncBuf *b, size_t extra);

/* Makes room for `extra` more bytes; false (and `oom` set) when it cannot.
 * Inline: the common case is one compare. */
static inline bool wasync_buf_reserve(WasyncBuf *b, size_t extra) {
  if (b->cap - b->size >= extra && !b->oom) return true;
  return wasync_buf_grow(b, extra);
}

static inline void wasync_buf_byte(WasyncBuf *b, uint8_t v) {
  if (b->cap == b->size && !wasync_buf_grow(b, 1)) return;
  if (b->oom) return;
  b->data[b->size++] = v;
}

void wasync_buf_bytes(WasyncBuf *b, const void *p, size_t n);
void wasync_buf_u32(WasyncBuf *b, uint32_t v); /* unsigned LEB128, minimal */
void wasync_buf_u64(WasyncBuf *b, uint64_t v);
void wasync_buf_s32(WasyncBuf *b, int32_t v); /* signed LEB128, minimal */
void wasync_buf_s64(WasyncBuf *b, int64_t v);
void wasync_buf_f32(WasyncBuf *b, uint32_t bits);
void wasync_buf_f64(WasyncBuf *b, uint64_t bits);
void wasync_buf_name(WasyncBuf *b, const uint8_t *p, uint32_t len);
/* A u32 LEB128 padded to exactly 5 bytes at a known position (section and
 * body sizes are patched after the fact). */
size_t wasync_buf_reserve_u32_5(WasyncBuf *b);
void wasync_buf_patch_u32_5(WasyncBuf *b, size_t at, uint32_t v);

#endif
