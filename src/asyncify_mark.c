/*
 * asyncify_mark.c -- step 1 of rewriting an instrumented function: decode
 * its body into in[] and mark what is hot.
 *
 * A call is hot when it may unwind (asyncify_analysis.c), a construct when
 * it contains a hot call; everything else is cold and will run unguarded,
 * byte for byte as before.  Every nesting level that holds hot
 * instructions (the body, a hot construct's body, an else arm) is a
 * "sequence"; its hot instructions are its "pieces", counted here so that
 * generation (asyncify_generate.c) can open one block per piece up front.
 *
 * A rewind must be able to jump back into the middle of any hot construct,
 * which a legacy `catch` handler does not allow (it can only be entered by
 * a throw).  A `try` whose handler holds a hot call is therefore first
 * restructured so that its handlers run outside it (restructure_try); the
 * marking then starts again on the new in[].
 */
#include <string.h>

#include "asyncify_emit.h"
#include "asyncify_rewrite.h"

bool wasync_rewrite_decode(RW *rw) {
  const WasyncCode *code = &rw->m->funcs[rw->func].code;
  WasyncInstrReader ir;
  body_reader(rw->m, code, rw->err, &ir);
  rw->nin = 0;
  bool ok = true;
  while (ir.r.pos < ir.r.end) {
    if (!GROW(rw, rw->in, rw->in_cap, rw->nin + 1)) {
      ok = false;
      break;
    }
    WasyncInstr *in = &rw->in[rw->nin];
    if (!wasync_instr_decode(&ir, in)) {
      ok = false;
      break;
    }
    /* Copy scratch-owned immediates. */
    if (in->op == WASYNC_OP_BR_TABLE) {
      uint32_t *l = wasync_arena_array(&rw->m->arena,
                                       (size_t)in->imm.br_table.count + 1, 4);
      if (!l) {
        rw->oom = true;
        ok = false;
        break;
      }
      if (in->imm.br_table.count)
        memcpy(l, in->imm.br_table.labels, (size_t)in->imm.br_table.count * 4);
      in->imm.br_table.labels = l;
    } else if (in->op == WASYNC_OP_SELECT_T) {
      WasyncValType *t = wasync_arena_array(
          &rw->m->arena, (size_t)in->imm.select.count + 1, sizeof *t);
      if (!t) {
        rw->oom = true;
        ok = false;
        break;
      }
      if (in->imm.select.count)
        memcpy(t, in->imm.select.types,
               (size_t)in->imm.select.count * sizeof *t);
      in->imm.select.types = t;
    } else if (in->op == WASYNC_OP_TRY_TABLE) {
      WasyncCatch *cs = wasync_arena_array(
          &rw->m->arena, (size_t)in->imm.try_table.count + 1, sizeof *cs);
      if (!cs) {
        rw->oom = true;
        ok = false;
        break;
      }
      if (in->imm.try_table.count)
        memcpy(cs, in->imm.try_table.catches,
               (size_t)in->imm.try_table.count * sizeof *cs);
      in->imm.try_table.catches = cs;
    }
    rw->nin++;
  }
  wasync_instr_reader_release(&ir);
  return ok && !rw->oom;
}

