/*
 * test_validate.c -- the validator: typical rules with the spec's messages,
 * type equivalence/subtyping, and the stack-inspection API passes use.
 *
 * Modules are assembled here from sections (a tiny builder), so each test
 * shows exactly the bytes it feeds in.
 */
#include "modules.h"
#include "test.h"
#include "validate.h"

/* ---- a tiny module builder ---- */

typedef struct Bytes {
  uint8_t b[4096];
  size_t n;
} Bytes;

static void put(Bytes *o, const uint8_t *p, size_t n) {
  if (o->n + n > sizeof o->b) {
    fprintf(stderr, "builder overflow\n");
    exit(2);
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void put_u32(Bytes *o, uint32_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    put(o, &byte, 1);
  } while (v);
}

static void section(Bytes *o, uint8_t id, const uint8_t *p, size_t n) {
  put(o, &id, 1);
  put_u32(o, (uint32_t)n);
  put(o, p, n);
}

static void header(Bytes *o) {
  static const uint8_t h[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  o->n = 0;
  put(o, h, sizeof h);
}

#define SEC(o, id, ...)                                                        \
  do {                                                                         \
    static const uint8_t s_[] = {__VA_ARGS__};                                 \
    section(o, id, s_, sizeof s_);                                             \
  } while (0)

/* One function of type 0 whose code entry (locals + body, without the size
 * prefix) is given. */
static void code1(Bytes *o, const uint8_t *entry, size_t n) {
  Bytes c = {.n = 0};
  put_u32(&c, 1);
  put_u32(&c, (uint32_t)n);
  put(&c, entry, n);
  section(o, 10, c.b, c.n);
}

#define CODE(o, ...)                                                           \
  do {                                                                         \
    static const uint8_t e_[] = {__VA_ARGS__};                                 \
    code1(o, e_, sizeof e_);                                                   \
  } while (0)

/* Decodes and validates; returns the error message ("" when valid). */
static WasyncError last;
static const char *run(const Bytes *o) {
  memset(&last, 0, sizeof last);
  WasyncModule *m = wasync_module_decode(o->b, o->n, NULL, &last);
  if (!m) return last.message[0] ? last.message : "decode failed";
  bool ok = wasync_module_validate(m, &last);
  wasync_module_free(m);
  return ok ? "" : last.message;
}

static bool starts(const char *s, const char *prefix) {
  if (strncmp(s, prefix, strlen(prefix)) != 0) {
    fprintf(stderr, "  got \"%s\", want \"%s\"\n", s, prefix);
    return false;
  }
  return true;
}

/* type 0 = [] -> [i32] */
#define TYPE_V_I 1, 0x60, 0, 1, 0x7F
/* type 0 = [] -> [] */
#define TYPE_V_V 1, 0x60, 0, 0

/* ---- rules and messages ---- */

static void code2(Bytes *o, const uint8_t *e1, size_t n1, const uint8_t *e2,
                  size_t n2);

/* opcodes.def's ALIGN and LANES columns, which the validator reads. */
static void test_opcode_columns(void) {
  for (uint32_t op = 0; op < WASYNC_OP_COUNT; op++) {
    const WasyncOpInfo *o = &wasync_op_info[op];
    bool memarg =
        o->imm == WASYNC_IMM_MEMARG || o->imm == WASYNC_IMM_MEMARG_LANE;
    bool lane = o->imm == WASYNC_IMM_LANE || o->imm == WASYNC_IMM_MEMARG_LANE;
    if (!CHECK(memarg ? o->align <= 4 : o->align == 0) ||
        !CHECK(lane ? o->lanes == 2 || o->lanes == 4 || o->lanes == 8 ||
                          o->lanes == 16
                    : o->lanes == 0))
      fprintf(stderr, "    %s: align %u lanes %u\n", o->name, o->align,
              o->lanes);
    /* a lane load/store's lanes are as wide as its natural alignment */
    if (o->imm == WASYNC_IMM_MEMARG_LANE) CHECK(o->lanes << o->align == 16);
  }
  CHECK(wasync_op_info[WASYNC_OP_I32_LOAD].align == 2);
  CHECK(wasync_op_info[WASYNC_OP_V128_LOAD].align == 4);
  CHECK(wasync_op_info[WASYNC_OP_I64_ATOMIC_RMW32_CMPXCHG_U].align == 2);
  CHECK(wasync_op_info[WASYNC_OP_I64_ATOMIC_RMW8_ADD_U].align == 0);
  CHECK(wasync_op_info[WASYNC_OP_I8X16_EXTRACT_LANE_S].lanes == 16);
  CHECK(wasync_op_info[WASYNC_OP_F64X2_REPLACE_LANE].lanes == 2);
}

/* Validator errors: the spec's words, the types, the function. */
static void test_error_context(void) {
  Bytes o;
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 2, 0, 0);
  /* function 1: f64.const 1 i32.eqz */
  code2(&o, (const uint8_t[]){0, 0x41, 0, 0x0B}, 4,
        (const uint8_t[]){0, 0x44, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x45, 0x0B},
        12);
  CHECK_STR(run(&o), "type mismatch: expected i32, got f64 (in function 1)");
  CHECK(last.code == WASYNC_ERR_INVALID);
  CHECK(last.offset < o.n && o.b[last.offset] == 0x45);

  /* an empty stack */
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x45, 0x0B); /* i32.eqz */
  CHECK_STR(run(&o),
            "type mismatch: expected i32, got nothing (in function 0)");

  /* a reference type, and a value left over at the end */
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0xD0, 0x70, 0x0B); /* ref.null func */
  CHECK_STR(run(&o),
            "type mismatch: expected i32, got (ref null func) (in function 0)");
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x41, 1, 0x41, 2, 0x0B);
  CHECK(starts(run(&o), "type mismatch: values left on the stack"));
  CHECK(strstr(last.message, "(in function 0)") != NULL);

  /* other messages get the function too */
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 1, 1, 0x7F, 0x20, 3, 0x0B);
  CHECK_STR(run(&o), "unknown local 3 (in function 0)");

  /* constant expressions name their global or segment */
  header(&o);
  SEC(&o, 6, 2, 0x7F, 0, 0x41, 1, 0x0B, 0x7F, 0, 0x42, 1, 0x0B);
  CHECK_STR(run(&o), "type mismatch: expected i32, got i64 (in global 1)");
  header(&o);
  SEC(&o, 5, 1, 0, 1);                    /* memory 0: 1 page */
  SEC(&o, 11, 1, 0, 0x42, 0, 0x0B, 1, 7); /* data at i64.const 0 */
  CHECK_STR(run(&o),
            "type mismatch: expected i32, got i64 (in data segment 0)");
}

