/*
 * test_encode.c -- the encoder: byte-identical round trips (copying and
 * re-encoding), every opcode through encode/decode, modules changed the way
 * a pass changes them (new entities, new sections, replaced bodies), and
 * allocation failure at every step.
 */
#include "instr.h"
#include "module.h"
#include "modules.h"
#include "test.h"

#define HDR 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00

static bool roundtrip_same(const uint8_t *bytes, size_t size, bool reencode) {
  WasyncError err;
  WasyncModule *m = wasync_module_decode(bytes, size, NULL, &err);
  if (!CHECK(m != NULL)) return false;
  WasyncEncodeOptions opts = {reencode};
  uint8_t *out = NULL;
  size_t n = 0;
  bool ok = CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
  bool same = ok && n == size && memcmp(out, bytes, size) == 0;
  wasync_buffer_free(m, out);
  wasync_module_free(m);
  return same;
}

static void test_identity(void) {
  CHECK(roundtrip_same(test_rich_wasm, sizeof test_rich_wasm, false));
  CHECK(roundtrip_same(test_rich_wasm, sizeof test_rich_wasm, true));
  CHECK(roundtrip_same(test_gc_wasm, sizeof test_gc_wasm, false));
  CHECK(roundtrip_same(test_gc_wasm, sizeof test_gc_wasm, true));
  /* A 5-byte padded section size (as the reference interpreter writes) is
   * kept. */
  static const uint8_t padded[] = {HDR,  0x01, 0x84, 0x80, 0x80, 0x80,
                                   0x00, 0x01, 0x60, 0x00, 0x00};
  CHECK(roundtrip_same(padded, sizeof padded, true));
  static const uint8_t empty[] = {HDR};
  CHECK(roundtrip_same(empty, sizeof empty, true));
}

/* Non-minimal LEB128s are encoding choices too: an unchanged body or
 * section keeps the input's spelling in both modes (the re-encoding is
 * checked to decode to the same instructions); once changed, it is
 * written minimally. */
static void test_input_spelling(void) {
  /* memory with min 1 spelled in 2 bytes; body i32.const 5 in 3 bytes */
  static const uint8_t in[] = {HDR,  0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
                               0x7F, 0x03, 0x02, 0x01, 0x00, 0x05, 0x04,
                               0x01, 0x00, 0x81, 0x00, 0x0A, 0x08, 0x01,
                               0x06, 0x00, 0x41, 0x85, 0x80, 0x00, 0x0B};
  static const uint8_t want[] = {HDR,  0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
                                 0x7F, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03,
                                 0x01, 0x00, 0x01, 0x0A, 0x07, 0x01, 0x05,
                                 0x00, 0x41, 0x06, 0x1A, 0x0B};
  CHECK(roundtrip_same(in, sizeof in, true));
  CHECK(roundtrip_same(in, sizeof in, false));
  CHECK(roundtrip_same(want, sizeof want, true));
  /* an empty br_table spelled with a 2-byte default label */
  static const uint8_t brt[] = {HDR,  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7F,
                                0x03, 0x02, 0x01, 0x00, 0x0A, 0x0A, 0x01, 0x08,
                                0x00, 0x41, 0x00, 0x0E, 0x00, 0x80, 0x00, 0x0B};
  CHECK(roundtrip_same(brt, sizeof brt, true));
  /* an empty rec group (the model has no place for it) survives an
   * unchanged type section */
  static const uint8_t rec[] = {HDR,  0x01, 0x06, 0x02, 0x4E,
                                0x00, 0x60, 0x00, 0x00};
  CHECK(roundtrip_same(rec, sizeof rec, true));
  CHECK(roundtrip_same(rec, sizeof rec, false));
  WasyncError err;
  WasyncModule *m = wasync_module_decode(in, sizeof in, NULL, &err);
  CHECK(m != NULL);
  if (!m) return;
  /* change both: the memory's minimum and the body */
  m->memories[0].limits.min = 1; /* same value: section stays as it was */
  static const uint8_t body[] = {0x00, 0x41, 0x86, 0x00, 0x1A, 0x0B};
  m->funcs[0].code.body = body;
  m->funcs[0].code.size = sizeof body;
  m->funcs[0].code.replaced = true;
  WasyncEncodeOptions opts = {true};
  uint8_t *out;
  size_t n;
  CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
  /* memory section as input (unchanged), body re-encoded minimally */
  static const uint8_t code[] = {0x0A, 0x07, 0x01, 0x05, 0x00,
                                 0x41, 0x06, 0x1A, 0x0B};
  CHECK(n == 25 + sizeof code && memcmp(out, in, 25) == 0 &&
        memcmp(out + 25, code, sizeof code) == 0);
  wasync_buffer_free(m, out);
  m->memories[0].limits.min = 2; /* changed: written minimally */
  CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
  static const uint8_t mem[] = {0x05, 0x03, 0x01, 0x00, 0x02};
  CHECK(n == 19 + sizeof mem + sizeof code && memcmp(out, in, 19) == 0 &&
        memcmp(out + 19, mem, sizeof mem) == 0 &&
        memcmp(out + 24, code, sizeof code) == 0);
  wasync_buffer_free(m, out);
  wasync_module_free(m);
}

