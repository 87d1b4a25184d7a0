/*
 * test_reader.c -- LEB128 edge cases, fixed-width reads, names (UTF-8),
 * counts, the output buffer's writes, and the opcode table.
 */
#include "buf.h"
#include "opcodes.h"
#include "reader.h"
#include "test.h"

#define BYTES(...) ((const uint8_t[]){__VA_ARGS__})
#define NBYTES(...) sizeof((const uint8_t[]){__VA_ARGS__})

static WasyncError err;

static WasyncReader reader(const uint8_t *p, size_t n) {
  memset(&err, 0, sizeof err);
  WasyncReader r = {p, 0, n, &err};
  return r;
}

#define U32_OK(expect, ...)                                                    \
  do {                                                                         \
    WasyncReader r = reader(BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__));          \
    uint32_t v = 0;                                                            \
    CHECK(wasync_read_u32(&r, "x", &v));                                       \
    CHECK_EQ_U64(v, (expect));                                                 \
    CHECK_EQ(r.pos, NBYTES(__VA_ARGS__));                                      \
  } while (0)

#define READ_FAILS(fn, type, msg, off, ...)                                    \
  do {                                                                         \
    WasyncReader rr_ = reader(BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__));        \
    type vv_;                                                                  \
    CHECK(!fn(&rr_, "x", &vv_));                                               \
    CHECK_STR(err.message, msg " (reading x)");                                \
    CHECK_EQ(err.offset, (off));                                               \
    CHECK_EQ(err.code, WASYNC_ERR_MALFORMED);                                  \
  } while (0)

