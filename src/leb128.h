/*
 * leb128.h -- the one home of LEB128: reading, writing, sizes and the
 * minimality checks the fast paths rely on.
 *
 * The binary format writes every integer as an LEB128: seven payload bits
 * per byte, low bits first, the high bit set on every byte but the last.
 * An N-bit integer takes at most ceil(N/7) bytes; in that last possible
 * byte the bits beyond N must be zero (unsigned) or copies of the sign bit
 * (signed).  The spec accepts non-minimal encodings (padding with 0x80 ..
 * 0x00, or 0xFF .. 0x7F for negative numbers) within that limit, and so
 * does wasync; it writes minimal ones, except where a caller asks for a
 * width (size fields kept as wide as the input's, placeholders patched
 * later).
 *
 * Three families, by who uses them:
 *
 *   - wasync_leb_read(): the full read, exactly the spec's rules, with a
 *     status the reader (reader.c) turns into the spec's messages;
 *   - the "short" reads: an LEB128 that ends within its first `max` bytes,
 *     where max is small enough that any such value fits the integer type
 *     (4 bytes = 28 bits for a u32/s32, 9 bytes = 63 bits for an s64).
 *     No range check is needed then, which is what makes the fast paths of
 *     the body scanner, the validator and the re-encoder fast; anything
 *     else returns 0 and goes to the full reader;
 *   - the writers: minimal encodings into a byte pointer (the callers
 *     reserve room first: 5 bytes for 32 bits, 10 for 64), a padded u32,
 *     and sizes.
 *
 * Everything is static inline: these sit in the hottest loops.
 */
#ifndef WASYNC_LEB128_H
#define WASYNC_LEB128_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- full read ----------------------------------------------------------- */

typedef enum WasyncLebStatus {
  WASYNC_LEB_OK = 0,
  WASYNC_LEB_END,      /* "unexpected end": the input ran out */
  WASYNC_LEB_TOO_LONG, /* "integer representation too long" */
  WASYNC_LEB_TOO_LARGE /* "integer too large": unused bits not zero/sign */
} WasyncLebStatus;

/* Reads an LEB128 of `bits` bits (signed when `sign`) from the `left`
 * bytes at p.  On success *out is the value (sign-extended for signed
 * reads) and *len its length.  On failure *len is where the error lies,
 * relative to p, the way the reference interpreter reports it: the end of
 * the input, the byte with unused bits set, or the byte after the one
 * whose continuation bit is set although it should be the last.  Unused
 * bits are checked before the continuation bit, like the interpreter. */
static inline WasyncLebStatus wasync_leb_read(const uint8_t *p, size_t left,
                                              unsigned bits, bool sign,
                                              uint64_t *out, size_t *len) {
  unsigned maxbytes = (bits + 6) / 7;
  uint64_t result = 0;
  unsigned shift = 0;
  for (unsigned i = 0;; i++) {
    if (i >= left) {
      *len = left;
      return WASYNC_LEB_END;
    }
    uint8_t byte = p[i];
    bool last = i == maxbytes - 1;
    if (last) {
      unsigned used = bits - 7 * i; /* payload bits in this byte, 1..7 */
      if (used < 7) {
        uint8_t mask, want = 0;
        if (sign) {
          mask = (uint8_t)((0x7Fu << (used - 1)) & 0x7Fu);
          if (byte & mask) want = mask;
        } else {
          mask = (uint8_t)((0x7Fu << used) & 0x7Fu);
        }
        if ((byte & mask) != want) {
          *len = i;
          return WASYNC_LEB_TOO_LARGE;
        }
      }
      if (byte & 0x80) {
        *len = i + 1;
        return WASYNC_LEB_TOO_LONG;
      }
    }
    result |= (uint64_t)(byte & 0x7F) << shift;
    shift += 7;
    if (last || !(byte & 0x80)) {
      if (sign && shift < 64 && (byte & 0x40)) result |= ~(uint64_t)0 << shift;
      *out = result;
      *len = i + 1;
      return WASYNC_LEB_OK;
    }
  }
}

/* ---- short reads (the fast paths) -----------------------------------------
 */

/* Length of an LEB128 at p that ends within its first min(max, left)
 * bytes, or 0.  With max <= 4 it is a valid u32/s32 (and u64/s64); with
 * max <= 9 a valid s64/u64. */
static inline size_t wasync_leb_short_len(const uint8_t *p, size_t left,
                                          size_t max) {
  if (left < max) max = left;
  for (size_t i = 0; i < max; i++)
    if (p[i] < 0x80) return i + 1;
  return 0;
}

