/*
 * test_asyncify.c -- unit tests of the asyncify pass: option lists, the
 * may-unwind analysis (imports, type-based indirect calls, the lists) and a
 * full transform whose output must decode and validate again.
 */
#include "../../src/asyncify.h"
#include "test.h"

/* wat2wasm --debug-names of:
 *   (module
 *     (type $unary (func (param i32) (result i32)))
 *     (type $binary (func (param i32 i32) (result i32)))
 *     (import "env" "sleep" (func $sleep (param i32) (result i32)))
 *     (import "env" "log" (func $log (param i32)))
 *     (memory (export "memory") 1)
 *     (table 4 funcref)
 *     (elem (i32.const 0) func $sleeper $add)
 *     (func $sleeper (type $unary) (call $sleep (local.get 0)))
 *     (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
 *     (func $ind_unary (param i32) (result i32)
 *       (call_indirect (type $unary) (local.get 0) (i32.const 0)))
 *     (func $ind_binary (param i32) (result i32)
 *       (call_indirect (type $binary) (local.get 0) (local.get 0)
 *                      (i32.const 1)))
 *     (func $logger (param i32) (call $log (local.get 0)))
 *     (func $main (export "main") (param i32) (result i32)
 *       (call $logger (local.get 0))
 *       (i32.add (call $ind_unary (local.get 0))
 *                (call $ind_binary (local.get 0)))))
 * Functions: 0 sleep, 1 log, 2 sleeper, 3 add, 4 ind_unary, 5 ind_binary,
 * 6 logger, 7 main. */
static const unsigned char u1_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x03, 0x60,
    0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01,
    0x7f, 0x00, 0x02, 0x17, 0x02, 0x03, 0x65, 0x6e, 0x76, 0x05, 0x73, 0x6c,
    0x65, 0x65, 0x70, 0x00, 0x00, 0x03, 0x65, 0x6e, 0x76, 0x03, 0x6c, 0x6f,
    0x67, 0x00, 0x02, 0x03, 0x07, 0x06, 0x00, 0x01, 0x00, 0x00, 0x02, 0x00,
    0x04, 0x04, 0x01, 0x70, 0x00, 0x04, 0x05, 0x03, 0x01, 0x00, 0x01, 0x07,
    0x11, 0x02, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x04,
    0x6d, 0x61, 0x69, 0x6e, 0x00, 0x07, 0x09, 0x08, 0x01, 0x00, 0x41, 0x00,
    0x0b, 0x02, 0x02, 0x03, 0x0a, 0x3d, 0x06, 0x06, 0x00, 0x20, 0x00, 0x10,
    0x00, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b, 0x09, 0x00,
    0x20, 0x00, 0x41, 0x00, 0x11, 0x00, 0x00, 0x0b, 0x0b, 0x00, 0x20, 0x00,
    0x20, 0x00, 0x41, 0x01, 0x11, 0x01, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00,
    0x10, 0x01, 0x0b, 0x0f, 0x00, 0x20, 0x00, 0x10, 0x06, 0x20, 0x00, 0x10,
    0x04, 0x20, 0x00, 0x10, 0x05, 0x6a, 0x0b, 0x00, 0x6c, 0x04, 0x6e, 0x61,
    0x6d, 0x65, 0x01, 0x40, 0x08, 0x00, 0x05, 0x73, 0x6c, 0x65, 0x65, 0x70,
    0x01, 0x03, 0x6c, 0x6f, 0x67, 0x02, 0x07, 0x73, 0x6c, 0x65, 0x65, 0x70,
    0x65, 0x72, 0x03, 0x03, 0x61, 0x64, 0x64, 0x04, 0x09, 0x69, 0x6e, 0x64,
    0x5f, 0x75, 0x6e, 0x61, 0x72, 0x79, 0x05, 0x0a, 0x69, 0x6e, 0x64, 0x5f,
    0x62, 0x69, 0x6e, 0x61, 0x72, 0x79, 0x06, 0x06, 0x6c, 0x6f, 0x67, 0x67,
    0x65, 0x72, 0x07, 0x04, 0x6d, 0x61, 0x69, 0x6e, 0x02, 0x11, 0x08, 0x00,
    0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x05, 0x00, 0x06,
    0x00, 0x07, 0x00, 0x04, 0x10, 0x02, 0x00, 0x05, 0x75, 0x6e, 0x61, 0x72,
    0x79, 0x01, 0x06, 0x62, 0x69, 0x6e, 0x61, 0x72, 0x79};

