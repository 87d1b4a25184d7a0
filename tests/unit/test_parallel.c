/*
 * test_parallel.c -- function bodies on several threads (src/parallel.h)
 * give exactly what one thread gives: the same validation result, the same
 * error (message, offset, code) when bodies are invalid or malformed, and
 * the same re-encoded bytes -- also when the bodies are re-encoded while
 * they are validated (reencode_in_validate, body_writer.h).
 *
 * The module is generated here: many functions with bodies of varied size
 * and shape (blocks, loops, branches, loads, calls, a non-minimal LEB128).
 * thread_min_bytes = 1 makes even this small module use every thread, so
 * run boundaries fall in many places.  Then bodies are broken on purpose
 * (one, several, in different runs) and at random, and every thread count
 * must agree with one thread.
 */
#include "parallel.h"
#include "test.h"

#include <stdatomic.h>

/* ---- a growable byte builder ---- */

typedef struct Out {
  uint8_t *b;
  size_t n, cap;
} Out;

static void put(Out *o, const void *p, size_t n) {
  if (o->n + n > o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 4096;
    while (cap < o->n + n)
      cap *= 2;
    uint8_t *q = realloc(o->b, cap);
    if (!q) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    o->b = q;
    o->cap = cap;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void put1(Out *o, uint8_t v) {
  put(o, &v, 1);
}

static void put_u32(Out *o, uint32_t v) {
  do {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (v) byte |= 0x80;
    put1(o, byte);
  } while (v);
}

static void section(Out *o, uint8_t id, const Out *payload) {
  put1(o, id);
  put_u32(o, (uint32_t)payload->n);
  put(o, payload->b, payload->n);
}

static uint32_t rng_state;
static uint32_t rnd(uint32_t n) {
  rng_state = rng_state * 1103515245u + 12345u;
  return (rng_state >> 8) % n;
}

/* One body of type (i32) -> i32 with `reps` rounds of assorted code. */
static void body(Out *c, uint32_t func, uint32_t nfuncs, uint32_t reps) {
  Out e = {0};
  put_u32(&e, 1); /* one local group: 2 x i32 */
  put_u32(&e, 2);
  put1(&e, 0x7F);
  put1(&e, 0x20), put_u32(&e, 0); /* local.get 0 */
  for (uint32_t r = 0; r < reps; r++) {
    switch ((func + r) % 5) {
    case 0: /* i32.const n; i32.add; local.tee 1 */
      put1(&e, 0x41), put_u32(&e, r * 977u % 100000u);
      put1(&e, 0x6A);
      put1(&e, 0x22), put_u32(&e, 1);
      break;
    case 1: /* block (result i32) ... br_if 0 ... end */
      put1(&e, 0x02), put1(&e, 0x7F);
      put1(&e, 0x41), put_u32(&e, r);
      put1(&e, 0x20), put_u32(&e, 0);
      put1(&e, 0x0D), put_u32(&e, 0);
      put1(&e, 0x1A); /* drop */
      put1(&e, 0x41), put_u32(&e, 7);
      put1(&e, 0x0B);
      put1(&e, 0x6A);
      break;
    case 2:                           /* x (i32.load offset=r x) i32.xor */
      put1(&e, 0x22), put_u32(&e, 1); /* local.tee 1 */
      put1(&e, 0x20), put_u32(&e, 1); /* local.get 1 */
      put1(&e, 0x28), put_u32(&e, 2), put_u32(&e, r * 4u);
      put1(&e, 0x73);
      break;
    case 3: /* call f (type (i32) -> i32); i32.const; i32.sub */
      put1(&e, 0x10), put_u32(&e, (func * 7u + r) % nfuncs);
      if (func % 4 == 0) { /* a non-minimal i32.const 5 */
        put1(&e, 0x41), put1(&e, 0x85), put1(&e, 0x00);
      } else { /* i32.const 0x12345678: five bytes, the general decoder */
        static const uint8_t k[] = {0x41, 0xF8, 0xAC, 0xD1, 0x91, 0x01};
        put(&e, k, sizeof k);
      }
      put1(&e, 0x6B);
      /* f32.const 1.5; drop; block; local.get 0; br_table 0 0 0; end */
      static const uint8_t t[] = {0x43, 0, 0,    0xC0, 0x3F, 0x1A, 0x02, 0x40,
                                  0x20, 0, 0x0E, 2,    0,    0,    0,    0x0B};
      put(&e, t, sizeof t);
      break;
    default: /* if (result i32) ... else ... end; loop */
      put1(&e, 0x04), put1(&e, 0x7F);
      put1(&e, 0x41), put_u32(&e, 1);
      put1(&e, 0x05);
      put1(&e, 0x41), put_u32(&e, 2);
      put1(&e, 0x0B);
      put1(&e, 0x03), put1(&e, 0x40), put1(&e, 0x0B); /* loop end */
      break;
    }
  }
  put1(&e, 0x0B);
  put_u32(c, (uint32_t)e.n);
  put(c, e.b, e.n);
  free(e.b);
}

/* The module: type, function, memory and code sections; *code_at gets the
 * offset of the code section's payload. */
static Out make_module(uint32_t nfuncs, size_t *code_at) {
  Out o = {0}, s = {0};
  static const uint8_t h[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  put(&o, h, sizeof h);
  static const uint8_t type[] = {1, 0x60, 1, 0x7F, 1, 0x7F};
  put(&s, type, sizeof type);
  section(&o, 1, &s);
  s.n = 0;
  put_u32(&s, nfuncs);
  for (uint32_t i = 0; i < nfuncs; i++)
    put_u32(&s, 0);
  section(&o, 3, &s);
  s.n = 0;
  static const uint8_t mem[] = {1, 0, 1};
  put(&s, mem, sizeof mem);
  section(&o, 5, &s);
  s.n = 0;
  put_u32(&s, nfuncs);
  rng_state = 42;
  for (uint32_t i = 0; i < nfuncs; i++)
    body(&s, i, nfuncs, 1 + rnd(i % 9 == 0 ? 300 : 40));
  put1(&o, 10);
  put_u32(&o, (uint32_t)s.n);
  *code_at = o.n;
  put(&o, s.b, s.n);
  free(s.b);
  return o;
}

/* ---- one full run at a given thread count ---- */

typedef struct Result {
  bool decoded, valid, encoded;
  WasyncError err;
  uint8_t *out;
  size_t out_size;
} Result;

static Result run(const uint8_t *bytes, size_t n, unsigned threads, bool defer,
                  bool validate, bool fused) {
  Result r;
  memset(&r, 0, sizeof r);
  WasyncDecodeOptions opt = {.defer_body_checks = defer,
                             .threads = threads,
                             .thread_min_bytes = 1,
                             .reencode_in_validate = fused};
  WasyncModule *m = wasync_module_decode(bytes, n, &opt, &r.err);
  r.decoded = m != NULL;
  if (m && validate) r.valid = wasync_module_validate(m, &r.err);
  if (m && (r.valid || !validate)) {
    WasyncEncodeOptions eo = {.reencode = true};
    uint8_t *out;
    if (wasync_module_encode(m, &eo, &out, &r.out_size, &r.err)) {
      r.encoded = true;
      r.out = malloc(r.out_size ? r.out_size : 1);
      if (r.out) memcpy(r.out, out, r.out_size);
      wasync_buffer_free(m, out);
    }
  }
  wasync_module_free(m);
  return r;
}

static bool same(const Result *a, const Result *b) {
  return a->decoded == b->decoded && a->valid == b->valid &&
         a->encoded == b->encoded && a->err.code == b->err.code &&
         a->err.offset == b->err.offset &&
         strcmp(a->err.message, b->err.message) == 0 &&
         a->out_size == b->out_size &&
         (a->out_size == 0 ||
          (a->out && b->out && memcmp(a->out, b->out, a->out_size) == 0));
}

static const unsigned thread_counts[] = {2, 3, 4, 7, 64};
#define NCOUNTS (sizeof thread_counts / sizeof thread_counts[0])

/* Every thread count agrees with one thread; returns the one-thread
 * result's error code. */
static WasyncErrorCode agree(const uint8_t *bytes, size_t n, bool defer,
                             bool validate) {
  Result one = run(bytes, n, 1, defer, validate, false);
  bool ok = true;
  /* one thread re-encoding while validating, then each thread count
   * without and with it */
  for (size_t i = 0; i < 1 + 2 * NCOUNTS; i++) {
    unsigned threads = i == 0 ? 1 : thread_counts[(i - 1) / 2];
    bool fused = i % 2 == 0;
    Result r = run(bytes, n, threads, defer, validate, fused);
    if (!same(&one, &r)) {
      ok = false;
      fprintf(stderr,
              "    threads %u%s: \"%s\" at 0x%llx (code %d), %zu bytes vs "
              "one thread: \"%s\" at 0x%llx (code %d), %zu bytes\n",
              threads, fused ? " (reencode_in_validate)" : "", r.err.message,
              (unsigned long long)r.err.offset, r.err.code, r.out_size,
              one.err.message, (unsigned long long)one.err.offset, one.err.code,
              one.out_size);
    }
    free(r.out);
  }
  CHECK(ok);
  free(one.out);
  return one.err.code;
}

/* ---- tests ---- */

static void test_split(void) {
  size_t code_at;
  Out o = make_module(200, &code_at);
  WasyncError err = {0};
  WasyncDecodeOptions opt = {.threads = 4, .thread_min_bytes = 1};
  WasyncModule *m = wasync_module_decode(o.b, o.n, &opt, &err);
  CHECK(m != NULL);
  if (m) {
    uint32_t bounds[WASYNC_MAX_CHUNKS + 1];
    unsigned threads;
    unsigned k = wasync_split_bodies(m, bounds, &threads);
    CHECK_EQ(threads, 4);
    CHECK(k > 4 && k <= WASYNC_MAX_CHUNKS); /* several chunks per thread */
    CHECK_EQ(bounds[0], 0);
    CHECK_EQ(bounds[k], 200);
    uint64_t total = 0, part[WASYNC_MAX_CHUNKS] = {0}, most = 0;
    for (unsigned i = 0; i < k; i++) {
      CHECK(bounds[i] < bounds[i + 1]); /* contiguous, none empty */
      for (uint32_t f = bounds[i]; f < bounds[i + 1]; f++)
        part[i] += m->funcs[f].code.size;
      total += part[i];
      if (part[i] > most) most = part[i];
    }
    /* about equal: no chunk over 4 times its share (bodies are whole) */
    CHECK(most * k <= total * 4);
    /* too little code per thread: fewer threads */
    m->thread_min_bytes = total / 2 + 1;
    CHECK_EQ(wasync_split_bodies(m, bounds, &threads), 1);
    CHECK_EQ(threads, 1);
    m->thread_min_bytes = total / 3;
    wasync_split_bodies(m, bounds, &threads);
    CHECK_EQ(threads, 3);
    m->threads = 1;
    m->thread_min_bytes = 1;
    CHECK_EQ(wasync_split_bodies(m, bounds, &threads), 1);
    CHECK_EQ(threads, 1);
    CHECK_EQ(bounds[1], 200);
  }
  wasync_module_free(m);
  free(o.b);
}

/* Fewer functions than threads: one chunk per function at most, and no
 * more threads than chunks. */
static void test_few_functions(void) {
  for (uint32_t nfuncs = 1; nfuncs <= 3; nfuncs++) {
    size_t code_at;
    Out o = make_module(nfuncs, &code_at);
    WasyncError err = {0};
    WasyncDecodeOptions opt = {.threads = 8, .thread_min_bytes = 1};
    WasyncModule *m = wasync_module_decode(o.b, o.n, &opt, &err);
    CHECK(m != NULL);
    if (m) {
      uint32_t bounds[WASYNC_MAX_CHUNKS + 1];
      unsigned threads, k = wasync_split_bodies(m, bounds, &threads);
      CHECK_EQ(k, nfuncs);
      CHECK_EQ(threads, nfuncs);
    }
    wasync_module_free(m);
    CHECK_EQ(agree(o.b, o.n, true, true), WASYNC_OK);
    free(o.b);
  }
}

static void test_valid_same_bytes(void) {
  size_t code_at;
  Out o = make_module(300, &code_at);
  CHECK_EQ(agree(o.b, o.n, true, true), WASYNC_OK);
  CHECK_EQ(agree(o.b, o.n, false, true), WASYNC_OK);
  /* the re-encoded module keeps the non-minimal LEB128s: same bytes */
  Result r = run(o.b, o.n, 4, true, true, true);
  CHECK(r.encoded && r.out_size == o.n && memcmp(r.out, o.b, o.n) == 0);
  free(r.out);
  free(o.b);
}

/* Offset of function i's first instruction byte after `local.get 0`. */
static size_t instr_at(const Out *o, size_t code_at, uint32_t func) {
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(o->b, o->n, NULL, &err);
  size_t at = 0;
  if (m) {
    const WasyncCode *c = &m->funcs[func].code;
    at = (size_t)c->offset + c->expr_start + 2;
  }
  wasync_module_free(m);
  (void)code_at;
  return at;
}

static void test_invalid_bodies(void) {
  size_t code_at;
  Out o = make_module(300, &code_at);
  /* type errors (i32.add -> f32.add) and a malformed opcode (0xFF) in
   * functions far apart, so that they fall in different runs */
  static const uint32_t funcs[] = {250, 37, 160, 3, 299};
  uint8_t *copy = malloc(o.n);
  for (size_t k = 0; k < sizeof funcs / sizeof funcs[0]; k++) {
    memcpy(copy, o.b, o.n);
    for (size_t j = k; j < sizeof funcs / sizeof funcs[0]; j++) {
      size_t at = instr_at(&o, code_at, funcs[j]);
      copy[at] = j % 2 ? 0x92 /* f32.add */ : 0xFF; /* illegal */
    }
    CHECK(agree(copy, o.n, true, true) != WASYNC_OK);
    CHECK(agree(copy, o.n, false, true) != WASYNC_OK);
    /* decoded without body checks and not validated: the encoder meets
     * the malformed bodies itself */
    agree(copy, o.n, true, false);
  }
  free(copy);
  free(o.b);
}

static void test_random_damage(void) {
  size_t code_at;
  Out o = make_module(120, &code_at);
  uint8_t *copy = malloc(o.n);
  int invalid = 0;
  rng_state = 7;
  for (int iter = 0; iter < 150; iter++) {
    memcpy(copy, o.b, o.n);
    int flips = 1 + (int)rnd(4);
    for (int f = 0; f < flips; f++) {
      size_t at = code_at + rnd((uint32_t)(o.n - code_at));
      copy[at] = (uint8_t)rnd(256);
    }
    if (agree(copy, o.n, iter % 2 == 0, true) != WASYNC_OK) invalid++;
    agree(copy, o.n, true, false);
  }
  CHECK(invalid > 50); /* the damage was seen */
  free(copy);
  free(o.b);
}

/* ---- allocation failures with several threads ----
 * A thread-safe counting allocator fails the N-th allocation (which one
 * that is depends on thread timing); for every N the module is either
 * processed as with plenty of memory or refused with "out of memory", and
 * nothing leaks. */

typedef struct Sweep {
  Out o;
  Result want;
} Sweep;

static bool parallel_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  const Sweep *sw = ctx;
  WasyncAllocator a = TEST_ALLOCATOR(t);
  WasyncDecodeOptions opt = {.allocator = &a,
                             .defer_body_checks = true,
                             .threads = 3,
                             .thread_min_bytes = 1,
                             .reencode_in_validate = n % 2 == 0};
  WasyncError err = {0};
  test_alloc_arm(t, n);
  WasyncModule *m = wasync_module_decode(sw->o.b, sw->o.n, &opt, &err);
  bool ok = m && wasync_module_validate(m, &err);
  uint8_t *out = NULL;
  size_t size = 0;
  if (ok) {
    WasyncEncodeOptions eo = {.reencode = true};
    ok = wasync_module_encode(m, &eo, &out, &size, &err);
  }
  if (ok)
    CHECK(size == sw->want.out_size && memcmp(out, sw->want.out, size) == 0);
  else
    *code = err.code;
  wasync_buffer_free(m, out);
  wasync_module_free(m);
  return ok;
}

static void test_alloc_failures(void) {
  size_t code_at;
  Sweep sw;
  sw.o = make_module(60, &code_at);
  sw.want = run(sw.o.b, sw.o.n, 1, true, true, false);
  CHECK(sw.want.encoded);
  TEST_ALLOC_SWEEP_RECOVER(parallel_attempt, &sw, 100000, 10);
  free(sw.want.out);
  free(sw.o.b);
}

int main(void) {
  RUN(test_split);
  RUN(test_few_functions);
  RUN(test_valid_same_bytes);
  RUN(test_invalid_bodies);
  RUN(test_random_damage);
  RUN(test_alloc_failures);
  return TEST_REPORT();
}