static void test_simple(void) {
  Bytes o;
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x41, 1, 0x0B); /* i32.const 1 end */
  CHECK(starts(run(&o), ""));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x41, 1, 0x42, 2, 0x6A,
       0x0B); /* i32.const 1 i64.const 2 i32.add */
  CHECK(starts(run(&o), "type mismatch"));
  /* the offset is the i32.add's: header 8, type 7, func 4, code 3+1+... */
  CHECK(last.code == WASYNC_ERR_INVALID);
  CHECK(last.offset < o.n && o.b[last.offset] == 0x6A);

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x0B); /* missing result */
  CHECK(starts(run(&o), "type mismatch"));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 1, 1, 0x7F, 0x20, 3, 0x0B); /* one local, local.get 3 */
  CHECK(starts(run(&o), "unknown local 3"));

  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x0C, 5, 0x0B); /* br 5 */
  CHECK(starts(run(&o), "unknown label"));

  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x10, 7, 0x0B); /* call 7 */
  CHECK(starts(run(&o), "unknown function 7"));
}

static void test_unreachable(void) {
  Bytes o;
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x00, 0x6A, 0x0B); /* unreachable i32.add: polymorphic */
  CHECK(starts(run(&o), ""));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x00, 0x42, 0, 0x6A, 0x0B); /* unreachable i64.const i32.add */
  CHECK(starts(run(&o), "type mismatch"));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  /* block (result i32) unreachable end: fine; then extra i32 -> mismatch */
  CODE(&o, 0, 0x02, 0x7F, 0x00, 0x0B, 0x41, 0, 0x0B);
  CHECK(starts(run(&o), "type mismatch"));

  /* select on references needs a type annotation */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0xD0, 0x70, 0xD0, 0x70, 0x41, 0, 0x1B, 0x1A, 0x0B);
  CHECK(starts(run(&o), "type mismatch"));
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0xD0, 0x70, 0xD0, 0x70, 0x41, 0, 0x1C, 1, 0x70, 0x1A, 0x0B);
  CHECK(starts(run(&o), ""));

  /* bottom through ref.as_non_null stays bottom (as in V8) ... */
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x00, 0xD4, 0x45, 0x0B); /* unreachable ref.as_non_null eqz */
  CHECK(starts(run(&o), ""));
  /* ... but any.convert_extern makes a reference of it */
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x00, 0xFB, 0x1A, 0x45, 0x0B);
  CHECK(starts(run(&o), "type mismatch"));
}

