/*
 * asyncify_features.c -- which WebAssembly features the output may use.
 *
 * The output of the pass should run wherever its input runs: by default it
 * uses only the features the input already uses or declares.  Of the
 * constructs the pass writes, only multi-value is beyond the MVP (the shared
 * frame functions of asyncify_frames.c return several values); reference
 * stacks, v128 slots and memory64 pointers appear only when the input holds
 * such values already.  A module "uses" multi-value when one of its function
 * types has more than one result; it "declares" it with "+multivalue" in the
 * target_features custom section that clang, wasm-ld and Emscripten write
 * (a vector of (prefix byte '+', '-' or '=', feature name) entries).
 */
#include <string.h>

#include "asyncify.h"
#include "reader.h"

/* A malformed target_features section declares nothing (it is only a
 * hint; the module was valid without it). */
static bool declares(const WasyncModule *m, const char *feature) {
  size_t fl = strlen(feature);
  for (uint32_t i = 0; i < m->ncustoms; i++) {
    const WasyncCustom *cs = &m->customs[i];
    if (cs->name.len != 15 || memcmp(cs->name.bytes, "target_features", 15))
      continue;
    WasyncError err;
    memset(&err, 0, sizeof err);
    WasyncReader r = {cs->payload, 0, cs->size, &err};
    uint32_t n;
    if (!wasync_read_count(&r, "feature count", 2, &n)) continue;
    for (uint32_t k = 0; k < n; k++) {
      uint8_t prefix;
      const uint8_t *name;
      uint32_t len;
      if (!wasync_read_u8(&r, "feature prefix", &prefix) ||
          !wasync_read_name(&r, "feature name", &name, &len))
        break;
      if (prefix != '-' && len == fl && memcmp(name, feature, fl) == 0)
        return true;
    }
  }
  return false;
}

bool wasync_asyncify_multivalue(const WasyncModule *m, int setting) {
  if (setting == WASYNC_FEATURE_ENABLE) return true;
  if (setting == WASYNC_FEATURE_DISABLE) return false;
  for (uint32_t t = 0; t < m->ntypes; t++)
    if (m->types[t].form == WASYNC_COMP_FUNC && m->types[t].nresults > 1)
      return true;
  return declares(m, "multivalue");
}