/* Marks hot instructions (see asyncify_rewrite.h). */
uint32_t wasync_rewrite_mark_hot(RW *rw) {
  if (!GROW(rw, rw->hot, rw->hot_cap, rw->nin + 1)) return UINT32_MAX;
  memset(rw->hot, 0, rw->nin);
  uint32_t *stk = NULL, stk_cap = 0, nstk = 0;
  uint8_t *handler = NULL;
  uint32_t handler_cap = 0, found = UINT32_MAX;
  for (uint32_t i = 0; i < rw->nin && found == UINT32_MAX; i++) {
    const WasyncInstr *in = &rw->in[i];
    uint16_t op = in->op;
    if (is_opener(op)) {
      if (!GROW(rw, stk, stk_cap, nstk + 1) ||
          !GROW(rw, handler, handler_cap, nstk + 1))
        break;
      handler[nstk] = 0;
      stk[nstk++] = i;
    } else if (op == WASYNC_OP_CATCH || op == WASYNC_OP_CATCH_ALL) {
      if (nstk) handler[nstk - 1] = 1;
    } else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) {
      if (nstk) nstk--;
    } else if (is_call(op) &&
               wasync_asyncify_call_unwinds(rw->m, rw->c->a, rw->func, in)) {
      rw->hot[i] = 1;
      for (uint32_t k = nstk; k-- > 0;) {
        if (handler[k]) {
          found = stk[k];
          break;
        }
        rw->hot[stk[k]] = 1;
      }
    }
  }
  rw->al->free(rw->al->ctx, stk);
  rw->al->free(rw->al->ctx, handler);
  return found;
}

/* Counts the hot pieces of every hot sequence (function body, bodies of
 * hot constructs, else arms). */
bool wasync_rewrite_count_pieces(RW *rw) {
  if (!GROW(rw, rw->pieces_at, rw->pieces_cap, rw->nin + 1)) return false;
  memset(rw->pieces_at, 0, (size_t)rw->nin * 4);
  rw->fn_pieces = 0;
  /* A stack of sequence keys: FN (the body), an in[] index, or NONE (a cold
   * frame or a handler region, where nothing is counted). */
  const uint32_t FN = UINT32_MAX, NONE = UINT32_MAX - 1;
  uint32_t *stk = NULL, cap = 0, n = 0;
  if (!GROW(rw, stk, cap, 1)) return false;
  stk[n++] = FN;
  bool ok = true;
  for (uint32_t i = 0; i < rw->nin && n > 0; i++) {
    uint16_t op = rw->in[i].op;
    uint32_t top = stk[n - 1];
    if (rw->hot[i] && top != NONE) {
      if (top == FN)
        rw->fn_pieces++;
      else
        rw->pieces_at[top]++;
    }
    if (is_opener(op)) {
      if (!GROW(rw, stk, cap, n + 1)) {
        ok = false;
        break;
      }
      stk[n++] = rw->hot[i] ? i : NONE;
    } else if (op == WASYNC_OP_ELSE) {
      if (top != NONE) stk[n - 1] = i;
    } else if (op == WASYNC_OP_CATCH || op == WASYNC_OP_CATCH_ALL) {
      stk[n - 1] = NONE;
    } else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) {
      n--;
    }
  }
  rw->al->free(rw->al->ctx, stk);
  return ok;
}

/* A block type [] -> params of tag `tag`. */
static bool tag_block(RW *rw, uint32_t tag, WasyncBlockType *bt) {
  const WasyncModule *m = rw->m;
  const WasyncSubType *tt = &m->types[m->tags[tag].type];
  memset(bt, 0, sizeof *bt);
  if (tt->nparams == 0) {
    bt->kind = WASYNC_BLOCK_EMPTY;
    return true;
  }
  if (tt->nparams == 1) {
    bt->kind = WASYNC_BLOCK_VALUE;
    bt->value = tt->params[0];
    return true;
  }
  for (uint32_t t = 0; t < m->ntypes; t++) {
    const WasyncSubType *st = &m->types[t];
    if (st->form == WASYNC_COMP_FUNC && st->nparams == 0 &&
        st->nresults == tt->nparams &&
        memcmp(st->results, tt->params, tt->nparams * sizeof *st->results) ==
            0) {
      bt->kind = WASYNC_BLOCK_INDEX;
      bt->index = t;
      return true;
    }
  }
  return false;
}

static bool refuse_try(RW *rw, const WasyncInstr *at, const char *why) {
  wasync_fail(rw->err, WASYNC_ERR_UNSUPPORTED, at->offset,
              "asyncify: a call that may unwind inside a catch handler "
              "(function %u): %s",
              rw->func, why);
  rw->bad = true;
  return false;
}