static void test_memory_rules(void) {
  Bytes o;
  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  SEC(&o, 5, 1, 0, 1);
  CODE(&o, 0, 0x41, 0, 0x28, 3, 0, 0x0B); /* i32.load align=8 */
  CHECK(starts(run(&o), "alignment must not be larger than natural"));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0x41, 0, 0x28, 2, 0, 0x0B); /* no memory */
  CHECK(starts(run(&o), "unknown memory 0"));

  header(&o);
  SEC(&o, 5, 1, 0, 0x81, 0x80, 4); /* 65537 pages */
  CHECK(starts(run(&o), "memory size must be at most 65536 pages (4GiB)"));

  header(&o);
  SEC(&o, 5, 1, 1, 2, 1); /* min 2 > max 1 */
  CHECK(starts(run(&o), "size minimum must not be greater than maximum"));

  header(&o);
  SEC(&o, 5, 1, 2, 1); /* shared without maximum */
  CHECK(starts(run(&o), "shared memory must have maximum"));

  /* two memories: allowed (multi-memory, as in Chromium) */
  header(&o);
  SEC(&o, 5, 2, 0, 1, 0, 1);
  CHECK(starts(run(&o), ""));
}

static void test_module_rules(void) {
  Bytes o;
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 7, 2, 1, 'a', 0, 0, 1, 'a', 0, 0);
  CODE(&o, 0, 0x0B);
  CHECK(starts(run(&o), "duplicate export name"));

  header(&o);
  SEC(&o, 1, TYPE_V_I);
  SEC(&o, 3, 1, 0);
  SEC(&o, 8, 0);
  CODE(&o, 0, 0x41, 0, 0x0B);
  CHECK(starts(run(&o), "start function"));

  /* global initialised by a non-constant instruction */
  header(&o);
  SEC(&o, 6, 1, 0x7F, 0, 0x41, 1, 0x41, 1, 0x6D, 0x0B); /* i32.div_s */
  CHECK(starts(run(&o), "constant expression required"));
  /* extended constants are fine */
  header(&o);
  SEC(&o, 6, 1, 0x7F, 0, 0x41, 1, 0x41, 1, 0x6A, 0x0B);
  CHECK(starts(run(&o), ""));
  /* global.get of a mutable global is not constant */
  header(&o);
  SEC(&o, 6, 2, 0x7F, 1, 0x41, 1, 0x0B, 0x7F, 0, 0x23, 0, 0x0B);
  CHECK(starts(run(&o), "constant expression required"));
  /* wrong type */
  header(&o);
  SEC(&o, 6, 1, 0x7E, 0, 0x41, 1, 0x0B);
  CHECK(starts(run(&o), "type mismatch"));

  /* global.set of an immutable global */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 6, 1, 0x7F, 0, 0x41, 1, 0x0B);
  CODE(&o, 0, 0x41, 0, 0x24, 0, 0x0B);
  CHECK(starts(run(&o), "immutable global"));

  /* ref.func of a function never declared outside bodies */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  CODE(&o, 0, 0xD2, 0, 0x1A, 0x0B);
  CHECK(starts(run(&o), "undeclared function reference"));
  /* ... declared by an export */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 7, 1, 1, 'f', 0, 0);
  CODE(&o, 0, 0xD2, 0, 0x1A, 0x0B);
  CHECK(starts(run(&o), ""));
}

