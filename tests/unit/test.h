/*
 * test.h -- a tiny unit-test framework.
 *
 * Each C file in tests/unit is its own program: it defines test functions,
 * runs them from main() with RUN(fn), and ends with `return TEST_REPORT();`,
 * which prints "N passed, N failed" and yields a non-zero exit status when
 * any check failed.  A failed check prints its file, line and expression
 * and lets the test continue.
 */
#ifndef WASYNC_TEST_H
#define WASYNC_TEST_H

#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed_, test_failed_;

static inline int test_check_(int ok, const char *file, int line,
                              const char *expr) {
  if (ok) {
    test_passed_++;
  } else {
    test_failed_++;
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, expr);
  }
  return ok;
}

#define CHECK(cond) test_check_((cond) ? 1 : 0, __FILE__, __LINE__, #cond)

#define CHECK_EQ(a, b)                                                         \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    if (!test_check_(a_ == b_, __FILE__, __LINE__, #a " == " #b))              \
      fprintf(stderr, "    %lld != %lld\n", a_, b_);                           \
  } while (0)

#define CHECK_EQ_U64(a, b)                                                     \
  do {                                                                         \
    uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                           \
    if (!test_check_(a_ == b_, __FILE__, __LINE__, #a " == " #b))              \
      fprintf(stderr, "    %" PRIu64 " != %" PRIu64 "\n", a_, b_);             \
  } while (0)

#define CHECK_STR(a, b)                                                        \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    if (!test_check_(a_ && b_ && strcmp(a_, b_) == 0, __FILE__, __LINE__,      \
                     #a " == " #b))                                            \
      fprintf(stderr, "    \"%s\" != \"%s\"\n", a_ ? a_ : "(null)",            \
              b_ ? b_ : "(null)");                                             \
  } while (0)

#define RUN(fn)                                                                \
  do {                                                                         \
    int before_ = test_failed_;                                                \
    fn();                                                                      \
    if (test_failed_ != before_) fprintf(stderr, "  in %s\n", #fn);            \
  } while (0)

#define TEST_REPORT()                                                          \
  (printf("%d passed, %d failed\n", test_passed_, test_failed_),               \
   test_failed_ ? 1 : 0)

/* ---- a counting allocator that can fail the N-th allocation ------------- */

/* Its counters are atomic: function bodies are processed on threads. */
typedef struct TestAlloc {
  atomic_long calls; /* alloc + realloc calls so far */
  long fail_at;      /* the call number that fails (1-based); 0 = never */
  atomic_long live;  /* blocks currently allocated */
  atomic_int failed; /* an allocation was refused */
} TestAlloc;

static inline void *test_alloc_(void *ctx, size_t size) {
  TestAlloc *t = ctx;
  if (++t->calls == t->fail_at) {
    t->failed = 1;
    return NULL;
  }
  void *p = malloc(size ? size : 1);
  if (p) t->live++;
  return p;
}

static inline void *test_realloc_(void *ctx, void *ptr, size_t size) {
  TestAlloc *t = ctx;
  if (++t->calls == t->fail_at) {
    t->failed = 1;
    return NULL;
  }
  void *p = realloc(ptr, size ? size : 1);
  if (p && !ptr) t->live++;
  return p;
}

static inline void test_free_(void *ctx, void *ptr) {
  TestAlloc *t = ctx;
  if (ptr) t->live--;
  free(ptr);
}

#define TEST_ALLOCATOR(t)                                                      \
  { test_alloc_, test_realloc_, test_free_, (t) }

/* Makes the n-th allocation from now on fail (n >= 1). */
static inline void test_alloc_arm(TestAlloc *t, long n) {
  t->fail_at = atomic_load(&t->calls) + n;
}

/* ---- the N-th allocation failure sweep -------------------------------------
 *
 * Runs an operation with its N-th allocation failing, for N = 1, 2, ...
 * until it succeeds with no allocation refused.  `attempt` sets the
 * operation up with TEST_ALLOCATOR(t), calls test_alloc_arm(t, n) where the
 * counted part begins, runs it, frees everything and returns whether it
 * succeeded (its error in *code, a WasyncErrorCode).  Each failure must be
 * "out of memory" (code `nomem`) after a refused allocation; nothing may
 * leak either way.  With `recover`, an operation may also succeed in spite
 * of a refused allocation (a thread that could not start: fewer threads).
 * Returns the first N that succeeded untouched (checks that it is above
 * `min_n`: the operation allocated at all). */
typedef bool (*TestAllocAttempt)(void *ctx, TestAlloc *t, long n, int *code);

static inline long test_alloc_sweep_(TestAllocAttempt attempt, void *ctx,
                                     int nomem, long max_n, long min_n,
                                     bool recover, const char *file, int line) {
  long n;
  for (n = 1; n <= max_n; n++) {
    TestAlloc t = {0, 0, 0, 0};
    int code = 0;
    bool ok = attempt(ctx, &t, n, &code);
    int fails = test_failed_;
    test_check_(atomic_load(&t.live) == 0, file, line, "nothing leaked");
    if (ok && !t.failed) break;
    if (!ok) {
      test_check_(t.failed, file, line, "failed only when refused memory");
      test_check_(code == nomem, file, line, "the error is out of memory");
    } else {
      test_check_(recover, file, line, "a refused allocation is reported");
    }
    if (test_failed_ != fails) {
      fprintf(stderr, "    at allocation %ld (error code %d)\n", n, code);
      return n;
    }
  }
  test_check_(n <= max_n, file, line, "the operation finally succeeded");
  test_check_(n > min_n, file, line, "the operation allocated");
  return n;
}

#define TEST_ALLOC_SWEEP(attempt, ctx, max_n, min_n)                           \
  test_alloc_sweep_((attempt), (ctx), WASYNC_ERR_NOMEM, (max_n), (min_n),      \
                    false, __FILE__, __LINE__)
#define TEST_ALLOC_SWEEP_RECOVER(attempt, ctx, max_n, min_n)                   \
  test_alloc_sweep_((attempt), (ctx), WASYNC_ERR_NOMEM, (max_n), (min_n),      \
                    true, __FILE__, __LINE__)

#endif