static void test_u32(void) {
  U32_OK(0, 0x00);
  U32_OK(127, 0x7F);
  U32_OK(128, 0x80, 0x01);
  U32_OK(0, 0x80, 0x00); /* not minimal, still valid */
  U32_OK(0, 0x80, 0x80, 0x80, 0x80, 0x00);
  U32_OK(UINT32_MAX, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F);
  U32_OK(624485, 0xE5, 0x8E, 0x26);
  READ_FAILS(wasync_read_u32, uint32_t, "integer too large", 4, 0xFF, 0xFF,
             0xFF, 0xFF, 0x1F);
  READ_FAILS(wasync_read_u32, uint32_t, "integer too large", 4, 0x80, 0x80,
             0x80, 0x80, 0x70);
  READ_FAILS(wasync_read_u32, uint32_t, "integer representation too long", 5,
             0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  READ_FAILS(wasync_read_u32, uint32_t, "unexpected end", 1, 0x80);
}

/* u32 fields that Wasm 3.0 reads as u64: the 3.0 message when a u64 read
 * would find unused bits set, 2.0's otherwise. */
static void test_u32_of_u64(void) {
  U32_OK(5, 0x85, 0x00);
  READ_FAILS(wasync_read_u32_of_u64, uint32_t, "integer too large", 9, 0x82,
             0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x70);
  READ_FAILS(wasync_read_u32_of_u64, uint32_t,
             "integer representation too long", 5, 0x82, 0x80, 0x80, 0x80, 0x80,
             0x00);
  WasyncReader r = reader(BYTES(0x82, 0x80, 0x00), 3);
  uint32_t v;
  CHECK(wasync_read_u32_of_u64(&r, "x", &v) && v == 2 && r.pos == 3);
}

static void test_signed(void) {
  WasyncReader r;
  int32_t v32;
  int64_t v64;
  r = reader(BYTES(0x7F), 1);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == -1);
  r = reader(BYTES(0x3F), 1);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == 63);
  r = reader(BYTES(0x40), 1);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == -64);
  r = reader(BYTES(0xC0, 0x00), 2);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == 64);
  r = reader(BYTES(0x80, 0x80, 0x80, 0x80, 0x78), 5);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == INT32_MIN);
  r = reader(BYTES(0xFF, 0xFF, 0xFF, 0xFF, 0x07), 5);
  CHECK(wasync_read_s32(&r, "x", &v32) && v32 == INT32_MAX);
  READ_FAILS(wasync_read_s32, int32_t, "integer too large", 4, 0xFF, 0xFF, 0xFF,
             0xFF, 0x0F);
  READ_FAILS(wasync_read_s32, int32_t, "integer too large", 4, 0x80, 0x80, 0x80,
             0x80, 0x70);
  READ_FAILS(wasync_read_s32, int32_t, "integer representation too long", 5,
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F);
  /* s33: five bytes, the last carrying 5 payload bits */
  r = reader(BYTES(0xFF, 0xFF, 0xFF, 0xFF, 0x0F), 5);
  CHECK(wasync_read_s33(&r, "x", &v64) && v64 == 0xFFFFFFFFll);
  r = reader(BYTES(0x80, 0x80, 0x80, 0x80, 0x70), 5);
  CHECK(wasync_read_s33(&r, "x", &v64) && v64 == -0x100000000ll);
  READ_FAILS(wasync_read_s33, int64_t, "integer too large", 4, 0xFF, 0xFF, 0xFF,
             0xFF, 0x1F);
  READ_FAILS(wasync_read_s33, int64_t, "integer too large", 4, 0x80, 0x80, 0x80,
             0x80, 0x50);
  /* s64 */
  r = reader(BYTES(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7F),
             10);
  CHECK(wasync_read_s64(&r, "x", &v64) && v64 == INT64_MIN);
  r = reader(BYTES(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00),
             10);
  CHECK(wasync_read_s64(&r, "x", &v64) && v64 == INT64_MAX);
  READ_FAILS(wasync_read_s64, int64_t, "integer too large", 9, 0xFF, 0xFF, 0xFF,
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
  READ_FAILS(wasync_read_s64, int64_t, "integer representation too long", 10,
             0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
}

static void test_u64(void) {
  WasyncReader r;
  uint64_t v;
  r = reader(BYTES(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01),
             10);
  CHECK(wasync_read_u64(&r, "x", &v) && v == UINT64_MAX);
  READ_FAILS(wasync_read_u64, uint64_t, "integer too large", 9, 0xFF, 0xFF,
             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02);
  READ_FAILS(wasync_read_u64, uint64_t, "unexpected end", 3, 0xFF, 0xFF, 0xFF);
}

static void test_fixed(void) {
  WasyncReader r = reader(BYTES(0x00, 0x00, 0xC0, 0x3F, 1, 2, 3), 7);
  uint32_t f;
  CHECK(wasync_read_f32(&r, "x", &f) && f == 0x3FC00000u);
  uint64_t d;
  CHECK(!wasync_read_f64(&r, "x", &d));
  CHECK_STR(err.message, "unexpected end (reading x)");
  r = reader(BYTES(1, 2, 3, 4, 5, 6, 7, 8), 8);
  CHECK(wasync_read_f64(&r, "x", &d) && d == 0x0807060504030201ull);
  const uint8_t *p;
  r = reader(BYTES(1, 2, 3), 3);
  CHECK(wasync_read_bytes(&r, "x", 2, &p) && p[1] == 2 && r.pos == 2);
  CHECK(!wasync_read_bytes(&r, "x", 2, &p));
  uint8_t b;
  CHECK(wasync_read_u8(&r, "x", &b) && b == 3);
  CHECK(!wasync_read_u8(&r, "x", &b));
}

static void name_ok(const uint8_t *p, size_t n, int ok) {
  WasyncReader r = reader(p, n);
  const uint8_t *s;
  uint32_t len;
  bool got = wasync_read_name(&r, "x", &s, &len);
  CHECK(got == (ok != 0));
  if (!ok) CHECK_STR(err.message, "malformed UTF-8 encoding (reading x)");
}

static void test_names(void) {
  name_ok(BYTES(3, 'a', 'b', 'c'), 4, 1);
  name_ok(BYTES(0), 1, 1);
  name_ok(BYTES(2, 0xC3, 0xA9), 3, 1);             /* é */
  name_ok(BYTES(3, 0xE2, 0x82, 0xAC), 4, 1);       /* € */
  name_ok(BYTES(4, 0xF0, 0x9F, 0x98, 0x80), 5, 1); /* emoji */
  name_ok(BYTES(2, 0xC0, 0x80), 3, 0);             /* overlong NUL */
  name_ok(BYTES(3, 0xE0, 0x80, 0xAF), 4, 0);       /* overlong */
  name_ok(BYTES(3, 0xED, 0xA0, 0x80), 4, 0);       /* surrogate */
  name_ok(BYTES(4, 0xF4, 0x90, 0x80, 0x80), 5, 0); /* > U+10FFFF */
  name_ok(BYTES(2, 0xE2, 0x82), 3, 0);             /* truncated */
  name_ok(BYTES(1, 0x80), 2, 0);                   /* lone continuation */
  name_ok(BYTES(1, 0xFF), 2, 0);
  WasyncReader r = reader(BYTES(5, 'a'), 2);
  const uint8_t *s;
  uint32_t len;
  CHECK(!wasync_read_name(&r, "x", &s, &len));
  CHECK_STR(err.message, "length out of bounds (reading x)");
}

static void test_count(void) {
  WasyncReader r = reader(BYTES(2, 0, 0, 0, 0), 5);
  uint32_t n;
  CHECK(wasync_read_count(&r, "x", 2, &n) && n == 2);
  r = reader(BYTES(3, 0, 0, 0, 0), 5);
  CHECK(!wasync_read_count(&r, "function count", 2, &n));
  CHECK_EQ(err.offset, 0);
  /* the count that cannot fit names itself */
  CHECK_STR(err.message, "unexpected end (reading function count)");
  CHECK(wasync_error_is(&err, "unexpected end"));
  CHECK(!wasync_error_is(&err, "unexpected"));
  r = reader(BYTES(0xFF, 0xFF, 0xFF, 0xFF, 0x0F), 5);
  CHECK(!wasync_read_count(&r, "x", 1, &n));
}

static void test_first_error_wins(void) {
  WasyncError e = {0};
  CHECK(!wasync_fail(&e, WASYNC_ERR_MALFORMED, 5, "first %d", 1));
  CHECK(!wasync_fail(&e, WASYNC_ERR_INVALID, 9, "second"));
  CHECK_STR(e.message, "first 1");
  CHECK_EQ(e.offset, 5);
  CHECK_EQ(e.code, WASYNC_ERR_MALFORMED);
  CHECK(!wasync_fail(NULL, WASYNC_ERR_MALFORMED, 0, "no sink"));
  /* context is appended in parentheses, only to a recorded error */
  wasync_error_context(&e, "in function %u", 12u);
  CHECK_STR(e.message, "first 1 (in function 12)");
  CHECK(wasync_error_is(&e, "first 1"));
  WasyncError none = {0};
  wasync_error_context(&none, "in function %u", 1u);
  CHECK_STR(none.message, "");
  /* context that does not fit is left out whole */
  WasyncError full = {0};
  char big[300];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  wasync_fail(&full, WASYNC_ERR_MALFORMED, 0, "%s", big);
  wasync_error_context(&full, "in function %u", 1u);
  CHECK_EQ(strlen(full.message), sizeof full.message - 1);
  CHECK(strchr(full.message, '(') == NULL);
}

/* Every value written by buf reads back equal, and minimally. */
static void test_buf_roundtrip(void) {
  static const int64_t vals[] = {
      0,         1,         -1,        63,        64,          -64,
      -65,       127,       128,       8191,      -8192,       INT32_MAX,
      INT32_MIN, INT64_MAX, INT64_MIN, 1ll << 40, -(1ll << 40)};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    WasyncBuf b;
    wasync_buf_init(&b, NULL);
    wasync_buf_s64(&b, vals[i]);
    wasync_buf_u64(&b, (uint64_t)vals[i]);
    if (vals[i] >= INT32_MIN && vals[i] <= INT32_MAX)
      wasync_buf_s32(&b, (int32_t)vals[i]);
    WasyncReader r = reader(b.data, b.size);
    int64_t s;
    uint64_t u;
    CHECK(wasync_read_s64(&r, "x", &s) && s == vals[i]);
    CHECK(wasync_read_u64(&r, "x", &u) && u == (uint64_t)vals[i]);
    if (vals[i] >= INT32_MIN && vals[i] <= INT32_MAX) {
      int32_t s32;
      CHECK(wasync_read_s32(&r, "x", &s32) && s32 == vals[i]);
    }
    CHECK_EQ(r.pos, b.size);
    wasync_buf_release(&b);
  }
  WasyncBuf b;
  wasync_buf_init(&b, NULL);
  wasync_buf_u32(&b, 0);
  wasync_buf_u32(&b, 127);
  wasync_buf_u32(&b, 128);
  wasync_buf_s32(&b, -64);
  wasync_buf_s32(&b, 64);
  static const uint8_t want[] = {0x00, 0x7F, 0x80, 0x01, 0x40, 0xC0, 0x00};
  CHECK_EQ(b.size, sizeof want);
  CHECK(b.size == sizeof want && memcmp(b.data, want, sizeof want) == 0);
  size_t at = wasync_buf_reserve_u32_5(&b);
  wasync_buf_patch_u32_5(&b, at, 3);
  WasyncReader r = reader(b.data + at, 5);
  uint32_t v;
  CHECK(wasync_read_u32(&r, "x", &v) && v == 3 && r.pos == 5);
  wasync_buf_release(&b);
}