static void test_locals_init(void) {
  Bytes o;
  /* (local (ref func)) local.get 0 -> uninitialized */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 7, 1, 1, 'f', 0, 0);
  CODE(&o, 1, 1, 0x64, 0x70, 0x20, 0, 0x1A, 0x0B);
  CHECK(starts(run(&o), "uninitialized local 0"));
  /* set first, then get: fine */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 7, 1, 1, 'f', 0, 0);
  CODE(&o, 1, 1, 0x64, 0x70, 0xD2, 0, 0x21, 0, 0x20, 0, 0x1A, 0x0B);
  CHECK(starts(run(&o), ""));
  /* set inside a block: forgotten at the block's end */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 1, 0);
  SEC(&o, 7, 1, 1, 'f', 0, 0);
  CODE(&o, 1, 1, 0x64, 0x70, 0x02, 0x40, 0xD2, 0, 0x21, 0, 0x0B, 0x20, 0, 0x1A,
       0x0B);
  CHECK(starts(run(&o), "uninitialized local 0"));
}

/* ---- types ---- */

static void test_types(void) {
  Bytes o;
  /* types: 0 = (struct (field i32)), 1 = same (equivalent), 2 = (struct
   * (field i64)), 3 = sub 0 (struct i32 i64), 4 = func */
  header(&o);
  SEC(&o, 1, 5, 0x50, 0, 0x5F, 1, 0x7F, 0,   /* 0: sub (struct i32) */
      0x50, 0, 0x5F, 1, 0x7F, 0,             /* 1: same */
      0x5F, 1, 0x7E, 0,                      /* 2: struct i64 (final) */
      0x50, 1, 0, 0x5F, 2, 0x7F, 0, 0x7E, 0, /* 3: sub 0 */
      0x60, 0, 0);
  memset(&last, 0, sizeof last);
  WasyncModule *m = wasync_module_decode(o.b, o.n, NULL, &last);
  CHECK(m != NULL);
  if (!m) return;
  CHECK(wasync_module_validate(m, &last));
  CHECK(wasync_type_equiv(m, 0, 1));
  CHECK(!wasync_type_equiv(m, 0, 2));
  CHECK(!wasync_type_equiv(m, 0, 3));
  WasyncValType r0 = wasync_vt_ref_index(false, 0);
  WasyncValType r1n = wasync_vt_ref_index(true, 1);
  WasyncValType r3 = wasync_vt_ref_index(false, 3);
  WasyncValType r2 = wasync_vt_ref_index(false, 2);
  CHECK(wasync_valtype_sub(m, r3, r0));
  CHECK(wasync_valtype_sub(m, r3, r1n)); /* via equivalence of 0 and 1 */
  CHECK(!wasync_valtype_sub(m, r0, r3));
  CHECK(!wasync_valtype_sub(m, r1n, r0)); /* nullable is not <= non-null */
  CHECK(!wasync_valtype_sub(m, r2, r0));
  CHECK(wasync_valtype_sub(m, r0, wasync_vt_ref_abstract(true, WASYNC_HT_EQ)));
  CHECK(wasync_valtype_sub(m, r0,
                           wasync_vt_ref_abstract(false, WASYNC_HT_STRUCT)));
  CHECK(!wasync_valtype_sub(m, r0,
                            wasync_vt_ref_abstract(true, WASYNC_HT_ARRAY)));
  CHECK(
      wasync_valtype_sub(m, wasync_vt_ref_abstract(false, WASYNC_HT_NONE), r0));
  CHECK(wasync_valtype_sub(m, wasync_vt_ref_index(false, 4),
                           wasync_vt_ref_abstract(true, WASYNC_HT_FUNC)));
  CHECK(!wasync_valtype_sub(m, wasync_vt_ref_index(false, 4),
                            wasync_vt_ref_abstract(true, WASYNC_HT_ANY)));
  CHECK(wasync_valtype_sub(m, wasync_vt_ref_abstract(true, WASYNC_HT_NOEXTERN),
                           wasync_vt_ref_abstract(true, WASYNC_HT_EXTERN)));
  CHECK(!wasync_valtype_sub(m, WASYNC_VT_I32, WASYNC_VT_I64));
  CHECK_EQ(wasync_heap_bottom(m, r0), WASYNC_HT_NONE);
  CHECK_EQ(wasync_heap_top(m, r0), WASYNC_HT_ANY);
  CHECK_EQ(wasync_heap_top(m, wasync_vt_ref_index(true, 4)), WASYNC_HT_FUNC);
  CHECK_EQ(wasync_heap_bottom(m, wasync_vt_ref_abstract(true, WASYNC_HT_EXN)),
           WASYNC_HT_NOEXN);
  wasync_module_free(m);

  /* recursive groups: two identical self-referencing groups are equal */
  header(&o);
  SEC(&o, 1, 3, 0x4E, 1, 0x5F, 1, 0x63, 0, 0, /* rec (struct (ref null 0)) */
      0x4E, 1, 0x5F, 1, 0x63, 1, 0,           /* rec (struct (ref null 1)) */
      0x4E, 1, 0x5F, 1, 0x63, 0, 0);          /* rec (struct (ref null 0)) */
  memset(&last, 0, sizeof last);
  m = wasync_module_decode(o.b, o.n, NULL, &last);
  CHECK(m != NULL);
  if (!m) return;
  CHECK(wasync_module_validate(m, &last));
  CHECK(wasync_type_equiv(m, 0, 1));
  CHECK(!wasync_type_equiv(m, 0, 2)); /* 2 points at group 0, not itself */
  wasync_module_free(m);

  /* subtype of a final type */
  header(&o);
  SEC(&o, 1, 2, 0x5F, 0, 0x50, 1, 0, 0x5F, 0);
  CHECK(starts(run(&o), "sub type"));
  /* field variance: immutable covariant ok, mutable must be invariant */
  header(&o);
  SEC(&o, 1, 2, 0x50, 0, 0x5F, 1, 0x63, 0x6E, 0, 0x50, 1, 0, 0x5F, 1, 0x63,
      0x6D, 0);
  CHECK(starts(run(&o), ""));
  header(&o);
  SEC(&o, 1, 2, 0x50, 0, 0x5F, 1, 0x63, 0x6E, 1, 0x50, 1, 0, 0x5F, 1, 0x63,
      0x6D, 1);
  CHECK(starts(run(&o), "sub type"));
}

