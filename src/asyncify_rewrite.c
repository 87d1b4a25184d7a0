/*
 * asyncify_rewrite.c -- rewrites one instrumented function (the shape of the
 * output is described at the top of asyncify.c).
 *
 * Steps, all on arrays of the RW state (asyncify_rewrite.h) reused within
 * the function:
 *   1. asyncify_mark.c: decode the body into in[]; restructure legacy trys
 *      whose catch handlers contain unwinding calls so handlers run outside
 *      the try; mark "hot" instructions (calls that may unwind and every
 *      construct containing one) and count each sequence's pieces;
 *   2. asyncify_generate.c: generate the new body into out[] (decoded
 *      instructions, plus PSEUDO_SITE markers after each unwinding call and
 *      PSEUDO_BR_UNWIND branches to the save block), stepping the validator
 *      over the original instructions to know the operand stack types;
 *   3. asyncify_finish.c: liveness (asyncify_liveness.c) over out[] gives
 *      the locals live after each call site, their union is the function's
 *      frame; then prologue (restore), body and save block are encoded --
 *      twice, as `fast` and `rewind` plus a trampoline, for a function
 *      given a split rewind path.
 * A function in which no call can unwind after all keeps its body.
 */
#include <string.h>

#include "asyncify_emit.h"
#include "asyncify_rewrite.h"

bool wasync_rewrite_grow(RW *rw, void **arr, uint32_t *cap, uint32_t need,
                         size_t size) {
  if (need <= *cap) return true;
  uint32_t nc = *cap ? *cap : 16;
  while (nc < need)
    nc *= 2;
  void *p = rw->al->realloc(rw->al->ctx, *arr, (size_t)nc * size);
  if (!p) {
    rw->oom = true;
    return false;
  }
  *arr = p;
  *cap = nc;
  return true;
}
uint32_t wasync_rewrite_add_local(RW *rw, WasyncValType t) {
  if (!GROW(rw, rw->ltypes, rw->ltypes_cap, rw->nlocals + 1)) return 0;
  rw->ltypes[rw->nlocals] = t;
  return rw->nlocals++;
}

static void rw_free(RW *rw) {
  const WasyncAllocator *al = rw->al;
  al->free(al->ctx, rw->order);
  al->free(al->ctx, rw->rm_at);
  al->free(al->ctx, rw->rm_ins);
  al->free(al->ctx, rw->rm_taken);
  al->free(al->ctx, rw->in);
  al->free(al->ctx, rw->hot);
  al->free(al->ctx, rw->out);
  al->free(al->ctx, rw->ocat);
  al->free(al->ctx, rw->ltypes);
  al->free(al->ctx, rw->lfix);
  al->free(al->ctx, rw->temps);
  al->free(al->ctx, rw->temp_head);
  al->free(al->ctx, rw->fr);
  al->free(al->ctx, rw->conds);
  al->free(al->ctx, rw->cond_pool);
  al->free(al->ctx, rw->pieces_at);
  al->free(al->ctx, rw->pfirst);
  al->free(al->ctx, rw->seqs);
  al->free(al->ctx, rw->path);
  al->free(al->ctx, rw->sites);
}

bool wasync_asyncify_function(WasyncAsyncifyCtx *c, uint32_t func,
                              WasyncFuncValidator *v) {
  RW rw;
  memset(&rw, 0, sizeof rw);
  rw.c = c;
  rw.m = c->m;
  rw.err = c->err;
  rw.v = v;
  rw.al = c->m->arena.allocator;
  rw.func = func;
  bool ok = false;
  if (!wasync_rewrite_decode(&rw)) goto out;
  for (;;) {
    uint32_t t = wasync_rewrite_mark_hot(&rw);
    if (rw.oom || t == UINT32_MAX) break;
    if (!wasync_rewrite_restructure_try(&rw, t)) goto out;
  }
  if (rw.oom || !wasync_rewrite_count_pieces(&rw)) goto out;
  bool any = false;
  for (uint32_t i = 0; i < rw.nin && !any; i++)
    any = rw.hot[i] && is_call(rw.in[i].op);
  if (!any) { /* nothing can unwind here: keep the body as it is */
    ok = true;
    goto out;
  }
  const WasyncSubType *ft = wasync_func_type(rw.m, func);
  for (uint32_t r = 0; r < ft->nresults; r++)
    if (needs_as_non_null(ft->results[r])) {
      wasync_fail(c->err, WASYNC_ERR_UNSUPPORTED, rw.m->funcs[func].code.offset,
                  "asyncify: function %u returns a non-null reference and "
                  "may unwind (an unwinding function must return a dummy "
                  "value)",
                  func);
      goto out;
    }
  if (!wasync_funcv_begin(v, func)) {
    rw.bad = true;
    goto out;
  }
  rw.nparams = ft->nparams;
  uint32_t nl = wasync_funcv_local_count(v);
  rw.lfix = rw.al->alloc(rw.al->ctx, (size_t)nl + 1);
  if (!rw.lfix) {
    rw.oom = true;
    goto out;
  }
  for (uint32_t x = 0; x < nl; x++) {
    WasyncValType t = wasync_funcv_local_type(v, x);
    rw.lfix[x] = 0;
    if (x >= rw.nparams && needs_as_non_null(t)) {
      rw.lfix[x] = 1;
      t = nullable(t);
    }
    wasync_rewrite_add_local(&rw, t);
  }
  rw.norig_locals = nl;
  rw.ci = wasync_rewrite_add_local(&rw, WASYNC_VT_I32);
  rw.p =
      wasync_rewrite_add_local(&rw, c->mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32);
  if (rw.oom) goto out;
  if (!wasync_rewrite_generate(&rw)) goto out;
  rw.split = c->split && c->split[func];
  ok = wasync_rewrite_finish(&rw);
out:
  if (rw.oom)
    wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  else if (!ok && rw.bad)
    wasync_fail(c->err, WASYNC_ERR_INVALID, rw.m->funcs[func].code.offset,
                "asyncify: function %u could not be rewritten", func);
  rw_free(&rw);
  return ok;
}
