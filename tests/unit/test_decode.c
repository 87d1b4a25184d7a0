/*
 * test_decode.c -- the decoder: every section of two valid modules, the
 * recorded encoding choices, malformed inputs with the spec's messages and
 * offsets, every truncated prefix, and allocation failure at every step.
 */
#include "module.h"
#include "modules.h"
#include "test.h"

#include <stdbool.h>

#define HDR 0x00, 0x61, 0x73, 0x6D, 0x01, 0x00, 0x00, 0x00

static WasyncModule *decode(const uint8_t *p, size_t n, WasyncError *err) {
  return wasync_module_decode(p, n, NULL, err);
}

static bool name_is(WasyncName n, const char *s) {
  return n.len == strlen(s) && memcmp(n.bytes, s, n.len) == 0;
}

static void test_rich(void) {
  WasyncError err;
  WasyncModule *m = decode(test_rich_wasm, sizeof test_rich_wasm, &err);
  CHECK(m != NULL);
  if (!m) {
    fprintf(stderr, "    %s at 0x%llx\n", err.message,
            (unsigned long long)err.offset);
    return;
  }
  CHECK_EQ(err.code, WASYNC_OK);
  CHECK_EQ(m->ntypes, 2);
  CHECK_EQ(m->types[0].form, WASYNC_COMP_FUNC);
  CHECK_EQ(m->types[0].nparams, 2);
  CHECK_EQ(m->types[0].params[1], WASYNC_VT_I64);
  CHECK_EQ(m->types[0].nresults, 1);
  CHECK_EQ(m->types[1].nparams, 0);
  CHECK(!m->types[0].rec_explicit && m->types[0].rec_size == 1);
  CHECK_EQ(m->nimports, 4);
  CHECK(name_is(m->imports[0].module, "env"));
  CHECK(name_is(m->imports[3].field, "g"));
  CHECK_EQ(m->imports[2].kind, WASYNC_EXTERN_MEMORY);
  CHECK_EQ(m->nfuncs, 3);
  CHECK_EQ(m->nfunc_imports, 1);
  CHECK_EQ(m->funcs[0].import, 0);
  CHECK_EQ(m->funcs[1].import, UINT32_MAX);
  CHECK_EQ(m->ntables, 2);
  CHECK_EQ(m->ntable_imports, 1);
  CHECK_EQ(m->tables[1].type, wasync_vt_ref_abstract(true, WASYNC_HT_EXTERN));
  CHECK_EQ(m->tables[1].limits.min, 2);
  CHECK_EQ(m->nmemories, 2);
  CHECK(m->memories[0].limits.has_max && m->memories[0].limits.max == 2);
  CHECK_EQ(m->memories[0].import, 2);
  CHECK_EQ(m->nglobals, 3);
  CHECK_EQ(m->nglobal_imports, 1);
  CHECK(m->globals[1].mut && m->globals[1].type == WASYNC_VT_I32);
  CHECK_EQ(m->globals[1].init.size, 3); /* i32.const 7, end */
  CHECK_EQ(m->globals[1].init.bytes[0], 0x41);
  CHECK_EQ(m->nexports, 2);
  CHECK(name_is(m->exports[1].name, "g1"));
  CHECK_EQ(m->exports[1].kind, WASYNC_EXTERN_GLOBAL);
  CHECK(m->has_start && m->start == 2);
  CHECK_EQ(m->nelems, 3);
  CHECK_EQ(m->elems[0].mode, WASYNC_SEG_ACTIVE);
  CHECK_EQ(m->elems[1].mode, WASYNC_SEG_PASSIVE);
  CHECK_EQ(m->elems[2].mode, WASYNC_SEG_DECLARATIVE);
  CHECK(m->elems[0].count == 1 && m->elems[0].funcs[0] == 1);
  CHECK(m->has_datacount && m->datacount == 2);
  CHECK_EQ(m->ndatas, 2);
  CHECK(m->datas[0].size == 5 && memcmp(m->datas[0].bytes, "hello", 5) == 0);
  CHECK_EQ(m->datas[1].mode, WASYNC_SEG_PASSIVE);
  const WasyncCode *c = &m->funcs[1].code;
  CHECK_EQ(c->nlocal_groups, 2);
  CHECK_EQ(c->nlocals, 3);
  CHECK(c->local_groups[1].count == 2 && c->local_groups[1].type == 0x7C);
  CHECK_EQ(c->body[c->size - 1], 0x0B);
  CHECK_EQ(c->offset + c->size, m->funcs[2].code.offset - 1);
  CHECK_EQ(m->ncustoms, 1);
  CHECK(name_is(m->customs[0].name, "name"));
  /* sections in input order, the custom one last */
  CHECK_EQ(m->nsections, 13);
  static const uint8_t order[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 10, 11, 0};
  for (unsigned i = 0; i < sizeof order && i < m->nsections; i++)
    CHECK_EQ(m->sections[i].id, order[i]);
  CHECK_EQ(m->sections[m->nsections - 1].id, 0);
  CHECK_EQ(m->sections[0].offset, 8);
  const WasyncName *names = wasync_module_func_names(m);
  CHECK(names && name_is(names[0], "imp") && name_is(names[2], "f2"));
  /* the inspection API */
  WasyncModuleCounts counts;
  wasync_module_counts(m, &counts);
  CHECK_EQ(counts.funcs, 3);
  CHECK_EQ(counts.sections, m->nsections);
  WasyncFuncInfo fi;
  CHECK(wasync_module_func(m, 1, &fi) && fi.name_len == 2 && !fi.imported);
  CHECK_EQ(fi.body_size, c->size);
  CHECK(!wasync_module_func(m, 3, &fi));
  WasyncSectionInfo si;
  CHECK(wasync_module_section(m, 0, &si) && strcmp(si.name, "type") == 0);
  CHECK(wasync_module_section(m, m->nsections - 1, &si) && si.name_len == 4);
  WasyncImportInfo ii;
  CHECK(wasync_module_import(m, 3, &ii) && ii.kind == WASYNC_EXTERN_GLOBAL);
  WasyncExportInfo ei;
  CHECK(wasync_module_export(m, 0, &ei) && ei.index == 1);
  wasync_module_free(m);
}