/* ---- the stack-inspection API ---- */

static WasyncInstr ins(uint16_t op) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  return in;
}

static void test_stack_api(void) {
  Bytes o;
  /* type 0 = [i32 i64] -> [f64]; type 1 = [] -> [f64]
   * func 0 (type 1) imported, func 1 (type 0) defined */
  header(&o);
  SEC(&o, 1, 2, 0x60, 2, 0x7F, 0x7E, 1, 0x7C, 0x60, 0, 1, 0x7C);
  SEC(&o, 2, 1, 1, 'm', 1, 'f', 0, 1);
  SEC(&o, 3, 1, 0);
  CODE(&o, 1, 1, 0x7D, 0x10, 0, 0x0B);
  memset(&last, 0, sizeof last);
  WasyncModule *m = wasync_module_decode(o.b, o.n, NULL, &last);
  CHECK(m != NULL);
  if (!m) return;
  CHECK(wasync_module_validate(m, &last));
  WasyncFuncValidator *v = wasync_funcv_new(m, &last);
  CHECK(v != NULL);
  CHECK(wasync_funcv_begin(v, 1));
  CHECK(wasync_funcv_local_count(v) == 3);
  CHECK(wasync_funcv_local_type(v, 1) == WASYNC_VT_I64);
  CHECK(wasync_funcv_local_type(v, 2) == WASYNC_VT_F32);
  CHECK(wasync_funcv_stack_height(v) == 0);
  CHECK(wasync_funcv_ctrl_height(v) == 1);

  WasyncInstr in = ins(WASYNC_OP_I32_CONST);
  CHECK(wasync_funcv_step(v, &in));
  in = ins(WASYNC_OP_LOCAL_GET);
  in.imm.index = 1;
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_stack_height(v) == 2);
  CHECK(wasync_funcv_stack_type(v, 0) == WASYNC_VT_I64);
  CHECK(wasync_funcv_stack_type(v, 1) == WASYNC_VT_I32);

  /* block (result f64): a new frame; the outer values stay below it */
  in = ins(WASYNC_OP_BLOCK);
  in.imm.block.kind = WASYNC_BLOCK_VALUE;
  in.imm.block.value = WASYNC_VT_F64;
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_ctrl_height(v) == 2);
  const WasyncCtrlFrame *f = wasync_funcv_ctrl(v, 0);
  CHECK(f && f->op == WASYNC_OP_BLOCK && f->height == 2 && f->nresults == 1 &&
        f->results[0] == WASYNC_VT_F64);
  /* a call leaves its result */
  in = ins(WASYNC_OP_CALL);
  in.imm.index = 0;
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_stack_height(v) == 3);
  CHECK(wasync_funcv_stack_type(v, 0) == WASYNC_VT_F64);
  /* unreachable code: the frame's values are gone, reads give bottom */
  in = ins(WASYNC_OP_UNREACHABLE);
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_stack_height(v) == 2);
  CHECK(wasync_funcv_ctrl(v, 0)->unreachable);
  in = ins(WASYNC_OP_I32_ADD); /* pops two bottoms, pushes i32 */
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_stack_type(v, 0) == WASYNC_VT_I32);
  in = ins(WASYNC_OP_DROP);
  CHECK(wasync_funcv_step(v, &in));
  in = ins(WASYNC_OP_END); /* block end pushes f64 */
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_stack_height(v) == 3);
  CHECK(wasync_funcv_stack_type(v, 0) == WASYNC_VT_F64);
  in = ins(WASYNC_OP_RETURN);
  CHECK(wasync_funcv_step(v, &in));
  in = ins(WASYNC_OP_END);
  CHECK(wasync_funcv_step(v, &in));
  CHECK(wasync_funcv_done(v));
  /* stepping after the end is an error */
  in = ins(WASYNC_OP_NOP);
  CHECK(!wasync_funcv_step(v, &in));

  /* a mismatch is reported at the instruction's offset */
  memset(&last, 0, sizeof last);
  CHECK(wasync_funcv_begin(v, 1));
  in = ins(WASYNC_OP_I64_CONST);
  CHECK(wasync_funcv_step(v, &in));
  in = ins(WASYNC_OP_I32_EQZ);
  in.offset = 1234;
  CHECK(!wasync_funcv_step(v, &in));
  CHECK(last.offset == 1234);
  CHECK_STR(last.message,
            "type mismatch: expected i32, got i64 (in function 1)");

  /* reuse after an error: the whole body validates */
  memset(&last, 0, sizeof last);
  CHECK(wasync_func_validate(v, 1));
  wasync_funcv_free(v);
  wasync_module_free(m);
}