static WasyncModule *load(void) {
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(u1_wasm, sizeof u1_wasm, NULL, &err);
  CHECK(m != NULL);
  if (m) CHECK(wasync_module_validate(m, &err));
  return m;
}

/* Bit mask of instrumented functions under options `o`. */
static unsigned instrumented(const WasyncAsyncifyOptions *o, bool *ok) {
  WasyncModule *m = load();
  if (!m) return 0;
  WasyncAsyncifyAnalysis a;
  WasyncError err = {0};
  *ok = wasync_asyncify_analyze(m, o, &a, &err);
  unsigned mask = 0;
  if (*ok)
    for (uint32_t f = 0; f < m->nfuncs; f++)
      if (a.flags[f] & AFN_INSTRUMENT) mask |= 1u << f;
  wasync_module_free(m);
  return mask;
}

#define F(i) (1u << (i))

static void test_match(void) {
  const uint8_t *s = (const uint8_t *)"env.sleep";
  CHECK(wasync_asyncify_match("env.sleep", s, 9));
  CHECK(wasync_asyncify_match("env.*", s, 9));
  CHECK(wasync_asyncify_match("*", s, 9));
  CHECK(wasync_asyncify_match("*.sl*p", s, 9));
  CHECK(!wasync_asyncify_match("env.sleepy", s, 9));
  CHECK(!wasync_asyncify_match("env.s", s, 9));
  CHECK(!wasync_asyncify_match("wasi.*", s, 9));
  CHECK(wasync_asyncify_match("", s, 0));
  CHECK(!wasync_asyncify_match("", s, 1));
}

static void test_analysis(void) {
  WasyncAsyncifyOptions o;
  bool ok;
  memset(&o, 0, sizeof o);
  /* Default: every import may unwind; $ind_binary's call_indirect can only
   * reach $add (type-based), so it and $add stay untouched. */
  CHECK_EQ(instrumented(&o, &ok), F(2) | F(4) | F(6) | F(7));
  CHECK(ok);

  const char *sleep_only[] = {"env.s*"};
  o.imports_given = true;
  o.imports.items = sleep_only;
  o.imports.count = 1;
  CHECK_EQ(instrumented(&o, &ok), F(2) | F(4) | F(7));

  o.ignore_indirect = true;
  CHECK_EQ(instrumented(&o, &ok), F(2));
  o.ignore_indirect = false;

  o.ignore_imports = true;
  CHECK_EQ(instrumented(&o, &ok), 0u);
  o.ignore_imports = false;
  o.imports_given = false;

  const char *removed[] = {"ind_*"};
  o.remove_list.items = removed;
  o.remove_list.count = 1;
  CHECK_EQ(instrumented(&o, &ok), F(2) | F(6) | F(7));
  o.remove_list.count = 0;

  const char *only[] = {"main"};
  o.only_list.items = only;
  o.only_list.count = 1;
  CHECK_EQ(instrumented(&o, &ok), F(7));

  /* only-list with another list is an argument error. */
  o.remove_list.items = removed;
  o.remove_list.count = 1;
  instrumented(&o, &ok);
  CHECK(!ok);
  o.remove_list.count = 0;
  o.only_list.count = 0;

  /* add-list: instrumented, callers only with propagate-add. */
  const char *added[] = {"add"};
  o.add_list.items = added;
  o.add_list.count = 1;
  o.ignore_imports = true;
  CHECK_EQ(instrumented(&o, &ok), F(3));
  o.propagate_add = true;
  CHECK_EQ(instrumented(&o, &ok), F(3) | F(5) | F(7));
}

