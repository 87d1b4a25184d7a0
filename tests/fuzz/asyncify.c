/*
 * asyncify.c -- libFuzzer target: the asyncify pass on any valid module
 * either refuses it with an error or produces a valid module.
 * `make fuzz` builds build/fuzz-asyncify; `make test-fuzz` runs it after
 * the round-trip target (FUZZ_BIN=build/fuzz-asyncify scripts/fuzz.sh).
 *
 * For any input the library must not crash, leak or read out of bounds (the
 * target is built with ASan + UBSan).  For an input that decodes and
 * validates, wasync_asyncify runs with options picked from the input's
 * bytes (every import may unwind or none but asyncify.*, indirect calls
 * ignored or not, split rewind paths never / for every function / auto,
 * asserts on or off); then, else __builtin_trap():
 *
 *   1. it succeeds, or fails with an error saying why (unsupported input,
 *      an implementation limit) -- never a success without output;
 *   2. on success the module encodes, and the bytes decode and validate
 *      again, and export the five asyncify_* functions.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

static bool has_export(const WasyncModule *m, const char *name) {
  WasyncExportInfo e;
  for (uint32_t i = 0; wasync_module_export(m, i, &e); i++)
    if (e.name_len == strlen(name) && memcmp(e.name, name, e.name_len) == 0)
      return true;
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  WasyncModule *m = load(data, size);
  if (!m) return 0;
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < size; i++)
    h = (h ^ data[i]) * 16777619u;
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.ignore_imports = (h & 3) == 0;
  o.ignore_indirect = ((h >> 2) & 3) == 0;
  static const uint32_t splits[3] = {UINT32_MAX, 1, 0};
  o.split_min_sites = splits[(h >> 4) % 3];
  o.asserts = (h >> 8) & 1;

  WasyncError err;
  memset(&err, 0, sizeof err);
  if (!wasync_asyncify(m, &o, &err)) {
    CHECK(err.code == WASYNC_ERR_UNSUPPORTED || err.code == WASYNC_ERR_LIMIT ||
          err.code == WASYNC_ERR_ARGUMENT);
    CHECK(err.message[0] != '\0');
    wasync_module_free(m);
    return 0;
  }
  uint8_t *out = NULL;
  size_t out_size = 0;
  CHECK(wasync_module_encode(m, NULL, &out, &out_size, &err));
  WasyncModule *m2 = load(out, out_size);
  CHECK(m2 != NULL);
  static const char *const names[5] = {
      "asyncify_start_unwind", "asyncify_stop_unwind", "asyncify_start_rewind",
      "asyncify_stop_rewind", "asyncify_get_state"};
  for (int k = 0; k < 5; k++)
    CHECK(has_export(m2, names[k]));
  wasync_module_free(m2);
  wasync_buffer_free(m, out);
  wasync_module_free(m);
  return 0;
}