/* ---- real modules, and allocation failures ---- */

static void test_sample_modules(void) {
  WasyncError err;
  const uint8_t *mods[] = {test_rich_wasm, test_gc_wasm};
  size_t sizes[] = {sizeof test_rich_wasm, sizeof test_gc_wasm};
  for (int i = 0; i < 2; i++) {
    memset(&err, 0, sizeof err);
    WasyncModule *m = wasync_module_decode(mods[i], sizes[i], NULL, &err);
    CHECK(m != NULL);
    if (!m) continue;
    CHECK(wasync_module_validate(m, &err));
    if (err.message[0]) fprintf(stderr, "    %s\n", err.message);
    CHECK(m->validated);
    wasync_module_free(m);
  }
}

/* The N-th allocation during validation fails, for every N until it
 * succeeds: a NOMEM error each time, nothing leaked. */
typedef struct Input {
  const uint8_t *bytes;
  size_t size;
} Input;

static bool validate_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  const Input *in = ctx;
  WasyncAllocator a = TEST_ALLOCATOR(t);
  WasyncDecodeOptions opts = {.allocator = &a, .defer_body_checks = n % 2};
  WasyncError err;
  memset(&err, 0, sizeof err);
  WasyncModule *m = wasync_module_decode(in->bytes, in->size, &opts, &err);
  if (!CHECK(m != NULL)) return true; /* stops the sweep */
  test_alloc_arm(t, n);
  bool ok = wasync_module_validate(m, &err);
  if (!ok) *code = err.code;
  wasync_module_free(m);
  return ok;
}