typedef struct Log {
  char text[4096];
  size_t len;
} Log;

static void collect(void *ctx, const char *line) {
  Log *l = ctx;
  size_t n = strlen(line);
  if (l->len + n + 2 < sizeof l->text) {
    memcpy(l->text + l->len, line, n);
    l->len += n;
    l->text[l->len++] = '\n';
    l->text[l->len] = '\0';
  }
}

/* wat2wasm --debug-names of:
 *   (module
 *     (type $v (func))
 *     (import "env" "sleep" (func $sleep))
 *     (import "env" "log" (func $log (param i32)))
 *     (memory (export "memory") 1)
 *     (table (export "tab") 2 funcref)      ;; the host can fill slot 1
 *     (elem (i32.const 0) func $quiet)
 *     (func $quiet (call $log (i32.const 1)))
 *     (func $caller (export "caller") (call_indirect (type $v) (i32.const 1)))
 *     (func $direct (export "direct") (param i32) (call $sleep)))
 * Functions: 0 sleep, 1 log, 2 quiet, 3 caller, 4 direct (of another type
 * than the call_indirect: the type analysis cannot reach it). */
static const unsigned char host_table_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x60,
    0x00, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x02, 0x17, 0x02, 0x03, 0x65, 0x6e,
    0x76, 0x05, 0x73, 0x6c, 0x65, 0x65, 0x70, 0x00, 0x00, 0x03, 0x65, 0x6e,
    0x76, 0x03, 0x6c, 0x6f, 0x67, 0x00, 0x01, 0x03, 0x04, 0x03, 0x00, 0x00,
    0x01, 0x04, 0x04, 0x01, 0x70, 0x00, 0x02, 0x05, 0x03, 0x01, 0x00, 0x01,
    0x07, 0x22, 0x04, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00,
    0x03, 0x74, 0x61, 0x62, 0x01, 0x00, 0x06, 0x63, 0x61, 0x6c, 0x6c, 0x65,
    0x72, 0x00, 0x03, 0x06, 0x64, 0x69, 0x72, 0x65, 0x63, 0x74, 0x00, 0x04,
    0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x02, 0x0a, 0x15, 0x03,
    0x06, 0x00, 0x41, 0x01, 0x10, 0x01, 0x0b, 0x07, 0x00, 0x41, 0x01, 0x11,
    0x00, 0x00, 0x0b, 0x04, 0x00, 0x10, 0x00, 0x0b, 0x00, 0x3e, 0x04, 0x6e,
    0x61, 0x6d, 0x65, 0x01, 0x24, 0x05, 0x00, 0x05, 0x73, 0x6c, 0x65, 0x65,
    0x70, 0x01, 0x03, 0x6c, 0x6f, 0x67, 0x02, 0x05, 0x71, 0x75, 0x69, 0x65,
    0x74, 0x03, 0x06, 0x63, 0x61, 0x6c, 0x6c, 0x65, 0x72, 0x04, 0x06, 0x64,
    0x69, 0x72, 0x65, 0x63, 0x74, 0x02, 0x0b, 0x05, 0x00, 0x00, 0x01, 0x00,
    0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x04, 0x04, 0x01, 0x00, 0x01, 0x76};

/* An exported table may hold a host function that suspends (Emscripten's
 * addFunction): its indirect calls may unwind even with an explicit import
 * list that does not name it, unless precise_indirect or ignore_indirect. */
