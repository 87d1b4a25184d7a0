/*
 * test_module_edit.c -- unit tests of src/module_edit.c: adding types,
 * removing function imports (references redirected, later functions moved
 * down) and turning defined globals into imports, each checked on the
 * indices named in bodies, element segments, exports and constant
 * expressions, and by validating the re-encoded module.
 */
#include "../../src/instr.h"
#include "../../src/module_edit.h"
#include "../../src/validate.h"
#include "test.h"

/* wat2wasm --enable-all of:
 *   (module
 *     (import "env" "a" (func $a (param i32)))        ;; function 0
 *     (import "env" "b" (func $b (param i32)))        ;; function 1
 *     (import "env" "g" (global $g i32))               ;; global 0
 *     (global $g1 (mut i32) (i32.const 1))             ;; global 1
 *     (global $g2 (mut i32) (i32.const 2))             ;; global 2
 *     (global $g3 i32 (global.get $g))                 ;; global 3
 *     (memory 1)
 *     (table 2 funcref)
 *     (elem (i32.const 0) func $f $h)
 *     (data (global.get $g) "x")
 *     (func $f (export "f")                            ;; function 2
 *       (call $a (global.get $g3))
 *       (call $b (global.get $g1))
 *       (global.set $g2 (i32.const 5)))
 *     (func $h (export "h") (drop (ref.func $f)))      ;; function 3
 *     (func $c (param i32))                            ;; function 4
 *     (export "g3" (global $g3))) */
static const unsigned char me_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
    0x01, 0x7f, 0x00, 0x60, 0x00, 0x00, 0x02, 0x1a, 0x03, 0x03, 0x65, 0x6e,
    0x76, 0x01, 0x61, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x62, 0x00,
    0x00, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x67, 0x03, 0x7f, 0x00, 0x03, 0x04,
    0x03, 0x01, 0x01, 0x00, 0x04, 0x04, 0x01, 0x70, 0x00, 0x02, 0x05, 0x03,
    0x01, 0x00, 0x01, 0x06, 0x10, 0x03, 0x7f, 0x01, 0x41, 0x01, 0x0b, 0x7f,
    0x01, 0x41, 0x02, 0x0b, 0x7f, 0x00, 0x23, 0x00, 0x0b, 0x07, 0x0e, 0x03,
    0x01, 0x66, 0x00, 0x02, 0x01, 0x68, 0x00, 0x03, 0x02, 0x67, 0x33, 0x03,
    0x03, 0x09, 0x08, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x02, 0x02, 0x03, 0x0a,
    0x19, 0x03, 0x0e, 0x00, 0x23, 0x03, 0x10, 0x00, 0x23, 0x01, 0x10, 0x01,
    0x41, 0x05, 0x24, 0x02, 0x0b, 0x05, 0x00, 0xd2, 0x02, 0x1a, 0x0b, 0x02,
    0x00, 0x0b, 0x0b, 0x07, 0x01, 0x00, 0x23, 0x00, 0x0b, 0x01, 0x78};

static WasyncModule *load(void) {
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(me_wasm, sizeof me_wasm, NULL, &err);
  CHECK(m != NULL);
  if (m) CHECK(wasync_module_validate(m, &err));
  return m;
}

/* The immediates of the instructions with opcode `op` in function f's body,
 * in order; returns how many (at most cap). */
static uint32_t immediates(WasyncModule *m, uint32_t f, uint16_t op,
                           uint32_t *out, uint32_t cap) {
  const WasyncCode *c = &m->funcs[f].code;
  WasyncError err = {0};
  WasyncInstrReader ir;
  wasync_instr_reader_init(&ir, m, m->bytes, 0, 0, &err);
  ir.r.base = c->body + c->expr_start;
  ir.r.pos = 0;
  ir.r.end = c->size - c->expr_start;
  uint32_t n = 0;
  WasyncInstr in;
  while (ir.r.pos < ir.r.end && wasync_instr_decode(&ir, &in))
    if (in.op == op && n < cap) out[n++] = in.imm.index;
  wasync_instr_reader_release(&ir);
  return n;
}

static uint32_t export_index(const WasyncModule *m, const char *name) {
  for (uint32_t i = 0; i < m->nexports; i++)
    if (m->exports[i].name.len == strlen(name) &&
        memcmp(m->exports[i].name.bytes, name, strlen(name)) == 0)
      return m->exports[i].index;
  return UINT32_MAX;
}

/* Encodes m, decodes and validates the result. */
static bool revalidates(WasyncModule *m) {
  WasyncError err = {0};
  uint8_t *out = NULL;
  size_t size = 0;
  if (!wasync_module_encode(m, NULL, &out, &size, &err)) return false;
  WasyncModule *m2 = wasync_module_decode(out, size, NULL, &err);
  bool ok = m2 && wasync_module_validate(m2, &err);
  if (!ok) fprintf(stderr, "    %s\n", err.message);
  if (m2) wasync_module_free(m2);
  wasync_buffer_free(m, out);
  return ok;
}

