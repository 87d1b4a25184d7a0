/*
 * test_fastpath.c -- the inline fast paths of the instruction decoder and
 * the re-encoder (wasync_instr_decode, wasync_instrs_reencode) agree with
 * the spec: short LEB128 immediates decode to the right values whatever
 * their spelling, minimal spellings are copied, non-minimal ones come out
 * minimal, and errors still surface.  Each case is run alone (so it ends
 * the buffer, exercising the short-tail copy) and embedded in a long run of
 * padding (the fixed-size copy).
 */
#include "instr.h"
#include "test.h"

typedef struct Case {
  const char *name;
  uint8_t in[16];
  size_t in_len;
  uint8_t out[16]; /* the minimal encoding */
  size_t out_len;
} Case;

static const Case cases[] = {
    {"nop", {0x01}, 1, {0x01}, 1},
    {"local.get 5", {0x20, 0x05}, 2, {0x20, 0x05}, 2},
    {"local.get 5 padded", {0x20, 0x85, 0x80, 0x80, 0x00}, 5, {0x20, 0x05}, 2},
    {"call 300", {0x10, 0xAC, 0x02}, 3, {0x10, 0xAC, 0x02}, 3},
    {"call 300 padded",
     {0x10, 0xAC, 0x82, 0x80, 0x00},
     5,
     {0x10, 0xAC, 0x02},
     3},
    {"call 5-byte",
     {0x10, 0x80, 0x80, 0x80, 0x80, 0x01},
     6,
     {0x10, 0x80, 0x80, 0x80, 0x80, 0x01},
     6},
    {"i32.const -1", {0x41, 0x7F}, 2, {0x41, 0x7F}, 2},
    {"i32.const -1 padded", {0x41, 0xFF, 0x7F}, 3, {0x41, 0x7F}, 2},
    {"i32.const -128", {0x41, 0x80, 0x7F}, 3, {0x41, 0x80, 0x7F}, 3},
    {"i32.const 64", {0x41, 0xC0, 0x00}, 3, {0x41, 0xC0, 0x00}, 3},
    {"i32.const 0 padded", {0x41, 0x80, 0x00}, 3, {0x41, 0x00}, 2},
    {"i64.const 2^56",
     {0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
     10,
     {0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
     10},
    {"i64.const -1 padded", {0x42, 0xFF, 0xFF, 0x7F}, 4, {0x42, 0x7F}, 2},
    {"i32.load", {0x28, 0x02, 0x00}, 3, {0x28, 0x02, 0x00}, 3},
    {"i32.load offset 128",
     {0x28, 0x02, 0x80, 0x01},
     4,
     {0x28, 0x02, 0x80, 0x01},
     4},
    {"i32.load offset 0 padded",
     {0x28, 0x02, 0x80, 0x00},
     4,
     {0x28, 0x02, 0x00},
     3},
    {"f32.const", {0x43, 1, 2, 3, 4}, 5, {0x43, 1, 2, 3, 4}, 5},
    {"f64.const",
     {0x44, 1, 2, 3, 4, 5, 6, 7, 8},
     9,
     {0x44, 1, 2, 3, 4, 5, 6, 7, 8},
     9},
    {"block", {0x02, 0x40}, 2, {0x02, 0x40}, 2},
    {"loop i32", {0x03, 0x7F}, 2, {0x03, 0x7F}, 2},
    {"br_table",
     {0x0E, 0x02, 0x00, 0x81, 0x00, 0x02},
     6,
     {0x0E, 0x02, 0x00, 0x01, 0x02},
     5},
};

static size_t reencode(const uint8_t *in, size_t n, WasyncBuf *b,
                       WasyncError *err) {
  WasyncInstrReader ir;
  wasync_instr_reader_init(&ir, NULL, in, 0, n, err);
  bool ok = wasync_instrs_reencode(&ir, b);
  wasync_instr_reader_release(&ir);
  return ok ? b->size : (size_t)-1;
}

static void test_cases_alone(void) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *c = &cases[i];
    WasyncBuf b;
    WasyncError err = {0};
    wasync_buf_init(&b, NULL);
    size_t n = reencode(c->in, c->in_len, &b, &err);
    if (!CHECK(n == c->out_len && memcmp(b.data, c->out, n) == 0))
      fprintf(stderr, "    case %s\n", c->name);
    wasync_buf_release(&b);
  }
}

