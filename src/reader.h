/*
 * reader.h -- primitive reads of the binary format.
 *
 * Every read names what it reads ("function index", "section size") and
 * knows its absolute position; on failure it records the spec's message at
 * that offset in the reader's WasyncError and returns false.  Callers just
 * propagate false.
 *
 * Messages start with the spec's wording (the spec's test scripts match it
 * as a prefix); context follows in parentheses: what a read was reading,
 * then where (the decoder and validator add "in function N"):
 *
 *     unexpected end (reading function count)
 *     type mismatch: expected i32, got f64 (in function 12)
 *
 * The context costs nothing until an error is recorded: `what` is a string
 * constant passed along and formatted only on the failure path.  Code that
 * tests which error it got compares the spec's part with wasync_error_is().  A
 * reader covers [pos, end) of a buffer whose byte 0 is offset 0 of the module.
 */
#ifndef WASYNC_READER_H
#define WASYNC_READER_H

#include "wasync.h"

typedef struct WasyncReader {
  const uint8_t *base; /* byte 0 of the module */
  size_t pos;          /* absolute offset of the next byte */
  size_t end;          /* one past the last readable byte */
  WasyncError *err;
} WasyncReader;

/* Records an error (first one wins) and returns false. */
bool wasync_fail(WasyncError *err, WasyncErrorCode code, uint64_t offset,
                 const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* True when err's message is the spec's `spec`, with or without context. */
bool wasync_error_is(const WasyncError *err, const char *spec);
/* Appends " (context)" to a recorded error's message (nothing when no error
 * is recorded, or when it would not fit). */
void wasync_error_context(WasyncError *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

bool wasync_read_u8(WasyncReader *r, const char *what, uint8_t *out);
bool wasync_read_u32(WasyncReader *r, const char *what, uint32_t *out);
bool wasync_read_u64(WasyncReader *r, const char *what, uint64_t *out);
/* A u32 where Wasm 3.0 reads a u64 (32-bit limits, memarg offsets): when
 * the u32 is too long but would be a u64 with unused bits set, reports
 * 3.0's "integer too large" instead. */
bool wasync_read_u32_of_u64(WasyncReader *r, const char *what, uint32_t *out);
bool wasync_read_s32(WasyncReader *r, const char *what, int32_t *out);
bool wasync_read_s33(WasyncReader *r, const char *what, int64_t *out);
bool wasync_read_s64(WasyncReader *r, const char *what, int64_t *out);
bool wasync_read_f32(WasyncReader *r, const char *what, uint32_t *bits);
bool wasync_read_f64(WasyncReader *r, const char *what, uint64_t *bits);
bool wasync_read_bytes(WasyncReader *r, const char *what, size_t n,
                       const uint8_t **out);
/* A vector count: also fails unless count*min_item_size bytes remain. */
bool wasync_read_count(WasyncReader *r, const char *what, size_t min_item_size,
                       uint32_t *out);
/* A name: a byte vector that must be valid UTF-8 ("malformed UTF-8 encoding").
 */
bool wasync_read_name(WasyncReader *r, const char *what, const uint8_t **bytes,
                      uint32_t *len);

static inline size_t wasync_reader_left(const WasyncReader *r) {
  return r->end - r->pos;
}

#endif
