/*
 * roundtrip.c -- libFuzzer target: decoding, validation and encoding agree
 * with each other.  `make fuzz` builds build/fuzz-roundtrip;
 * `scripts/fuzz.sh SECONDS` runs it.
 *
 * For any input the library must not crash, leak or read out of bounds (the
 * target is built with ASan + UBSan).  For an input that decodes and
 * validates (module M) these properties must hold, else __builtin_trap():
 *
 *   1. copy-through encoding succeeds, and its output decodes and validates
 *      again (M2);
 *   2. re-encoding succeeds for M and for M2, and both give the same bytes R:
 *      the copy-through output describes the same module as the input;
 *   3. R decodes and validates (M3), and re-encoding M3 gives R again:
 *      re-encoding is idempotent, i.e. R is the canonical form of M and a
 *      fixed point of decode + re-encode.
 *
 * (Re-encoding M itself need not reproduce the input: inputs may use
 * non-canonical LEB128s and other encoding freedoms.)
 *
 * And for every input: 4. with function bodies on three threads (each body
 * its own run) and re-encoded while they are validated
 * (reencode_in_validate), decoding, validation and re-encoding give the
 * same verdict, the same error (message and offset) and the same bytes as
 * one thread validating, then re-encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint8_t *encode(const WasyncModule *m, bool reencode, size_t *size) {
  WasyncError err;
  memset(&err, 0, sizeof err);
  WasyncEncodeOptions opts;
  memset(&opts, 0, sizeof opts);
  opts.reencode = reencode;
  uint8_t *out = NULL;
  *size = 0;
  bool ok = wasync_module_encode(m, &opts, &out, size, &err);
  CHECK(ok && out != NULL);
  return out;
}

/* Decode (bodies deferred) + validate + re-encode with `threads`; returns
 * 0 (not decoded), 1 (invalid) or 2 (valid, *out set). */
static int run_threads(const uint8_t *bytes, size_t size, unsigned threads,
                       bool fused, WasyncError *err, uint8_t **out,
                       size_t *out_size) {
  memset(err, 0, sizeof *err);
  *out = NULL;
  *out_size = 0;
  WasyncDecodeOptions opt;
  memset(&opt, 0, sizeof opt);
  opt.defer_body_checks = true;
  opt.threads = threads;
  opt.thread_min_bytes = 1;
  opt.reencode_in_validate = fused;
  WasyncModule *m = wasync_module_decode(bytes, size, &opt, err);
  if (!m) return 0;
  int state = 1;
  if (wasync_module_validate(m, err)) {
    WasyncEncodeOptions eo;
    memset(&eo, 0, sizeof eo);
    eo.reencode = true;
    uint8_t *enc = NULL;
    CHECK(wasync_module_encode(m, &eo, &enc, out_size, err));
    *out = malloc(*out_size ? *out_size : 1);
    CHECK(*out != NULL);
    memcpy(*out, enc, *out_size);
    wasync_buffer_free(m, enc);
    state = 2;
  }
  wasync_module_free(m);
  return state;
}

static void check_threads(const uint8_t *data, size_t size) {
  WasyncError e1, e3;
  uint8_t *o1, *o3;
  size_t n1, n3;
  int s1 = run_threads(data, size, 1, false, &e1, &o1, &n1);
  int s3 = run_threads(data, size, 3, true, &e3, &o3, &n3);
  CHECK(s1 == s3 && e1.code == e3.code && e1.offset == e3.offset &&
        strcmp(e1.message, e3.message) == 0 && n1 == n3 &&
        (n1 == 0 || memcmp(o1, o3, n1) == 0));
  free(o1);
  free(o3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_threads(data, size);
  WasyncModule *m = load(data, size);
  if (!m) return 0;

  /* 1. copy-through output is a valid module */
  size_t copy_size;
  uint8_t *copy = encode(m, false, &copy_size);
  WasyncModule *m2 = load(copy, copy_size);
  CHECK(m2 != NULL);

  /* 2. re-encoding the input and the copy-through output agree */
  size_t r_size, r2_size;
  uint8_t *r = encode(m, true, &r_size);
  uint8_t *r2 = encode(m2, true, &r2_size);
  CHECK(r_size == r2_size && memcmp(r, r2, r_size) == 0);

  /* 3. re-encoding is idempotent */
  WasyncModule *m3 = load(r, r_size);
  CHECK(m3 != NULL);
  size_t r3_size;
  uint8_t *r3 = encode(m3, true, &r3_size);
  CHECK(r3_size == r_size && memcmp(r3, r, r_size) == 0);

  wasync_buffer_free(m3, r3);
  wasync_module_free(m3);
  wasync_buffer_free(m2, r2);
  wasync_module_free(m2);
  wasync_buffer_free(m, r);
  wasync_buffer_free(m, copy);
  wasync_module_free(m);
  return 0;
}