/* Every case between long runs of `nop`s, all in one stream. */
static void test_cases_embedded(void) {
  uint8_t in[4096], want[4096];
  size_t ni = 0, nw = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const Case *c = &cases[i];
    for (int k = 0; k < 20; k++)
      in[ni++] = want[nw++] = 0x01;
    memcpy(in + ni, c->in, c->in_len);
    ni += c->in_len;
    memcpy(want + nw, c->out, c->out_len);
    nw += c->out_len;
  }
  for (int k = 0; k < 20; k++)
    in[ni++] = want[nw++] = 0x01;
  WasyncBuf b;
  WasyncError err = {0};
  wasync_buf_init(&b, NULL);
  size_t n = reencode(in, ni, &b, &err);
  CHECK_EQ(n, nw);
  CHECK(n == nw && memcmp(b.data, want, nw) == 0);
  wasync_buf_release(&b);
}

static void test_decoded_values(void) {
  WasyncError err = {0};
  WasyncInstrReader ir;
  WasyncInstr in;
  static const uint8_t body[] = {
      0x20, 0x85, 0x80, 0x80, 0x00, /* local.get 5 (padded) */
      0x41, 0xFF, 0x7F,             /* i32.const -1 */
      0x41, 0xC0, 0x00,             /* i32.const 64 */
      0x42, 0xFF, 0xFF, 0x7F,       /* i64.const -1 */
      0x29, 0x03, 0x80, 0x01,       /* i64.load align 3 offset 128 */
      0x04, 0x7E,                   /* if (result i64) */
      0x02, 0x40,                   /* block */
  };
  wasync_instr_reader_init(&ir, NULL, body, 0, sizeof body, &err);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_LOCAL_GET);
  CHECK_EQ(in.imm.index, 5);
  CHECK_EQ(ir.r.pos, 5);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_I32_CONST);
  CHECK_EQ(in.imm.i32, -1);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.imm.i32, 64);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_I64_CONST);
  CHECK_EQ(in.imm.i64, -1);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_I64_LOAD);
  CHECK_EQ(in.imm.memarg.align, 3);
  CHECK_EQ(in.imm.memarg.offset, 128);
  CHECK(!in.imm.memarg.has_memory);
  CHECK_EQ(in.offset, 15);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_IF);
  CHECK_EQ(in.imm.block.kind, WASYNC_BLOCK_VALUE);
  CHECK_EQ(in.imm.block.value, WASYNC_VT_I64);
  CHECK(wasync_instr_decode(&ir, &in));
  CHECK_EQ(in.op, WASYNC_OP_BLOCK);
  CHECK_EQ(in.imm.block.kind, WASYNC_BLOCK_EMPTY);
  CHECK_EQ(ir.r.pos, sizeof body);
  CHECK_EQ(err.code, WASYNC_OK);
  wasync_instr_reader_release(&ir);
}

/* Malformed immediates leave the fast paths and fail as the spec says. */
static void test_errors(void) {
  static const struct {
    uint8_t in[8];
    size_t len;
    const char *msg;
  } bad[] = {
      {{0x20}, 1, "unexpected end"},             /* no index */
      {{0x20, 0x80, 0x80}, 3, "unexpected end"}, /* cut LEB */
      {{0x41, 0x80, 0x80, 0x80, 0x80, 0x70}, 6, "integer too large"},
      {{0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00},
       7,
       "integer representation too long"},
      {{0x28, 0x80, 0x01, 0x00}, 4, "malformed memop flags"},
      {{0x02, 0x41}, 2, "malformed value type"},
      {{0x06 + 0x11}, 1, "illegal opcode 17"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    WasyncBuf b;
    WasyncError err = {0};
    wasync_buf_init(&b, NULL);
    CHECK_EQ(reencode(bad[i].in, bad[i].len, &b, &err), (size_t)-1);
    if (!CHECK(strncmp(err.message, bad[i].msg, strlen(bad[i].msg)) == 0))
      fprintf(stderr, "    case %zu: \"%s\"\n", i, err.message);
    wasync_buf_release(&b);
  }
}

int main(void) {
  RUN(test_cases_alone);
  RUN(test_cases_embedded);
  RUN(test_decoded_values);
  RUN(test_errors);
  return TEST_REPORT();
}
