/*
 * asyncify_sizes.c -- where the output's added bytes go (size_report,
 * `wasync asyncify --size-report`).
 *
 * Output size is one of the two numbers users weigh asyncify by, and the
 * added bytes come from a dozen different mechanisms; a reduction is only
 * worth its complexity if it attacks a large share.  So the pass measures
 * instead of estimating: every instruction the rewrite emits carries the
 * category of what it is for (RW.ocat, set in asyncify_generate.c), and
 * the finish step adds the encoded bytes of each instruction to its
 * category as it writes them (asyncify_finish.c), plus the prologue, the
 * save block, the local declarations and the split copies.  The bodies of
 * added functions (shared frame functions, runtime exports) are counted
 * after the rewrite, and the rest -- types, function and export entries,
 * names, the size prefixes of bodies and sections -- is what remains of
 * the difference once the finished module is encoded once more here.
 * The figures are exact bytes of that encoding (the one the CLI writes).
 *
 * Categories of instrumented functions count their growth: the function's
 * own instructions as re-encoded less their input bytes (labels renumbered
 * for the added blocks, moved call arguments, relaxed non-null locals),
 * the local declarations less the input's, everything else in full.
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"

static const char *const sz_name[SZ_COUNT] = {
    [SZ_COPIED] = "own instructions (re-encoding, relaxed locals)",
    [SZ_CHECK] = "unwind check after each call (const, global.get, br_if)",
    [SZ_TEMPS] = "operand stack through temps (spill/reload)",
    [SZ_COND] = "hot if conditions kept for the rewind",
    [SZ_DISPATCH] = "rewind dispatch (state check; br_table / compares)",
    [SZ_PIECES] = "piece blocks and their ends",
    [SZ_WRAP] = "function wrapper ($save/$body blocks, return, zeros)",
    [SZ_PROLOGUE] = "rewind prologue (pop frame, restore locals)",
    [SZ_SAVE] = "save block (push frame, store locals)",
    [SZ_LOCALS] = "local declarations",
    [SZ_ASSERTS] = "--asserts checks",
    [SZ_SPLIT] = "split rewind path (fast copy + trampoline)",
    [SZ_HELPERS] = "shared frame functions (push/pop, codecs)",
    [SZ_RUNTIME] = "runtime functions (asyncify_start_unwind...)",
};

/* A name for function f (before any import is removed). */
static void func_label(WasyncModule *m, uint32_t f, char *buf, size_t cap) {
  const WasyncName *names = wasync_module_func_names(m);
  if (names && names[f].bytes)
    snprintf(buf, cap, "%.*s", (int)names[f].len, (const char *)names[f].bytes);
  else
    snprintf(buf, cap, "function %u", f);
}

void wasync_asyncify_sizes_func(WasyncAsyncifyCtx *c, uint32_t f,
                                uint64_t before, uint64_t after,
                                uint32_t nsites) {
  WasyncAsyncifySizes *z = c->sizes;
  z->orig_code += before;
  z->nfuncs++;
  z->nsites += nsites;
  int64_t added = (int64_t)after - (int64_t)before;
  uint32_t k = z->ntop;
  while (k > 0 && z->top_added[k - 1] < added)
    k--;
  if (k >= SZ_TOP) return;
  uint32_t last = z->ntop < SZ_TOP ? z->ntop : SZ_TOP - 1;
  for (uint32_t j = last; j > k; j--) {
    z->top[j] = z->top[j - 1];
    z->top_added[j] = z->top_added[j - 1];
    z->top_sites[j] = z->top_sites[j - 1];
    memcpy(z->top_names[j], z->top_names[j - 1], sizeof z->top_names[j]);
  }
  z->top[k] = f;
  z->top_added[k] = added;
  z->top_sites[k] = nsites;
  func_label(c->m, f, z->top_names[k], sizeof z->top_names[k]);
  if (z->ntop < SZ_TOP) z->ntop++;
}

void wasync_asyncify_sizes_added(WasyncAsyncifyCtx *c, int cat, uint32_t from) {
  WasyncModule *m = c->m;
  int64_t n = 0;
  for (uint32_t f = from; f < m->nfuncs; f++)
    if (f >= m->nfunc_imports) n += m->funcs[f].code.size;
  if (cat == SZ_HELPERS) n -= (int64_t)c->sizes->copies;
  c->sizes->bytes[cat] += n;
}

static void row(WasyncAsyncifyCtx *c, const char *what, int64_t n, uint64_t in,
                int64_t added) {
  wasync_asyncify_log(c->o, "  %-62s %9lld %6.2f%% %6.2f%%", what, (long long)n,
                      in ? 100.0 * (double)n / (double)in : 0.0,
                      added ? 100.0 * (double)n / (double)added : 0.0);
}

bool wasync_asyncify_sizes_report(WasyncAsyncifyCtx *c, uint64_t in_size) {
  WasyncAsyncifySizes *z = c->sizes;
  uint8_t *bytes = NULL;
  size_t out_size = 0;
  if (!wasync_module_encode(c->m, NULL, &bytes, &out_size, c->err))
    return false;
  wasync_buffer_free(c->m, bytes);
  int64_t added = (int64_t)out_size - (int64_t)in_size;
  wasync_asyncify_log(
      c->o,
      "size report: input %llu bytes, output %llu bytes (%.3fx), added "
      "%lld",
      (unsigned long long)in_size, (unsigned long long)out_size,
      in_size ? (double)out_size / (double)in_size : 0.0, (long long)added);
  wasync_asyncify_log(
      c->o,
      "  %u instrumented functions (%llu bytes in the input), %u call "
      "sites that may unwind",
      z->nfuncs, (unsigned long long)z->orig_code, z->nsites);
  wasync_asyncify_log(c->o, "  %-62s %9s %7s %7s", "category", "bytes",
                      "%input", "%added");
  int64_t sum = 0;
  for (int k = 0; k < SZ_COUNT; k++) {
    sum += z->bytes[k];
    if (z->bytes[k]) row(c, sz_name[k], z->bytes[k], in_size, added);
  }
  row(c, "module level (types, entries, names, size prefixes)", added - sum,
      in_size, added);
  wasync_asyncify_log(c->o, "  functions adding the most:");
  for (uint32_t k = 0; k < z->ntop; k++)
    wasync_asyncify_log(c->o, "  %9lld  %5u sites  %s",
                        (long long)z->top_added[k], z->top_sites[k],
                        z->top_names[k]);
  return true;
}