static void test_host_tables(void) {
  WasyncError err = {0};
  const char *sleep_only[] = {"env.sleep"};
  for (int variant = 0; variant < 3; variant++) {
    WasyncModule *m = wasync_module_decode(host_table_wasm,
                                           sizeof host_table_wasm, NULL, &err);
    CHECK(m != NULL);
    if (!m) return;
    CHECK(wasync_module_validate(m, &err));
    WasyncAsyncifyOptions o;
    memset(&o, 0, sizeof o);
    o.imports_given = true;
    o.imports.items = sleep_only;
    o.imports.count = 1;
    o.precise_indirect = variant == 1;
    o.ignore_indirect = variant == 2;
    WasyncAsyncifyAnalysis a;
    CHECK(wasync_asyncify_analyze(m, &o, &a, &err));
    unsigned mask = 0;
    for (uint32_t f = 0; f < m->nfuncs; f++)
      if (a.flags[f] & AFN_INSTRUMENT) mask |= 1u << f;
    CHECK_EQ(mask, variant == 0 ? F(3) | F(4) : F(4));
    CHECK_EQ(a.foreign_reason, AFR_TABLE_EXPORTED);
    /* --why names the rule. */
    Log log = {{0}, 0};
    o.why = "caller";
    o.log = collect;
    o.log_ctx = &log;
    CHECK(wasync_asyncify(m, &o, &err));
    if (variant == 0)
      CHECK(strstr(log.text, "caller is instrumented") &&
            strstr(log.text, "may reach host functions") &&
            strstr(log.text, "the module exports a table"));
    else
      CHECK(strstr(log.text, "caller is not instrumented") != NULL);
    wasync_module_free(m);
  }
}

static void test_transform(void) {
  WasyncModule *m = load();
  if (!m) return;
  Log log;
  memset(&log, 0, sizeof log);
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.verbose = true;
  o.why = "main";
  o.log = collect;
  o.log_ctx = &log;
  WasyncError err = {0};
  CHECK(wasync_asyncify(m, &o, &err));
  CHECK(strstr(log.text, "instrumented: sleeper\n") != NULL);
  CHECK(strstr(log.text, "instrumented: main\n") != NULL);
  CHECK(strstr(log.text, "instrumented: add\n") == NULL);
  CHECK(strstr(log.text, "instrumented: ind_binary\n") == NULL);
  CHECK(strstr(log.text, "main is instrumented:") != NULL);
  /* Untouched bodies are copied, instrumented ones replaced. */
  CHECK(!m->funcs[3].code.replaced);
  CHECK(!m->funcs[5].code.replaced);
  CHECK(m->funcs[2].code.replaced);
  CHECK(m->funcs[7].code.replaced);
  /* sleeper's argument (local.get 0) is emitted right before its call, not
   * passed through a temp local: local.get 0; call 0. */
  {
    static const uint8_t pat[] = {0x20, 0x00, 0x10, 0x00};
    const WasyncCode *c = &m->funcs[2].code;
    bool direct = false;
    for (uint32_t i = 0; i + sizeof pat <= c->size && !direct; i++)
      direct = memcmp(c->body + i, pat, sizeof pat) == 0;
    CHECK(direct);
  }
  uint8_t *out = NULL;
  size_t size = 0;
  CHECK(wasync_module_encode(m, NULL, &out, &size, &err));
  if (out) {
    WasyncError err2 = {0};
    WasyncModule *m2 = wasync_module_decode(out, size, NULL, &err2);
    CHECK(m2 != NULL);
    if (m2) {
      CHECK(wasync_module_validate(m2, &err2));
      if (err2.code)
        fprintf(stderr, "    %s at 0x%llx\n", err2.message,
                (unsigned long long)err2.offset);
      static const char *const names[] = {
          "asyncify_start_unwind", "asyncify_stop_unwind",
          "asyncify_start_rewind", "asyncify_stop_rewind",
          "asyncify_get_state"};
      for (size_t k = 0; k < 5; k++) {
        bool found = false;
        for (uint32_t i = 0; i < m2->nexports; i++)
          if (m2->exports[i].name.len == strlen(names[k]) &&
              memcmp(m2->exports[i].name.bytes, names[k], strlen(names[k])) ==
                  0 &&
              m2->exports[i].kind == WASYNC_EXTERN_FUNC)
            found = true;
        CHECK(found);
      }
      /* state + data globals added */
      CHECK_EQ(m2->nglobals, 2);
      wasync_module_free(m2);
    }
    wasync_buffer_free(m, out);
  }
  wasync_module_free(m);
}