static void alloc_failures(const uint8_t *bytes, size_t size) {
  Input in = {bytes, size};
  TEST_ALLOC_SWEEP(validate_attempt, &in, 10000, 1);
}

/* ---- defer_body_checks: the same verdict as a full decode ---- */

/* Two functions of type 0 with the given code entries. */
static void code2(Bytes *o, const uint8_t *e1, size_t n1, const uint8_t *e2,
                  size_t n2) {
  Bytes c = {.n = 0};
  put_u32(&c, 2);
  put_u32(&c, (uint32_t)n1);
  put(&c, e1, n1);
  put_u32(&c, (uint32_t)n2);
  put(&c, e2, n2);
  section(o, 10, c.b, c.n);
}

/* Decodes + validates both ways; checks that code, offset and message
 * agree and returns the message ("" when valid). */
static const char *run_deferred(const Bytes *o) {
  const char *full = run(o);
  WasyncError want = last, got;
  memset(&got, 0, sizeof got);
  WasyncDecodeOptions opt = {.defer_body_checks = true};
  WasyncModule *m = wasync_module_decode(o->b, o->n, &opt, &got);
  bool ok = m && wasync_module_validate(m, &got);
  wasync_module_free(m);
  CHECK_EQ(ok, full[0] == 0);
  CHECK_EQ(got.code, want.code);
  CHECK_EQ_U64(got.offset, want.offset);
  CHECK_STR(got.message, want.message);
  return full;
}