static void test_add_type(void) {
  WasyncModule *m = load();
  if (!m) return;
  WasyncValType i32 = WASYNC_VT_I32;
  uint32_t t1 = 0, t2 = 0, t3 = 0, n = m->ntypes;
  CHECK(wasync_module_add_type(m, &i32, 1, NULL, 0, &t1)); /* exists */
  CHECK_EQ(m->ntypes, n);
  CHECK_EQ(m->types[t1].nparams, 1);
  CHECK(wasync_module_add_type(m, &i32, 1, &i32, 1, &t2)); /* new */
  CHECK_EQ(t2, n);
  CHECK_EQ(m->ntypes, n + 1);
  CHECK(wasync_module_add_type(m, &i32, 1, &i32, 1, &t3)); /* now exists */
  CHECK_EQ(t3, t2);
  CHECK(revalidates(m));
  wasync_module_free(m);
}

static void test_remove_func_imports(void) {
  WasyncModule *m = load();
  if (!m) return;
  WasyncError err = {0};
  uint32_t redirect[2] = {4, UINT32_MAX}; /* $a -> $c; $b stays */
  CHECK(wasync_module_remove_func_imports(m, redirect, &err));
  /* b 0, f 1, h 2, c 3 */
  CHECK_EQ(m->nfuncs, 4);
  CHECK_EQ(m->nfunc_imports, 1);
  CHECK_EQ(m->nimports, 2); /* env.b and env.g */
  CHECK_EQ(m->funcs[0].import, 0);
  CHECK_EQ(m->globals[0].import, 1);
  uint32_t calls[4];
  CHECK_EQ(immediates(m, 1, WASYNC_OP_CALL, calls, 4), 2);
  CHECK_EQ(calls[0], 3);
  CHECK_EQ(calls[1], 0);
  CHECK_EQ(immediates(m, 2, WASYNC_OP_REF_FUNC, calls, 4), 1);
  CHECK_EQ(calls[0], 1);
  CHECK_EQ(m->elems[0].funcs[0], 1);
  CHECK_EQ(m->elems[0].funcs[1], 2);
  CHECK_EQ(export_index(m, "f"), 1);
  CHECK_EQ(export_index(m, "h"), 2);
  CHECK_EQ(export_index(m, "g3"), 3); /* globals do not move */
  CHECK(revalidates(m));
  wasync_module_free(m);
}

static void test_import_globals(void) {
  WasyncModule *m = load();
  if (!m) return;
  WasyncError err = {0};
  static const char *const fields[2] = {"x", "y"};
  /* g2, g3 become imports env.x, env.y: g 0, x 1, y 2, g1 3 */
  CHECK(wasync_module_import_globals(m, 2, 2, "env", fields, &err));
  CHECK_EQ(m->nglobal_imports, 3);
  CHECK_EQ(m->nglobals, 4);
  CHECK_EQ(m->nimports, 5);
  CHECK_EQ(m->globals[1].import, 3);
  CHECK_EQ(m->globals[2].import, 4);
  CHECK_EQ(m->imports[3].index, 1);
  CHECK_EQ(m->imports[4].index, 2);
  CHECK(m->globals[1].mut);  /* was g2 */
  CHECK(!m->globals[2].mut); /* was g3 */
  uint32_t gets[4], sets[4];
  CHECK_EQ(immediates(m, 2, WASYNC_OP_GLOBAL_GET, gets, 4), 2);
  CHECK_EQ(gets[0], 2); /* g3 */
  CHECK_EQ(gets[1], 3); /* g1 */
  CHECK_EQ(immediates(m, 2, WASYNC_OP_GLOBAL_SET, sets, 4), 1);
  CHECK_EQ(sets[0], 1); /* g2 */
  CHECK_EQ(export_index(m, "g3"), 2);
  CHECK_EQ(export_index(m, "f"), 2); /* functions do not move */
  CHECK(revalidates(m));
  wasync_module_free(m);
}

/* A renumbering that moves nothing replaces no body. */
static void test_renumber_identity(void) {
  WasyncModule *m = load();
  if (!m) return;
  WasyncError err = {0};
  uint32_t fmap[5] = {0, 1, 2, 3, 4}, gmap[4] = {0, 1, 2, 3};
  const uint8_t *body = m->funcs[2].code.body;
  CHECK(wasync_module_renumber(m, fmap, gmap, &err));
  CHECK(m->funcs[2].code.body == body);
  CHECK(!m->funcs[2].code.replaced);
  CHECK(revalidates(m));
  wasync_module_free(m);
}

int main(void) {
  RUN(test_add_type);
  RUN(test_remove_func_imports);
  RUN(test_import_globals);
  RUN(test_renumber_identity);
  return TEST_REPORT();
}