static void test_buf_oom(void) {
  TestAlloc t = {0, 1, 0, 0};
  WasyncAllocator a = TEST_ALLOCATOR(&t);
  WasyncBuf b;
  wasync_buf_init(&b, &a);
  wasync_buf_bytes(&b, "abc", 3);
  wasync_buf_u32(&b, 1000);
  CHECK(b.oom);
  CHECK_EQ(b.size, 0);
  wasync_buf_release(&b);
  CHECK_EQ(t.live, 0);
}

/* The opcode table and its reverse lookup agree on every row. */
static void test_opcodes(void) {
  for (int op = 0; op < WASYNC_OP_COUNT; op++) {
    const WasyncOpInfo *info = &wasync_op_info[op];
    WasyncOp back;
    CHECK(info->name != NULL);
    CHECK(wasync_op_lookup(info->prefix, info->code, &back) &&
          back == (WasyncOp)op);
  }
  WasyncOp o;
  CHECK(!wasync_op_lookup(0, 0xFF, &o));
  CHECK(!wasync_op_lookup(0, 0x27, &o));
  CHECK(!wasync_op_lookup(0xFC, 99, &o));
  CHECK(!wasync_op_lookup(0xFD, 0x114, &o));
  CHECK(!wasync_op_lookup(0xFD, 1000000, &o));
  CHECK(wasync_op_lookup(0xFD, 0x113, &o) &&
        o == WASYNC_OP_I32X4_RELAXED_DOT_I8X16_I7X16_ADD_S);
  CHECK(wasync_op_lookup(0, 0x1F, &o) && o == WASYNC_OP_TRY_TABLE);
}

int main(void) {
  RUN(test_u32);
  RUN(test_u32_of_u64);
  RUN(test_signed);
  RUN(test_u64);
  RUN(test_fixed);
  RUN(test_names);
  RUN(test_count);
  RUN(test_first_error_wins);
  RUN(test_buf_roundtrip);
  RUN(test_buf_oom);
  RUN(test_opcodes);
  return TEST_REPORT();
}
