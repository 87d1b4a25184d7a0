/*
 * buf.c -- the growable output buffer and the binary format's writes
 * (see buf.h).  LEB128 output is always minimal, which is what makes a
 * canonically encoded module re-encode byte for byte.
 */
#include "buf.h"
#include "arena.h"
#include "leb128.h"

#include <string.h>

void wasync_buf_init(WasyncBuf *b, const WasyncAllocator *allocator) {
  b->data = NULL;
  b->size = b->cap = 0;
  b->oom = false;
  b->allocator = allocator ? allocator : wasync_default_allocator();
}

void wasync_buf_release(WasyncBuf *b) {
  if (b->data) b->allocator->free(b->allocator->ctx, b->data);
  b->data = NULL;
  b->size = b->cap = 0;
}

bool wasync_buf_grow(WasyncBuf *b, size_t extra) {
  if (b->oom) return false;
  if (b->cap - b->size >= extra) return true;
  if (extra > SIZE_MAX / 2 - b->size) {
    b->oom = true;
    return false;
  }
  size_t cap = b->cap ? b->cap : 256;
  while (cap - b->size < extra)
    cap *= 2;
  uint8_t *p = b->allocator->realloc(b->allocator->ctx, b->data, cap);
  if (!p) {
    b->oom = true;
    return false;
  }
  wasync_advise_large(p, cap); /* see arena.h */
  b->data = p;
  b->cap = cap;
  return true;
}

void wasync_buf_bytes(WasyncBuf *b, const void *p, size_t n) {
  if (n == 0 || !wasync_buf_reserve(b, n)) return;
  memcpy(b->data + b->size, p, n);
  b->size += n;
}

void wasync_buf_u64(WasyncBuf *b, uint64_t v) {
  if (!wasync_buf_reserve(b, 10)) return;
  if (v < 0x80) {
    b->data[b->size++] = (uint8_t)v;
    return;
  }
  b->size = (size_t)(wasync_leb_put_u(b->data + b->size, v) - b->data);
}

void wasync_buf_u32(WasyncBuf *b, uint32_t v) {
  wasync_buf_u64(b, v);
}

void wasync_buf_s64(WasyncBuf *b, int64_t v) {
  if (!wasync_buf_reserve(b, 10)) return;
  b->size = (size_t)(wasync_leb_put_s(b->data + b->size, v) - b->data);
}

void wasync_buf_s32(WasyncBuf *b, int32_t v) {
  wasync_buf_s64(b, v);
}

void wasync_buf_f32(WasyncBuf *b, uint32_t bits) {
  uint8_t t[4];
  for (int i = 0; i < 4; i++)
    t[i] = (uint8_t)(bits >> (8 * i));
  wasync_buf_bytes(b, t, 4);
}

void wasync_buf_f64(WasyncBuf *b, uint64_t bits) {
  uint8_t t[8];
  for (int i = 0; i < 8; i++)
    t[i] = (uint8_t)(bits >> (8 * i));
  wasync_buf_bytes(b, t, 8);
}

void wasync_buf_name(WasyncBuf *b, const uint8_t *p, uint32_t len) {
  wasync_buf_u32(b, len);
  wasync_buf_bytes(b, p, len);
}

size_t wasync_buf_reserve_u32_5(WasyncBuf *b) {
  size_t at = b->size;
  static const uint8_t pad[5] = {0x80, 0x80, 0x80, 0x80, 0x00};
  wasync_buf_bytes(b, pad, 5);
  return at;
}

void wasync_buf_patch_u32_5(WasyncBuf *b, size_t at, uint32_t v) {
  if (b->oom || at + 5 > b->size) return;
  wasync_leb_put_u32_width(b->data + at, v, 5);
}