static void test_gc(void) {
  WasyncError err;
  WasyncModule *m = decode(test_gc_wasm, sizeof test_gc_wasm, &err);
  CHECK(m != NULL);
  if (!m) {
    fprintf(stderr, "    %s at 0x%llx\n", err.message,
            (unsigned long long)err.offset);
    return;
  }
  bool saw_rec = false, saw_struct = false, saw_array = false, saw_sub = false,
       saw_packed = false;
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const WasyncSubType *t = &m->types[i];
    if (t->rec_explicit && t->rec_size == 2) saw_rec = true;
    if (t->form == WASYNC_COMP_STRUCT) saw_struct = true;
    if (t->form == WASYNC_COMP_ARRAY) saw_array = true;
    if (t->has_super) saw_sub = true;
    for (uint32_t k = 0; k < t->nfields; k++)
      if (t->fields[k].type == WASYNC_VT_I8) saw_packed = true;
  }
  CHECK(saw_rec && saw_struct && saw_array && saw_sub && saw_packed);
  CHECK_EQ(m->ntags, 1);
  CHECK_EQ(m->ntables, 1);
  CHECK_EQ(m->nglobals, 1);
  CHECK(wasync_vt_is_ref(m->globals[0].type) &&
        wasync_vt_indexed(m->globals[0].type));
  wasync_module_free(m);
}

typedef struct Malformed {
  const char *name;
  const uint8_t *bytes;
  size_t size;
  const char *message; /* expected prefix */
  long offset;         /* -1: not checked */
  WasyncErrorCode code;
} Malformed;

#define M(name, msg, off, ...)                                                 \
  {                                                                            \
    name, (const uint8_t[]){__VA_ARGS__},                                      \
        sizeof((const uint8_t[]){__VA_ARGS__}), msg, off, WASYNC_ERR_MALFORMED \
  }
#define MC(code, name, msg, off, ...)                                          \
  {                                                                            \
    name, (const uint8_t[]){__VA_ARGS__},                                      \
        sizeof((const uint8_t[]){__VA_ARGS__}), msg, off, code                 \
  }

/* type ()->(), one function of it */
#define T1 0x01, 0x04, 0x01, 0x60, 0x00, 0x00
#define F1 0x03, 0x02, 0x01, 0x00