/* Functions after asyncify with split_min_sites = `min`; *valid: the
 * output encodes, decodes and validates. */
static uint32_t split_funcs(uint32_t min, Log *log, bool *valid) {
  WasyncModule *m = load();
  *valid = false;
  if (!m) return 0;
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.split_min_sites = min;
  o.verbose = true;
  o.log = collect;
  o.log_ctx = log;
  WasyncError err = {0};
  CHECK(wasync_asyncify(m, &o, &err));
  uint32_t n = m->nfuncs;
  uint8_t *out = NULL;
  size_t size = 0;
  if (wasync_module_encode(m, NULL, &out, &size, &err)) {
    WasyncError err2 = {0};
    WasyncModule *m2 = wasync_module_decode(out, size, NULL, &err2);
    *valid = m2 && wasync_module_validate(m2, &err2);
    wasync_module_free(m2);
    wasync_buffer_free(m, out);
  }
  wasync_module_free(m);
  return n;
}

static void test_split_rewind(void) {
  Log log;
  bool valid;
  memset(&log, 0, sizeof log);
  uint32_t none = split_funcs(UINT32_MAX, &log, &valid);
  CHECK(valid);
  CHECK(strstr(log.text, "split rewind path") == NULL);
  /* Default: nothing here has 256 call sites. */
  memset(&log, 0, sizeof log);
  CHECK_EQ(split_funcs(0, &log, &valid), none);
  CHECK(valid);
  /* One site is enough: sleeper, ind_unary, logger (every import may
   * unwind) and main get two copies each (fast path and rewind path; the
   * function itself becomes a trampoline). */
  memset(&log, 0, sizeof log);
  CHECK_EQ(split_funcs(1, &log, &valid), none + 8);
  CHECK(valid);
  CHECK(strstr(log.text, "split rewind path: sleeper (1 call sites") != NULL);
  CHECK(strstr(log.text, "split rewind path: main (2 call sites") != NULL);
  /* main calls logger and ind_unary (ind_binary reaches only add): with
   * two sites required, main alone. */
  memset(&log, 0, sizeof log);
  CHECK_EQ(split_funcs(2, &log, &valid), none + 2);
  CHECK(valid);
}

/* The N-th allocation during asyncify fails, for every N until it
 * succeeds (every function split, asserts on: every code path that
 * allocates): an out-of-memory error each time, nothing leaked. */
static bool asyncify_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  (void)ctx;
  WasyncAllocator al = TEST_ALLOCATOR(t);
  WasyncDecodeOptions dopts;
  memset(&dopts, 0, sizeof dopts);
  dopts.allocator = &al;
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(u1_wasm, sizeof u1_wasm, &dopts, &err);
  if (!CHECK(m != NULL)) return true; /* stops the sweep */
  CHECK(wasync_module_validate(m, &err));
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.split_min_sites = 1;
  o.asserts = true;
  test_alloc_arm(t, n);
  bool ok = wasync_asyncify(m, &o, &err);
  if (!ok) *code = err.code;
  wasync_module_free(m);
  return ok;
}

static void test_alloc_failures(void) {
  TEST_ALLOC_SWEEP(asyncify_attempt, NULL, 100000, 10);
}

static void test_bad_memory(void) {
  WasyncModule *m = load();
  if (!m) return;
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.memory = "7";
  WasyncError err = {0};
  CHECK(!wasync_asyncify(m, &o, &err));
  CHECK_EQ(err.code, WASYNC_ERR_ARGUMENT);
  wasync_module_free(m);
}

int main(void) {
  RUN(test_match);
  RUN(test_analysis);
  RUN(test_host_tables);
  RUN(test_transform);
  RUN(test_split_rewind);
  RUN(test_alloc_failures);
  RUN(test_bad_memory);
  return TEST_REPORT();
}