/* Adds `add` to label L of `in` when L >= depth (it leaves the region). */
static void shift_labels(WasyncInstr *in, uint32_t depth, uint32_t add) {
  switch (in->op) {
  case WASYNC_OP_BR:
  case WASYNC_OP_BR_IF:
  case WASYNC_OP_BR_ON_NULL:
  case WASYNC_OP_BR_ON_NON_NULL:
  case WASYNC_OP_RETHROW:
  case WASYNC_OP_DELEGATE:
    if (in->imm.index >= depth) in->imm.index += add;
    break;
  case WASYNC_OP_BR_ON_CAST:
  case WASYNC_OP_BR_ON_CAST_FAIL:
    if (in->imm.br_on_cast.label >= depth) in->imm.br_on_cast.label += add;
    break;
  case WASYNC_OP_BR_TABLE: {
    uint32_t *l = (uint32_t *)(uintptr_t)in->imm.br_table.labels;
    for (uint32_t k = 0; k < in->imm.br_table.count; k++)
      if (l[k] >= depth) l[k] += add;
    if (in->imm.br_table.default_label >= depth)
      in->imm.br_table.default_label += add;
    break;
  }
  case WASYNC_OP_TRY_TABLE: {
    WasyncCatch *cs = (WasyncCatch *)(uintptr_t)in->imm.try_table.catches;
    for (uint32_t k = 0; k < in->imm.try_table.count; k++)
      if (cs[k].label >= depth) cs[k].label += add;
    break;
  }
  default: break;
  }
}

/*
 * Restructures `try bt B catch e1 H1 ... catch_all Hn end` so that the
 * handlers run outside the try (and can therefore be rewound into):
 *
 *   block bt $exit
 *     block $hn ... block (result params(e1)) $h1
 *       try bt B catch e1 br 1 ... catch_all br n end
 *       br n                      ;; to $exit with the results
 *     end  H1  br n-1
 *     ...
 *     end  Hn
 *   end
 *
 * Labels leaving B grow by n+1, labels in Hk reaching the try or beyond by
 * n-k.  A `rethrow` of the try's own exception inside a handler cannot be
 * expressed outside the catch: refused, as are trys with parameters.
 */