static void test_deferred_bodies(void) {
  static const uint8_t ok1[] = {0, 0x0B};
  static const uint8_t bad_type[] = {0, 0x41, 1, 0x0B};  /* i32.const 1 */
  static const uint8_t bad_op[] = {0, 0x01, 0xFF, 0x0B}; /* illegal opcode */
  static const uint8_t trailing[] = {0, 0x0B, 0x01};     /* after the end */
  static const uint8_t cut[] = {0, 0x01, 0x01};          /* no end */
  static const uint8_t data_drop[] = {0, 0xFC, 0x09, 0, 0x0B};
  Bytes o;

  header(&o); /* valid */
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, ok1, sizeof ok1, ok1, sizeof ok1);
  CHECK(starts(run_deferred(&o), ""));

  /* an invalid body before a malformed one: the malformed one wins */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, bad_type, sizeof bad_type, bad_op, sizeof bad_op);
  CHECK(starts(run_deferred(&o), "illegal opcode"));

  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, bad_type, sizeof bad_type, ok1, sizeof ok1);
  CHECK(starts(run_deferred(&o), "type mismatch"));

  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, ok1, sizeof ok1, trailing, sizeof trailing);
  CHECK(starts(run_deferred(&o), "section size mismatch"));

  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, bad_type, sizeof bad_type, cut, sizeof cut);
  CHECK(run_deferred(&o)[0] != 0);

  /* a malformed body before a malformed data section: the body's error */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  SEC(&o, 5, 1, 0, 1);
  code2(&o, ok1, sizeof ok1, bad_op, sizeof bad_op);
  SEC(&o, 11, 1, 7);
  CHECK(starts(run_deferred(&o), "illegal opcode"));

  /* data.drop without a data count section, data index out of range */
  header(&o);
  SEC(&o, 1, TYPE_V_V);
  SEC(&o, 3, 2, 0, 0);
  code2(&o, ok1, sizeof ok1, data_drop, sizeof data_drop);
  CHECK(starts(run_deferred(&o), "data count section required"));
}

/* Constant expressions: the one-instruction fast path and its fallback. */
static void test_const_exprs(void) {
  static const uint8_t ok1[] = {0, 0x0B};
  Bytes o;
#define GLOBAL_MODULE(...)                                                     \
  do {                                                                         \
    header(&o);                                                                \
    SEC(&o, 1, TYPE_V_V);                                                      \
    SEC(&o, 3, 2, 0, 0);                                                       \
    SEC(&o, 6, 1, __VA_ARGS__);                                                \
    code2(&o, ok1, sizeof ok1, ok1, sizeof ok1);                               \
  } while (0)
  GLOBAL_MODULE(0x7F, 0, 0x41, 0x81, 0x00, 0x0B); /* i32 = i32.const 1 */
  CHECK(starts(run_deferred(&o), ""));
  GLOBAL_MODULE(0x7E, 0, 0x41, 1, 0x0B); /* i64 = i32.const 1 */
  CHECK(starts(run_deferred(&o), "type mismatch"));
  GLOBAL_MODULE(0x7E, 0, 0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                0x00, 0x0B); /* i64 = i64.const 0, 9 bytes */
  CHECK(starts(run_deferred(&o), ""));
  GLOBAL_MODULE(0x7F, 0, 0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
                0x0B); /* 6 bytes: too long */
  CHECK(run_deferred(&o)[0] != 0);
  GLOBAL_MODULE(0x70, 0, 0xD2, 0x81, 0x00, 0x0B); /* funcref = ref.func 1 */
  CHECK(starts(run_deferred(&o), ""));
  GLOBAL_MODULE(0x70, 0, 0xD2, 0x82, 0x00, 0x0B); /* ref.func 2 */
  CHECK(starts(run_deferred(&o), "unknown function 2"));
  GLOBAL_MODULE(0x7F, 0, 0xD2, 0x00, 0x0B); /* i32 = ref.func 0 */
  CHECK(starts(run_deferred(&o), "type mismatch"));
  GLOBAL_MODULE(0x7F, 0, 0x41, 0x00, 0x0B, 0x0B); /* trailing end */
  CHECK(run_deferred(&o)[0] != 0);
#undef GLOBAL_MODULE
}

static void test_alloc_failures(void) {
  alloc_failures(test_rich_wasm, sizeof test_rich_wasm);
  alloc_failures(test_gc_wasm, sizeof test_gc_wasm);
}

int main(void) {
  RUN(test_simple);
  RUN(test_error_context);
  RUN(test_opcode_columns);
  RUN(test_unreachable);
  RUN(test_memory_rules);
  RUN(test_module_rules);
  RUN(test_locals_init);
  RUN(test_types);
  RUN(test_stack_api);
  RUN(test_sample_modules);
  RUN(test_deferred_bodies);
  RUN(test_const_exprs);
  RUN(test_alloc_failures);
  return TEST_REPORT();
}