static const Malformed malformed[] = {
    M("one byte", "unexpected end", 1, 0x00),
    M("bad magic", "magic header not detected", 0, 0x00, 0x61, 0x73, 0x6E, 0x01,
      0x00, 0x00, 0x00),
    M("short magic", "unexpected end", -1, 0x00, 0x61, 0x73),
    M("version 2", "unknown binary version", 4, 0x00, 0x61, 0x73, 0x6D, 0x02,
      0x00, 0x00, 0x00),
    M("short version", "unexpected end", -1, 0x00, 0x61, 0x73, 0x6D, 0x01),
    M("section id 14", "malformed section id", 8, HDR, 0x0E, 0x00),
    M("duplicate type section", "unexpected content after last section", 14,
      HDR, T1, T1),
    M("out of order", "unexpected content after last section", 12, HDR, F1, T1),
    M("section too long", "length out of bounds", 9, HDR, 0x01, 0x10, 0x00),
    M("size mismatch", "section size mismatch", 14, HDR, 0x01, 0x05, 0x01, 0x60,
      0x00, 0x00, 0x00),
    M("count past section", "unexpected end of section or function", -1, HDR,
      0x01, 0x01, 0x02),
    M("bad import kind", "malformed import kind", 13, HDR, 0x02, 0x05, 0x01,
      0x00, 0x00, 0x05, 0x00),
    M("bad mutability", "malformed mutability", 12, HDR, 0x06, 0x06, 0x01, 0x7F,
      0x02, 0x41, 0x00, 0x0B),
    M("bad limits flags", "malformed limits flags", 11, HDR, 0x05, 0x03, 0x01,
      0x08, 0x00),
    M("limit too large", "integer too large", 16, HDR, 0x05, 0x0C, 0x01, 0x00,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02),
    M("leb past section end", "integer representation too long", 16, HDR, 0x03,
      0x02, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
    M("leb too long", "integer representation too long", 22, HDR, T1, 0x03,
      0x07, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
    M("bad reftype", "malformed reference type", 11, HDR, 0x04, 0x04, 0x01,
      0x7F, 0x00, 0x00),
    M("no code section", "function and code section have inconsistent lengths",
      -1, HDR, T1, F1),
    M("code count", "function and code section have inconsistent lengths", -1,
      HDR, T1, F1, 0x0A, 0x07, 0x02, 0x02, 0x00, 0x0B, 0x02, 0x00, 0x0B),
    M("datacount mismatch",
      "data count and data section have inconsistent lengths", -1, HDR, 0x05,
      0x03, 0x01, 0x00, 0x01, 0x0C, 0x01, 0x02, 0x0B, 0x01, 0x00),
    M("datacount without data",
      "data count and data section have inconsistent lengths", -1, HDR, 0x0C,
      0x01, 0x01),
    M("data count required", "data count section required", 23, HDR, T1, F1,
      0x0A, 0x07, 0x01, 0x05, 0x00, 0xFC, 0x09, 0x00, 0x0B),
    M("too many locals", "too many locals", -1, HDR, T1, F1, 0x0A, 0x10, 0x01,
      0x0E, 0x02, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF,
      0x0F, 0x7F, 0x0B),
    MC(WASYNC_ERR_LIMIT, "over V8's locals", "too many locals", -1, HDR, T1, F1,
       0x0A, 0x08, 0x01, 0x06, 0x01, 0xD1, 0x86, 0x03, 0x7F, 0x0B),
    M("illegal opcode", "illegal opcode", 23, HDR, T1, F1, 0x0A, 0x05, 0x01,
      0x03, 0x00, 0xFF, 0x0B),
    M("illegal prefixed opcode", "illegal opcode", 23, HDR, T1, F1, 0x0A, 0x06,
      0x01, 0x04, 0x00, 0xFC, 0x7F, 0x0B),
    M("missing end at eof", "unexpected end of section or function", -1, HDR,
      T1, F1, 0x0A, 0x06, 0x01, 0x04, 0x00, 0x41, 0x01, 0x1A),
    M("missing end", "END opcode expected", -1, HDR, T1, 0x03, 0x03, 0x02, 0x00,
      0x00, 0x0A, 0x09, 0x02, 0x04, 0x00, 0x41, 0x01, 0x1A, 0x02, 0x00, 0x0B),
    M("body too short", "section size mismatch", -1, HDR, T1, F1, 0x0A, 0x06,
      0x01, 0x04, 0x00, 0x0B, 0x01, 0x1A),
    M("memop flags", "malformed memop flags", -1, HDR, T1, F1, 0x05, 0x03, 0x01,
      0x00, 0x01, 0x0A, 0x0B, 0x01, 0x09, 0x00, 0x41, 0x00, 0x28, 0x80, 0x01,
      0x00, 0x1A, 0x0B),
    M("immediate past body", "unexpected end of section or function", -1, HDR,
      T1, F1, 0x0A, 0x05, 0x01, 0x03, 0x00, 0x41, 0x80, 0x0B),
    M("bad utf-8 export", "malformed UTF-8 encoding", 12, HDR, 0x07, 0x05, 0x01,
      0x02, 0xC0, 0x80, 0x00),
    M("bad utf-8 custom name", "malformed UTF-8 encoding", 11, HDR, 0x00, 0x03,
      0x02, 0xFF, 0xFE),
    M("custom name too long", "length out of bounds", 10, HDR, 0x00, 0x02, 0x05,
      0x61),
    M("elem kind 8", "malformed elements segment kind", 11, HDR, 0x09, 0x02,
      0x01, 0x08),
    M("global init no end", "unexpected end of section or function", -1, HDR,
      0x06, 0x05, 0x01, 0x7F, 0x00, 0x41, 0x00),
    M("export kind 5", "malformed export kind", 13, HDR, 0x07, 0x05, 0x01, 0x01,
      0x61, 0x05, 0x00),
    MC(WASYNC_ERR_INVALID, "unknown block type", "unknown type", -1, HDR, T1,
       F1, 0x0A, 0x07, 0x01, 0x05, 0x00, 0x02, 0x05, 0x0B, 0x0B),
    MC(WASYNC_ERR_INVALID, "unknown type in type", "unknown type", -1, HDR,
       0x01, 0x06, 0x01, 0x60, 0x01, 0x63, 0x07, 0x00),
    M("bad heap type", "malformed heap type", -1, HDR, 0x01, 0x06, 0x01, 0x60,
      0x01, 0x63, 0x7F, 0x00),
    M("bad value type", "malformed value type", -1, HDR, 0x01, 0x05, 0x01, 0x60,
      0x01, 0x55, 0x00),
};

static void test_malformed(void) {
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    const Malformed *c = &malformed[i];
    WasyncError err;
    WasyncModule *m = decode(c->bytes, c->size, &err);
    bool ok = CHECK(m == NULL);
    ok = CHECK(err.code == c->code) && ok;
    ok = CHECK(strncmp(err.message, c->message, strlen(c->message)) == 0) && ok;
    if (c->offset >= 0) ok = CHECK(err.offset == (uint64_t)c->offset) && ok;
    ok = CHECK(err.offset <= c->size) && ok;
    if (!ok)
      fprintf(stderr, "    case \"%s\": got \"%s\" at %llu (code %d)\n",
              c->name, err.message, (unsigned long long)err.offset, err.code);
    wasync_module_free(m);
  }
}

/* Messages: the spec's wording first, then what was read and where. */
static void expect_error(const char *name, const uint8_t *bytes, size_t size,
                         const char *message, uint64_t offset) {
  WasyncError err;
  WasyncModule *m = decode(bytes, size, &err);
  bool ok = CHECK(m == NULL);
  ok = CHECK(strcmp(err.message, message) == 0) && ok;
  ok = CHECK(err.offset == offset) && ok;
  if (!ok)
    fprintf(stderr, "    case \"%s\": got \"%s\" at %llu\n", name, err.message,
            (unsigned long long)err.offset);
  wasync_module_free(m);
}

static void test_error_context(void) {
  /* a function count of 5 in a 1-byte section */
  static const uint8_t count[] = {HDR, 0x03, 0x01, 0x05};
  expect_error("count", count, sizeof count,
               "unexpected end of section or function (reading function "
               "count)",
               10);
  /* the same count with the file, not the section, ending */
  static const uint8_t count_eof[] = {HDR, 0x03, 0x01};
  expect_error("section size", count_eof, sizeof count_eof,
               "length out of bounds", 9);
  /* function 1's body ends inside an i32.const immediate */
  static const uint8_t body[] = {HDR,  0x01, 0x05, 0x01, 0x60, 0x00, 0x01,
                                 0x7F, 0x03, 0x03, 0x02, 0x00, 0x00, 0x0A,
                                 0x0A, 0x02, 0x04, 0x00, 0x41, 0x01, 0x0B,
                                 0x03, 0x00, 0x41, 0x87};
  expect_error("body", body, sizeof body,
               "unexpected end of section or function "
               "(reading i32 constant) (in function 1)",
               sizeof body);
  /* an imported function shifts the index: the body is function 1's */
  static const uint8_t imported[] = {
      HDR,  0x01, 0x04, 0x01, 0x60, 0x00, 0x00,             /* type ()->() */
      0x02, 0x07, 0x01, 0x01, 0x6D, 0x01, 0x66, 0x00, 0x00, /* m.f */
      0x03, 0x02, 0x01, 0x00,                               /* one func */
      0x0A, 0x05, 0x01, 0x03, 0x00, 0x10, 0x80};            /* call <cut> */
  expect_error("imported", imported, sizeof imported,
               "unexpected end of section or function "
               "(reading function index) (in function 1)",
               sizeof imported);
}

/* Every proper prefix of a valid module is rejected cleanly. */
static void truncations(const uint8_t *bytes, size_t size) {
  for (size_t n = 0; n < size; n++) {
    /* A prefix that ends exactly between sections is a valid module. */
    WasyncError err;
    uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    memcpy(copy, bytes, n);
    WasyncModule *m = decode(copy, n, &err);
    if (m) {
      CHECK(err.code == WASYNC_OK);
      wasync_module_free(m);
    } else {
      CHECK(err.code == WASYNC_ERR_MALFORMED);
      CHECK(err.offset <= n);
      CHECK(err.message[0] != '\0');
    }
    free(copy);
  }
}

static void test_truncated(void) {
  truncations(test_rich_wasm, sizeof test_rich_wasm);
  truncations(test_gc_wasm, sizeof test_gc_wasm);
  /* A prefix cut inside a section is never accepted. */
  WasyncError err;
  CHECK(decode(test_rich_wasm, 21, &err) == NULL);
}

/* The N-th allocation fails, for every N until decoding succeeds. */
typedef struct Input {
  const uint8_t *bytes;
  size_t size;
} Input;

static bool decode_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  const Input *in = ctx;
  WasyncAllocator a = TEST_ALLOCATOR(t);
  WasyncDecodeOptions opts = {.allocator = &a, .copy_input = n % 2 == 0};
  WasyncError err;
  test_alloc_arm(t, n);
  WasyncModule *m = wasync_module_decode(in->bytes, in->size, &opts, &err);
  if (!m) *code = err.code;
  wasync_module_free(m);
  return m != NULL;
}