bool wasync_rewrite_restructure_try(RW *rw, uint32_t t) {
  WasyncInstr *in = rw->in;
  const WasyncInstr *T = &in[t];
  if (T->imm.block.kind == WASYNC_BLOCK_INDEX &&
      rw->m->types[T->imm.block.index].nparams > 0)
    return refuse_try(rw, T, "try blocks with parameters are not supported");
  /* Find the catches and the end at T's depth. */
  uint32_t ncatch = 0, e = UINT32_MAX, depth = 0;
  for (uint32_t i = t + 1; i < rw->nin; i++) {
    uint16_t op = in[i].op;
    if (is_opener(op))
      depth++;
    else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) {
      if (depth == 0) {
        e = i;
        break;
      }
      depth--;
    } else if ((op == WASYNC_OP_CATCH || op == WASYNC_OP_CATCH_ALL) &&
               depth == 0)
      ncatch++;
  }
  if (e == UINT32_MAX || ncatch == 0) return refuse_try(rw, T, "malformed try");
  uint32_t n = ncatch;
  size_t cap = (size_t)rw->nin + 3 * n + 4;
  WasyncInstr *o = rw->al->alloc(rw->al->ctx, cap * sizeof *o);
  if (!o) {
    rw->oom = true;
    return false;
  }
  uint32_t no = 0;
  for (uint32_t i = 0; i < t; i++)
    o[no++] = in[i];
  WasyncInstr x;
  memset(&x, 0, sizeof x);
  x.offset = T->offset;
  x.op = WASYNC_OP_BLOCK;
  x.imm.block = T->imm.block;
  o[no++] = x; /* $exit */
  /* Catch clauses in order, to open $hn ... $h1. */
  uint32_t *cidx = rw->al->alloc(rw->al->ctx, ((size_t)n + 1) * 4);
  if (!cidx) {
    rw->al->free(rw->al->ctx, o);
    rw->oom = true;
    return false;
  }
  depth = 0;
  uint32_t k = 0;
  for (uint32_t i = t + 1; i < e; i++) {
    uint16_t op = in[i].op;
    if (is_opener(op))
      depth++;
    else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE)
      depth--;
    else if ((op == WASYNC_OP_CATCH || op == WASYNC_OP_CATCH_ALL) && depth == 0)
      cidx[k++] = i;
  }
  bool ok = true;
  for (uint32_t j = n; j-- > 0 && ok;) {
    memset(&x, 0, sizeof x);
    x.offset = T->offset;
    x.op = WASYNC_OP_BLOCK;
    if (in[cidx[j]].op == WASYNC_OP_CATCH)
      ok = tag_block(rw, in[cidx[j]].imm.index, &x.imm.block);
    else
      x.imm.block.kind = WASYNC_BLOCK_EMPTY;
    o[no++] = x;
  }
  if (!ok) {
    rw->al->free(rw->al->ctx, o);
    rw->al->free(rw->al->ctx, cidx);
    return refuse_try(rw, T,
                      "a tag with several values and no matching "
                      "block type");
  }
  o[no++] = *T; /* try */
  /* Body, labels leaving it shifted by n + 1. */
  depth = 0;
  for (uint32_t i = t + 1; i < cidx[0]; i++) {
    WasyncInstr y = in[i];
    if (y.op == WASYNC_OP_END || y.op == WASYNC_OP_DELEGATE) depth--;
    shift_labels(&y, depth + 1, n + 1);
    if (is_opener(y.op)) depth++;
    o[no++] = y;
  }
  for (uint32_t j = 0; j < n; j++) {
    o[no++] = in[cidx[j]]; /* catch / catch_all */
    memset(&x, 0, sizeof x);
    x.offset = T->offset;
    x.op = WASYNC_OP_BR;
    x.imm.index = j + 1;
    o[no++] = x;
  }
  memset(&x, 0, sizeof x);
  x.offset = T->offset;
  x.op = WASYNC_OP_END;
  o[no++] = x; /* end try */
  x.op = WASYNC_OP_BR;
  x.imm.index = n;
  o[no++] = x;
  for (uint32_t j = 0; j < n && ok; j++) {
    memset(&x, 0, sizeof x);
    x.offset = T->offset;
    x.op = WASYNC_OP_END;
    o[no++] = x; /* end $h(j+1) */
    uint32_t hend = j + 1 < n ? cidx[j + 1] : e;
    uint32_t add = n - (j + 1);
    depth = 0;
    for (uint32_t i = cidx[j] + 1; i < hend; i++) {
      WasyncInstr y = in[i];
      if (y.op == WASYNC_OP_END || y.op == WASYNC_OP_DELEGATE) depth--;
      if (y.op == WASYNC_OP_RETHROW && y.imm.index == depth) {
        ok = false;
        break;
      }
      shift_labels(&y, depth, add);
      if (is_opener(y.op)) depth++;
      o[no++] = y;
    }
    if (ok && j + 1 < n) {
      memset(&x, 0, sizeof x);
      x.offset = T->offset;
      x.op = WASYNC_OP_BR;
      x.imm.index = add;
      o[no++] = x;
    }
  }
  rw->al->free(rw->al->ctx, cidx);
  if (!ok) {
    rw->al->free(rw->al->ctx, o);
    return refuse_try(rw, T, "the handler rethrows the caught exception");
  }
  memset(&x, 0, sizeof x);
  x.offset = T->offset;
  x.op = WASYNC_OP_END;
  o[no++] = x; /* end $exit */
  for (uint32_t i = e + 1; i < rw->nin; i++)
    o[no++] = in[i];
  rw->al->free(rw->al->ctx, rw->in);
  rw->in = o;
  rw->nin = no;
  rw->in_cap = (uint32_t)cap;
  return true;
}
