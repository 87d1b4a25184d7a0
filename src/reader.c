/*
 * reader.c -- primitive reads of the binary format (see reader.h).
 *
 * LEB128 follows the spec to the bit (leb128.h): an N-bit integer takes at
 * most ceil(N/7) bytes ("integer representation too long" past that), and
 * the bits of the last byte that lie beyond N must be zero (unsigned) or
 * copies of the sign bit (signed), else "integer too large".  Running out of
 * input is "unexpected end"; the section decoder words it "unexpected end of
 * section or function" when a section boundary, not the file, cut it.
 */
#include "reader.h"

#include "leb128.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

bool wasync_fail(WasyncError *err, WasyncErrorCode code, uint64_t offset,
                 const char *fmt, ...) {
  if (!err || err->code != WASYNC_OK) return false;
  err->code = code;
  err->offset = offset;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return false;
}

bool wasync_error_is(const WasyncError *err, const char *spec) {
  size_t n = strlen(spec);
  return strncmp(err->message, spec, n) == 0 &&
         (err->message[n] == '\0' || strncmp(err->message + n, " (", 2) == 0);
}

void wasync_error_context(WasyncError *err, const char *fmt, ...) {
  if (!err || err->code == WASYNC_OK) return;
  size_t n = strlen(err->message);
  if (n + 4 >= sizeof err->message) return;
  char *p = err->message + n;
  size_t room = sizeof err->message - n;
  p[0] = ' ', p[1] = '(';
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(p + 2, room - 2, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k + 3 >= room) { /* no room: no half context */
    *p = '\0';
    return;
  }
  p[2 + k] = ')';
  p[3 + k] = '\0';
}

/* Records the spec's `msg` at `at`, naming what was being read. */
static bool fail_read(WasyncReader *r, size_t at, const char *msg,
                      const char *what) {
  if (what)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at, "%s (reading %s)", msg,
                       what);
  return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at, "%s", msg);
}

static bool fail_end(WasyncReader *r, const char *what) {
  return fail_read(r, r->pos, "unexpected end", what);
}

bool wasync_read_u8(WasyncReader *r, const char *what, uint8_t *out) {
  if (r->pos >= r->end) return fail_end(r, what);
  *out = r->base[r->pos++];
  return true;
}

/* Reads an LEB128 of `bits` bits; signed when `sign`.  The raw value is
 * returned in *out (sign-extended for signed reads). */
static bool read_leb(WasyncReader *r, const char *what, unsigned bits,
                     bool sign, uint64_t *out) {
  const uint8_t *p = r->base + r->pos;
  size_t left = r->end - r->pos, len;
  if (left > 0 && p[0] < 0x80) {
    uint64_t v = p[0];
    if (sign && (v & 0x40)) v |= ~(uint64_t)0x7F;
    *out = v;
    r->pos++;
    return true;
  }
  WasyncLebStatus st = wasync_leb_read(p, left, bits, sign, out, &len);
  r->pos += len;
  switch (st) {
  case WASYNC_LEB_OK: return true;
  case WASYNC_LEB_END: return fail_end(r, what);
  case WASYNC_LEB_TOO_LARGE:
    return fail_read(r, r->pos, "integer too large", what);
  case WASYNC_LEB_TOO_LONG: break;
  }
  return fail_read(r, r->pos, "integer representation too long", what);
}

bool wasync_read_u32(WasyncReader *r, const char *what, uint32_t *out) {
  if (r->pos < r->end && r->base[r->pos] < 0x80) { /* one byte: most */
    *out = r->base[r->pos++];
    return true;
  }
  uint64_t v;
  if (!read_leb(r, what, 32, false, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

bool wasync_read_u64(WasyncReader *r, const char *what, uint64_t *out) {
  return read_leb(r, what, 64, false, out);
}

bool wasync_read_u32_of_u64(WasyncReader *r, const char *what, uint32_t *out) {
  size_t at = r->pos;
  if (wasync_read_u32(r, what, out)) return true;
  if (!r->err || !wasync_error_is(r->err, "integer representation too long"))
    return false;
  WasyncError e2 = {0};
  WasyncReader r2 = {r->base, at, r->end, &e2};
  uint64_t wide;
  if (!wasync_read_u64(&r2, what, &wide) &&
      wasync_error_is(&e2, "integer too large"))
    *r->err = e2;
  return false;
}

bool wasync_read_s32(WasyncReader *r, const char *what, int32_t *out) {
  uint64_t v;
  if (!read_leb(r, what, 32, true, &v)) return false;
  *out = (int32_t)(uint32_t)v;
  return true;
}

bool wasync_read_s33(WasyncReader *r, const char *what, int64_t *out) {
  uint64_t v;
  if (!read_leb(r, what, 33, true, &v)) return false;
  *out = (int64_t)v;
  return true;
}

bool wasync_read_s64(WasyncReader *r, const char *what, int64_t *out) {
  uint64_t v;
  if (!read_leb(r, what, 64, true, &v)) return false;
  *out = (int64_t)v;
  return true;
}

bool wasync_read_f32(WasyncReader *r, const char *what, uint32_t *bits) {
  if (r->end - r->pos < 4) {
    r->pos = r->end;
    return fail_end(r, what);
  }
  const uint8_t *p = r->base + r->pos;
  *bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
          (uint32_t)p[3] << 24;
  r->pos += 4;
  return true;
}

bool wasync_read_f64(WasyncReader *r, const char *what, uint64_t *bits) {
  if (r->end - r->pos < 8) {
    r->pos = r->end;
    return fail_end(r, what);
  }
  const uint8_t *p = r->base + r->pos;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  *bits = v;
  r->pos += 8;
  return true;
}

bool wasync_read_bytes(WasyncReader *r, const char *what, size_t n,
                       const uint8_t **out) {
  if (r->end - r->pos < n) return fail_end(r, what);
  *out = r->base + r->pos;
  r->pos += n;
  return true;
}

bool wasync_read_count(WasyncReader *r, const char *what, size_t min_item_size,
                       uint32_t *out) {
  size_t at = r->pos;
  if (!wasync_read_u32(r, what, out)) return false;
  if (min_item_size && (uint64_t)*out * min_item_size > r->end - r->pos) {
    r->pos = at;
    return fail_read(r, at, "unexpected end", what);
  }
  return true;
}

/* Checks UTF-8 per RFC 3629: no overlongs, no surrogates, <= U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = cp << 6 | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

bool wasync_read_name(WasyncReader *r, const char *what, const uint8_t **bytes,
                      uint32_t *len) {
  size_t at = r->pos;
  if (!wasync_read_u32(r, what, len)) return false;
  if (*len > r->end - r->pos) {
    return fail_read(r, at, "length out of bounds", what);
  }
  *bytes = r->base + r->pos;
  if (!utf8_valid(*bytes, *len)) {
    return fail_read(r, r->pos, "malformed UTF-8 encoding", what);
  }
  r->pos += *len;
  return true;
}