static void alloc_failures(const uint8_t *bytes, size_t size) {
  Input in = {bytes, size};
  TEST_ALLOC_SWEEP(decode_attempt, &in, 100000, 1);
}

static void test_alloc_failures(void) {
  alloc_failures(test_rich_wasm, sizeof test_rich_wasm);
  alloc_failures(test_gc_wasm, sizeof test_gc_wasm);
}

static void test_copy_input(void) {
  uint8_t *copy = malloc(sizeof test_rich_wasm);
  memcpy(copy, test_rich_wasm, sizeof test_rich_wasm);
  WasyncDecodeOptions opts = {.copy_input = true};
  WasyncError err;
  WasyncModule *m =
      wasync_module_decode(copy, sizeof test_rich_wasm, &opts, &err);
  memset(copy, 0, sizeof test_rich_wasm);
  free(copy);
  CHECK(m != NULL);
  if (m) {
    CHECK(name_is(m->exports[0].name, "f1"));
    CHECK(memcmp(m->datas[0].bytes, "hello", 5) == 0);
    wasync_module_free(m);
  }
}

static void test_bad_name_section(void) {
  /* A name section with a truncated function-names subsection: the module
   * decodes, names are just absent where unreadable. */
  static const uint8_t bytes[] = {HDR,  T1,   F1,   0x0A, 0x04, 0x01, 0x02,
                                  0x00, 0x0B, 0x00, 0x09, 0x04, 'n',  'a',
                                  'm',  'e',  0x01, 0x09, 0x01, 0x00};
  WasyncError err;
  WasyncModule *m = decode(bytes, sizeof bytes, &err);
  CHECK(m != NULL);
  if (m) {
    const WasyncName *names = wasync_module_func_names(m);
    CHECK(!names || names[0].bytes == NULL);
    WasyncFuncInfo fi;
    CHECK(wasync_module_func(m, 0, &fi) && fi.name == NULL);
    wasync_module_free(m);
  }
}

static void test_empty_module(void) {
  static const uint8_t bytes[] = {HDR};
  WasyncError err;
  WasyncModule *m = decode(bytes, sizeof bytes, &err);
  CHECK(m != NULL && m->nsections == 0 && m->nfuncs == 0);
  wasync_module_free(m);
  CHECK(decode(NULL, 0, &err) == NULL);
}

int main(void) {
  RUN(test_rich);
  RUN(test_gc);
  RUN(test_malformed);
  RUN(test_error_context);
  RUN(test_truncated);
  RUN(test_alloc_failures);
  RUN(test_copy_input);
  RUN(test_bad_name_section);
  RUN(test_empty_module);
  return TEST_REPORT();
}