/* Fills the immediates of `op` with sample values. */
static void sample_instr(WasyncOp op, WasyncInstr *in) {
  static const uint32_t labels[] = {0, 1, 300};
  static const WasyncValType types[] = {WASYNC_VT_I64};
  static const WasyncCatch catches[] = {{WASYNC_CATCH, 1, 0},
                                        {WASYNC_CATCH_ALL_REF, 0, 2}};
  memset(in, 0, sizeof *in);
  in->op = (uint16_t)op;
  switch ((WasyncImmKind)wasync_op_info[op].imm) {
  case WASYNC_IMM_BLOCK:
    in->imm.block.kind = WASYNC_BLOCK_VALUE;
    in->imm.block.value = WASYNC_VT_F32;
    break;
  case WASYNC_IMM_BR_TABLE:
    in->imm.br_table.count = 3;
    in->imm.br_table.labels = labels;
    in->imm.br_table.default_label = 200;
    break;
  case WASYNC_IMM_MEMARG:
  case WASYNC_IMM_MEMARG_LANE:
    in->imm.memarg.align = 2;
    in->imm.memarg.offset = 1ull << 33;
    in->imm.memarg.has_memory = op % 2 == 0;
    in->imm.memarg.memory = op % 2 == 0 ? 1 : 0;
    in->imm.memarg.lane = 3;
    break;
  case WASYNC_IMM_I32: in->imm.i32 = -123456; break;
  case WASYNC_IMM_I64: in->imm.i64 = INT64_MIN + 5; break;
  case WASYNC_IMM_F32: in->imm.f32 = 0x7FC00001u; break;
  case WASYNC_IMM_F64: in->imm.f64 = 0xFFF0000000000001ull; break;
  case WASYNC_IMM_V128:
  case WASYNC_IMM_SHUFFLE:
    for (int i = 0; i < 16; i++)
      in->imm.bytes16[i] = (uint8_t)(i * 17);
    break;
  case WASYNC_IMM_LANE: in->imm.lane = 7; break;
  case WASYNC_IMM_SELECT_T:
    in->imm.select.count = 1;
    in->imm.select.types = types;
    break;
  case WASYNC_IMM_HEAPTYPE: {
    bool nullable = op == WASYNC_OP_REF_NULL || op == WASYNC_OP_REF_TEST_NULL ||
                    op == WASYNC_OP_REF_CAST_NULL;
    in->imm.ref = wasync_vt_ref_index(nullable, 130);
    break;
  }
  case WASYNC_IMM_BR_ON_CAST:
    in->imm.br_on_cast.flags = 2;
    in->imm.br_on_cast.label = 1;
    in->imm.br_on_cast.from = wasync_vt_ref_abstract(false, WASYNC_HT_ANY);
    in->imm.br_on_cast.to = wasync_vt_ref_index(true, 4);
    break;
  case WASYNC_IMM_TRY_TABLE:
    in->imm.try_table.block.kind = WASYNC_BLOCK_INDEX;
    in->imm.try_table.block.index = 9;
    in->imm.try_table.count = 2;
    in->imm.try_table.catches = catches;
    break;
  case WASYNC_IMM_FENCE:
  case WASYNC_IMM_NONE: break;
  default:
    in->imm.pair.a = 129; /* also imm.index */
    in->imm.pair.b = 5;
    break;
  }
}