/* The same, decoding an unsigned value (max <= 4). */
static inline size_t wasync_leb_short_u32(const uint8_t *p, size_t left,
                                          size_t max, uint32_t *out) {
  if (left < max) max = left;
  uint32_t v = 0;
  for (size_t i = 0; i < max; i++) {
    v |= (uint32_t)(p[i] & 0x7F) << (7 * i);
    if (p[i] < 0x80) {
      *out = v;
      return i + 1;
    }
  }
  return 0;
}

/* The same, decoding a signed value (max <= 9; <= 4 for an s32). */
static inline size_t wasync_leb_short_s64(const uint8_t *p, size_t left,
                                          size_t max, int64_t *out) {
  if (left < max) max = left;
  uint64_t v = 0;
  for (size_t i = 0; i < max; i++) {
    v |= (uint64_t)(p[i] & 0x7F) << (7 * i);
    if (p[i] < 0x80) {
      if (p[i] & 0x40) v |= ~(uint64_t)0 << (7 * (i + 1));
      *out = (int64_t)v;
      return i + 1;
    }
  }
  return 0;
}

/* ---- minimality ------------------------------------------------------------
 */

/* Whether an LEB128 of two or more bytes whose last two bytes are `prev`,
 * `last` is minimal: an unsigned one unless its last byte is 0 (padding),
 * a signed one unless its last byte only repeats the sign of the one
 * before (0x00 after a positive, 0x7F after a negative).  One byte is
 * always minimal. */
static inline bool wasync_leb_u_tail_minimal(uint8_t last) {
  return last != 0;
}
static inline bool wasync_leb_s_tail_minimal(uint8_t prev, uint8_t last) {
  return !((last == 0 && !(prev & 0x40)) || (last == 0x7F && (prev & 0x40)));
}

/* Length of a short (see above) LEB128 at p that is also minimal, so that
 * copying its bytes is writing the value's minimal encoding; else 0. */
static inline size_t wasync_leb_short_min_u(const uint8_t *p, size_t left,
                                            size_t max) {
  if (left < max) max = left;
  for (size_t i = 0; i < max; i++)
    if (p[i] < 0x80)
      return i == 0 || wasync_leb_u_tail_minimal(p[i]) ? i + 1 : 0;
  return 0;
}

static inline size_t wasync_leb_short_min_s(const uint8_t *p, size_t left,
                                            size_t max) {
  if (left < max) max = left;
  for (size_t i = 0; i < max; i++)
    if (p[i] < 0x80)
      return i == 0 || wasync_leb_s_tail_minimal(p[i - 1], p[i]) ? i + 1 : 0;
  return 0;
}

/* The width of the u32 LEB128 that ends just before offset `pos` of the
 * `size` bytes at `bytes` (a size field: every byte but its last has the
 * high bit set), or 0 when it cannot be told. */
static inline size_t wasync_leb_width_before(const uint8_t *bytes, size_t size,
                                             uint64_t pos) {
  if (pos == 0 || pos > size || (bytes[pos - 1] & 0x80)) return 0;
  size_t w = 1;
  while (w < 5 && pos - w > 0 && (bytes[pos - w - 1] & 0x80))
    w++;
  return w;
}

/* ---- writing ---------------------------------------------------------------
 */

/* Size of the minimal unsigned LEB128 of v. */
static inline size_t wasync_leb_u_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80)
    v >>= 7, n++;
  return n;
}

/* Writes the minimal unsigned LEB128 of v at p (room: 10 bytes); returns
 * the byte after it. */
static inline uint8_t *wasync_leb_put_u(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

/* Writes the minimal signed LEB128 of v at p (room: 10 bytes). */
static inline uint8_t *wasync_leb_put_s(uint8_t *p, int64_t v) {
  for (;;) {
    uint8_t byte = (uint8_t)(v & 0x7F);
    v = v < 0 ? ~(~v >> 7) : v >> 7; /* arithmetic shift, portably */
    if ((v == 0 && !(byte & 0x40)) || (v == -1 && (byte & 0x40))) {
      *p++ = byte;
      return p;
    }
    *p++ = byte | 0x80;
  }
}

/* Writes v as an unsigned LEB128 of exactly `width` bytes (at least its
 * minimal size, at most 5), padded with continuation bytes. */
static inline uint8_t *wasync_leb_put_u32_width(uint8_t *p, uint32_t v,
                                                size_t width) {
  for (size_t i = 0; i < width; i++) {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (i + 1 < width) byte |= 0x80;
    *p++ = byte;
  }
  return p;
}

#endif
