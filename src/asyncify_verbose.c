/*
 * asyncify_verbose.c -- Binaryen's asyncify-verbose report.
 *
 * `wasm-opt --asyncify --pass-arg=asyncify-verbose` prints, while it
 * analyses the module, one line per function that can change the state
 * (unwind), and Emscripten's ASYNCIFY_ADVISE shows exactly those lines to
 * its users:
 *
 *   [asyncify] NAME is an import that can change the state
 *   [asyncify] NAME can change the state due to initial scan
 *   [asyncify] NAME can change the state due to CALLEE
 *   [asyncify] NAME is in the add-list, add
 *   [asyncify] NAME's state is set based on the only-list to 0|1
 *
 * "initial scan" is a function that unwinds by itself: it makes an
 * indirect call that may unwind or calls the in-module asyncify.* start.
 * The same facts are in the analysis (flags and the `why` chain, see
 * asyncify_analysis.c); they are printed here in Binaryen's words and
 * order -- imports, then the functions found by the scan, then each wave of
 * callers -- with Binaryen's names: the name section's, else fimport$N for
 * the Nth imported function and the index among defined functions for a
 * defined one.  Functions in the remove-list are not listed (Binaryen skips
 * them too).
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"

static void bname(WasyncModule *m, uint32_t f, char *buf, size_t cap) {
  const WasyncName *names = wasync_module_func_names(m);
  if (names && names[f].bytes)
    snprintf(buf, cap, "%.*s", (int)names[f].len, (const char *)names[f].bytes);
  else if (f < m->nfunc_imports)
    snprintf(buf, cap, "fimport$%u", f);
  else
    snprintf(buf, cap, "%u", f - m->nfunc_imports);
}

static void say(const WasyncAsyncifyOptions *o, const char *name,
                const char *what, const char *reason) {
  if (!o->log) return;
  char line[1200];
  snprintf(line, sizeof line, "[asyncify] %s%s%s", name, what,
           reason ? reason : "");
  o->log(o->log_ctx, line);
}

/* Whether f is listed in a wave of its own: it can change the state and
 * is not remove-listed nor only add-listed. */
static bool listed_can_change(const WasyncAsyncifyAnalysis *a, uint32_t f,
                              bool only) {
  uint8_t fl = a->flags[f];
  if (!(fl & AFN_CAN_CHANGE) || (fl & (AFN_REMOVED | AFN_RUNTIME)))
    return false;
  if (!only && (fl & AFN_ADDED) && a->why[f] == UINT32_MAX &&
      !(fl & AFN_TOPMOST))
    return false;
  return true;
}

void wasync_asyncify_binaryen_verbose(WasyncAsyncifyCtx *c) {
  WasyncModule *m = c->m;
  const WasyncAsyncifyAnalysis *a = c->a;
  const WasyncAsyncifyOptions *o = c->o;
  bool only = o->only_list.count > 0;
  uint32_t nf = a->nfuncs;
  char name[512], reason[600];
  for (uint32_t f = 0; f < m->nfunc_imports; f++)
    if (listed_can_change(a, f, only)) {
      bname(m, f, name, sizeof name);
      say(o, name, " is an import that can change the state", NULL);
    }
  /* The wave of each defined function: 1 for the scan's finds, 1 + the
   * wave of the callee that made it otherwise (imports are wave 0). */
  uint32_t *wave = wasync_arena_array(&m->arena, nf + 1, sizeof *wave);
  uint32_t *chain = wasync_arena_array(&m->arena, nf + 1, sizeof *chain);
  if (!wave || !chain) return; /* out of memory: no report */
  for (uint32_t f = 0; f < nf; f++)
    wave[f] = f < m->nfunc_imports ? 0 : UINT32_MAX;
  uint32_t max = 0;
  for (uint32_t f = m->nfunc_imports; f < nf; f++) {
    uint32_t n = 0, g = f;
    while (g < nf && wave[g] == UINT32_MAX && n < nf) {
      chain[n++] = g;
      uint32_t w = a->why[g];
      if (w >= nf || (w < nf && (a->flags[w] & AFN_RUNTIME))) {
        wave[g] = 1; /* initial scan (or a seed) */
        n--;
        break;
      }
      g = w;
    }
    uint32_t base = g < nf && wave[g] != UINT32_MAX ? wave[g] : 1;
    while (n > 0) /* the chain, innermost first */
      wave[chain[--n]] = ++base;
    if (wave[f] != UINT32_MAX && wave[f] > max) max = wave[f];
  }
  for (uint32_t d = 1; d <= max; d++)
    for (uint32_t f = m->nfunc_imports; f < nf; f++) {
      if (wave[f] != d || !listed_can_change(a, f, only)) continue;
      uint32_t w = a->why[f];
      bname(m, f, name, sizeof name);
      if (w >= nf || (a->flags[w] & AFN_RUNTIME)) {
        snprintf(reason, sizeof reason, "initial scan");
      } else {
        bname(m, w, reason, sizeof reason);
      }
      say(o, name, " can change the state due to ", reason);
    }
  if (!only) {
    for (uint32_t f = m->nfunc_imports; f < nf; f++)
      if ((a->flags[f] & AFN_ADDED) && !(a->flags[f] & AFN_REMOVED) &&
          a->why[f] == UINT32_MAX && !(a->flags[f] & AFN_TOPMOST)) {
        bname(m, f, name, sizeof name);
        say(o, name, " is in the add-list, add", NULL);
      }
  } else {
    for (uint32_t f = m->nfunc_imports; f < nf; f++) {
      bname(m, f, name, sizeof name);
      say(o, name, "'s state is set based on the only-list to ",
          (a->flags[f] & AFN_ADDED) ? "1" : "0");
    }
  }
}