static void test_every_opcode(void) {
  for (int op = 0; op < WASYNC_OP_COUNT; op++) {
    WasyncInstr in, back;
    sample_instr((WasyncOp)op, &in);
    WasyncBuf b1, b2;
    wasync_buf_init(&b1, NULL);
    wasync_buf_init(&b2, NULL);
    wasync_instr_encode(&b1, &in);
    WasyncError err = {0};
    WasyncInstrReader ir;
    wasync_instr_reader_init(&ir, NULL, b1.data, 0, b1.size, &err);
    bool ok = wasync_instr_decode(&ir, &back);
    if (!CHECK(ok && back.op == op && ir.r.pos == b1.size))
      fprintf(stderr, "    %s: %s\n", wasync_op_info[op].name, err.message);
    if (ok) {
      wasync_instr_encode(&b2, &back);
      if (!CHECK(b1.size == b2.size && memcmp(b1.data, b2.data, b1.size) == 0))
        fprintf(stderr, "    %s re-encodes differently\n",
                wasync_op_info[op].name);
    }
    /* every strict prefix of the encoding fails to decode cleanly */
    for (size_t n = 0; n < b1.size; n++) {
      WasyncError e2 = {0};
      WasyncInstrReader ir2;
      wasync_instr_reader_init(&ir2, NULL, b1.data, 0, n, &e2);
      WasyncInstr tmp;
      CHECK(!wasync_instr_decode(&ir2, &tmp) && e2.offset <= n);
      wasync_instr_reader_release(&ir2);
    }
    wasync_instr_reader_release(&ir);
    wasync_buf_release(&b1);
    wasync_buf_release(&b2);
  }
}

static bool has_section(const WasyncModule *m, uint8_t id) {
  for (uint32_t i = 0; i < m->nsections; i++)
    if (m->sections[i].id == id) return true;
  return false;
}

/* A pass adds a global and an export to a module that had no export
 * section, and replaces a function body. */
static void test_changed_module(void) {
  WasyncError err;
  WasyncModule *m =
      wasync_module_decode(test_gc_wasm, sizeof test_gc_wasm, NULL, &err);
  CHECK(m != NULL);
  if (!m) return;
  CHECK(!has_section(m, WASYNC_SEC_EXPORT));
  WasyncGlobal *globals =
      wasync_arena_array(&m->arena, m->nglobals + 1, sizeof *globals);
  memcpy(globals, m->globals, m->nglobals * sizeof *globals);
  static const uint8_t init[] = {0x41, 0x2A, 0x0B};
  globals[m->nglobals].type = WASYNC_VT_I32;
  globals[m->nglobals].mut = true;
  globals[m->nglobals].init.bytes = init;
  globals[m->nglobals].init.size = sizeof init;
  globals[m->nglobals].import = UINT32_MAX;
  m->globals = globals;
  m->nglobals++;
  WasyncExport *ex = wasync_arena_array(&m->arena, 1, sizeof *ex);
  ex->name.bytes = (const uint8_t *)"counter";
  ex->name.len = 7;
  ex->kind = WASYNC_EXTERN_GLOBAL;
  ex->index = m->nglobals - 1;
  m->exports = ex;
  m->nexports = 1;
  /* body: no locals, local.get 0, end (the function returns anyref) */
  static const uint8_t body[] = {0x00, 0x20, 0x00, 0x0B};
  WasyncCode *c = &m->funcs[m->nfunc_imports].code;
  c->body = body;
  c->size = sizeof body;
  c->replaced = true;
  for (int reencode = 0; reencode < 2; reencode++) {
    WasyncEncodeOptions opts = {reencode != 0};
    uint8_t *out;
    size_t n;
    CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
    WasyncModule *m2 = wasync_module_decode(out, n, NULL, &err);
    CHECK(m2 != NULL);
    if (m2) {
      CHECK_EQ(m2->nglobals, m->nglobals);
      CHECK_EQ(m2->nexports, 1);
      CHECK(m2->exports[0].name.len == 7 &&
            memcmp(m2->exports[0].name.bytes, "counter", 7) == 0);
      CHECK_EQ(m2->globals[m2->nglobals - 1].init.size, 3);
      CHECK_EQ(m2->funcs[m2->nfunc_imports].code.size, sizeof body);
      /* the export section went between global and code */
      int gi = -1, ei = -1, ci = -1;
      for (uint32_t i = 0; i < m2->nsections; i++) {
        if (m2->sections[i].id == WASYNC_SEC_GLOBAL) gi = (int)i;
        if (m2->sections[i].id == WASYNC_SEC_EXPORT) ei = (int)i;
        if (m2->sections[i].id == WASYNC_SEC_CODE) ci = (int)i;
      }
      CHECK(gi >= 0 && gi < ei && ei < ci);
      CHECK(wasync_module_validate(m2, &err));
      wasync_module_free(m2);
    }
    wasync_buffer_free(m, out);
  }
  wasync_module_free(m);
}

/* A changed data segment (its bytes, or its offset expression) is seen
 * and written: the data section's identity covers every segment field. */
