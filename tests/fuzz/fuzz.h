/*
 * fuzz.h -- what the libFuzzer targets (roundtrip.c, asyncify.c) share: the
 * entry point's prototype, CHECK (a failed property traps, which libFuzzer
 * reports with the input), and loading a module.
 */
#ifndef WASYNC_FUZZ_H
#define WASYNC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "wasync.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) __builtin_trap();                                             \
  } while (0)

/* Decodes and validates; NULL if the bytes are not a valid module (then
 * with an error code set). */
static inline WasyncModule *load(const uint8_t *bytes, size_t size) {
  WasyncError err;
  memset(&err, 0, sizeof err);
  WasyncModule *m = wasync_module_decode(bytes, size, NULL, &err);
  if (!m) {
    CHECK(err.code != WASYNC_OK);
    return NULL;
  }
  if (!wasync_module_validate(m, &err)) {
    CHECK(err.code != WASYNC_OK);
    wasync_module_free(m);
    return NULL;
  }
  return m;
}

#endif