static void test_changed_data(void) {
  static const uint8_t world[] = {'w', 'o', 'r', 'l', 'd'};
  static const uint8_t offset7[] = {0x41, 0x07, 0x0B};
  for (int change = 0; change < 2; change++) {
    WasyncError err;
    WasyncModule *m =
        wasync_module_decode(test_rich_wasm, sizeof test_rich_wasm, NULL, &err);
    CHECK(m != NULL && m->ndatas >= 1 && m->datas[0].size == 5 &&
          m->datas[0].mode == WASYNC_SEG_ACTIVE);
    if (!m || m->ndatas < 1 || m->datas[0].size != 5) {
      wasync_module_free(m);
      return;
    }
    if (change == 0) {
      m->datas[0].bytes = world;
    } else {
      m->datas[0].offset_expr.bytes = offset7;
      m->datas[0].offset_expr.size = sizeof offset7;
    }
    for (int reencode = 0; reencode < 2; reencode++) {
      WasyncEncodeOptions opts = {reencode != 0};
      uint8_t *out;
      size_t n;
      CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
      WasyncModule *m2 = wasync_module_decode(out, n, NULL, &err);
      CHECK(m2 != NULL && m2->ndatas == m->ndatas);
      if (m2 && m2->ndatas == m->ndatas) {
        const WasyncData *d = &m2->datas[0];
        if (change == 0)
          CHECK(d->size == 5 && memcmp(d->bytes, world, 5) == 0);
        else
          CHECK(d->offset_expr.size == sizeof offset7 &&
                memcmp(d->offset_expr.bytes, offset7, sizeof offset7) == 0);
      }
      wasync_module_free(m2);
      wasync_buffer_free(m, out);
    }
    wasync_module_free(m);
  }
}

/* New function and code sections go before a trailing custom section. */
static void test_new_sections_before_customs(void) {
  static const uint8_t in[] = {HDR,  0x01, 0x04, 0x01, 0x60, 0x00,
                               0x00, 0x00, 0x03, 0x01, 'x',  0x2A};
  WasyncError err;
  WasyncModule *m = wasync_module_decode(in, sizeof in, NULL, &err);
  CHECK(m != NULL);
  if (!m) return;
  static const uint8_t body[] = {0x00, 0x0B};
  m->funcs = wasync_arena_array(&m->arena, 1, sizeof *m->funcs);
  m->funcs[0].type = 0;
  m->funcs[0].import = UINT32_MAX;
  m->funcs[0].code.body = body;
  m->funcs[0].code.size = sizeof body;
  m->funcs[0].code.expr_start = 1;
  m->funcs[0].code.replaced = true;
  m->nfuncs = 1;
  static const uint8_t want[] = {HDR,  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03,
                                 0x02, 0x01, 0x00, 0x0A, 0x04, 0x01, 0x02, 0x00,
                                 0x0B, 0x00, 0x03, 0x01, 'x',  0x2A};
  for (int reencode = 0; reencode < 2; reencode++) {
    WasyncEncodeOptions opts = {reencode != 0};
    uint8_t *out;
    size_t n;
    CHECK(wasync_module_encode(m, &opts, &out, &n, &err));
    CHECK(n == sizeof want && memcmp(out, want, n) == 0);
    wasync_buffer_free(m, out);
  }
  wasync_module_free(m);
}

/* The N-th allocation during encoding fails, for every N. */
static bool encode_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  const int *reencode = ctx;
  WasyncAllocator a = TEST_ALLOCATOR(t);
  WasyncDecodeOptions dopts = {.allocator = &a};
  WasyncError err;
  WasyncModule *m =
      wasync_module_decode(test_rich_wasm, sizeof test_rich_wasm, &dopts, &err);
  if (!CHECK(m != NULL)) return true; /* stops the sweep */
  test_alloc_arm(t, n);
  WasyncEncodeOptions opts = {*reencode != 0};
  uint8_t *out = NULL;
  size_t size = 0;
  bool ok = wasync_module_encode(m, &opts, &out, &size, &err);
  if (ok) {
    CHECK(size == sizeof test_rich_wasm &&
          memcmp(out, test_rich_wasm, size) == 0);
    wasync_buffer_free(m, out);
  } else {
    CHECK(out == NULL);
    *code = err.code;
  }
  wasync_module_free(m);
  return ok;
}

static void test_encode_alloc_failures(void) {
  for (int reencode = 0; reencode < 2; reencode++)
    TEST_ALLOC_SWEEP(encode_attempt, &reencode, 10000, 1);
}

int main(void) {
  RUN(test_identity);
  RUN(test_changed_data);
  RUN(test_input_spelling);
  RUN(test_every_opcode);
  RUN(test_changed_module);
  RUN(test_new_sections_before_customs);
  RUN(test_encode_alloc_failures);
  return TEST_REPORT();
}
