/*
 * asyncify_liveness.c -- which locals are live after each call site.
 *
 * A backward dataflow over a structured instruction array (the rewritten
 * body, before encoding).  Going backwards, `end` opens a frame and the
 * opener closes it.  Each frame has a label set: what is live where a
 * branch to it lands -- after the `end` for block/if/try/try_table, at the
 * start for a loop.  Loop label sets start empty and only grow; the whole
 * pass is repeated until none changes (a fixpoint, normally 2-3 passes).
 * Transfer: local.get adds its local, local.set/tee remove theirs; br sets
 * live to the target's label set, br_if/br_on_* add it, br_table takes the
 * union; return/unreachable/throw/rethrow/throw_ref empty it.  An `if`
 * joins its two arms (or the arm and the fall-through).  Inside a try or
 * try_table every point may also jump to a handler, so the handlers' live
 * sets (the live set at each catch of a legacy try, the label sets of a
 * try_table's catch targets) are added after every instruction there.
 * At each PSEUDO_SITE marker the live set is recorded for that site.
 *
 * Data layout: bitsets of W 64-bit words; per nesting level four sets
 * (label, after-end, else, handlers) in one pool sized by the maximum depth;
 * one set per loop.
 */
#include <string.h>

#include "asyncify.h"

typedef struct LFrame {
  uint16_t op;
  uint32_t loop; /* loop set index for loops */
  bool has_else;
} LFrame;

bool wasync_asyncify_liveness(const WasyncInstr *code, uint32_t n,
                              uint16_t site_op, uint32_t nlocals,
                              uint32_t nsites, uint64_t *site_bits,
                              const WasyncAllocator *al) {
  size_t W = ((size_t)nlocals + 63) / 64;
  if (W == 0) W = 1;
  /* Depth and loops. */
  uint32_t depth = 1, maxd = 1, nloops = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint16_t op = code[i].op;
    if (op == WASYNC_OP_BLOCK || op == WASYNC_OP_LOOP || op == WASYNC_OP_IF ||
        op == WASYNC_OP_TRY || op == WASYNC_OP_TRY_TABLE) {
      if (++depth > maxd) maxd = depth;
      if (op == WASYNC_OP_LOOP) nloops++;
    } else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) {
      depth--;
    }
  }
  maxd += 1;
  size_t pool_words = (size_t)maxd * 5 * W + (size_t)(nloops + 1) * W;
  uint64_t *pool = al->alloc(al->ctx, pool_words * 8);
  LFrame *fr = al->alloc(al->ctx, (size_t)maxd * sizeof *fr);
  uint32_t *loop_of = al->alloc(al->ctx, ((size_t)n + 1) * 4);
  if (!pool || !fr || !loop_of) {
    al->free(al->ctx, pool);
    al->free(al->ctx, fr);
    al->free(al->ctx, loop_of);
    return false;
  }
  memset(pool, 0, pool_words * 8);
  uint64_t *loops = pool + (size_t)maxd * 5 * W;
  uint64_t *live = loops + (size_t)nloops * W;
  /* loop_of[i]: for a loop opener its loop number; for an end/delegate
   * the index of its opener (a stack of openers in the top of `fr`-sized
   * scratch reused from the pool is not needed: use loop_of itself). */
  uint32_t *match = al->alloc(al->ctx, ((size_t)n + 1) * 4);
  uint32_t *stk = al->alloc(al->ctx, ((size_t)maxd + 1) * 4);
  if (!match || !stk) {
    al->free(al->ctx, pool);
    al->free(al->ctx, fr);
    al->free(al->ctx, loop_of);
    al->free(al->ctx, match);
    al->free(al->ctx, stk);
    return false;
  }
  uint32_t li = 0, sp = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint16_t op = code[i].op;
    loop_of[i] = op == WASYNC_OP_LOOP ? li++ : 0;
    match[i] = UINT32_MAX;
    if (op == WASYNC_OP_BLOCK || op == WASYNC_OP_LOOP || op == WASYNC_OP_IF ||
        op == WASYNC_OP_TRY || op == WASYNC_OP_TRY_TABLE) {
      if (sp < maxd) stk[sp++] = i;
    } else if ((op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) && sp > 0) {
      match[i] = stk[--sp];
    }
  }
  al->free(al->ctx, stk);

#define LBL(d) (pool + ((size_t)(d)*5 + 0) * W) /* label set */
#define AFT(d) (pool + ((size_t)(d)*5 + 1) * W) /* live after end */
#define ELS(d) (pool + ((size_t)(d)*5 + 2) * W) /* else-arm entry */
#define EXC(d) (pool + ((size_t)(d)*5 + 3) * W) /* own handlers */
#define EXA(d) (pool + ((size_t)(d)*5 + 4) * W) /* all handlers */

  bool changed = true;
  while (changed) { /* monotone: terminates */
    changed = false;
    memset(live, 0, W * 8);
    uint32_t d = 0; /* frame 0: the function (label = empty) */
    memset(pool, 0, (size_t)maxd * 5 * W * 8);
    fr[0].op = WASYNC_OP_CALL;
    for (uint32_t i = n; i-- > 0;) {
      const WasyncInstr *in = &code[i];
      switch (in->op) {
      case WASYNC_OP_END: {
        /* Find the opener's kind: scan is avoided by recording it when the
         * opener is met; here we only need it for loops, known later. */
        d++;
        memcpy(AFT(d), live, W * 8);
        memcpy(LBL(d), live, W * 8);
        memset(ELS(d), 0, W * 8);
        memset(EXC(d), 0, W * 8);
        memcpy(EXA(d), EXA(d - 1), W * 8);
        fr[d].op = WASYNC_OP_END;
        fr[d].has_else = false;
        uint32_t o = match[i];
        if (o != UINT32_MAX && code[o].op == WASYNC_OP_LOOP)
          memcpy(LBL(d), loops + (size_t)loop_of[o] * W, W * 8);
        if (o != UINT32_MAX && code[o].op == WASYNC_OP_TRY_TABLE) {
          const WasyncInstr *tt = &code[o];
          for (uint32_t k = 0; k < tt->imm.try_table.count; k++) {
            uint32_t l = tt->imm.try_table.catches[k].label;
            if (l > d - 1) continue;
            const uint64_t *s = LBL(d - 1 - l);
            for (size_t w = 0; w < W; w++) {
              EXC(d)[w] |= s[w];
              EXA(d)[w] |= s[w];
            }
          }
        }
        break;
      }
      case WASYNC_OP_DELEGATE:
        d++;
        memcpy(AFT(d), live, W * 8);
        memcpy(LBL(d), live, W * 8);
        memset(EXC(d), 0, W * 8);
        memcpy(EXA(d), EXA(d - 1), W * 8);
        fr[d].op = WASYNC_OP_DELEGATE;
        fr[d].has_else = false;
        break;
      case WASYNC_OP_ELSE:
        memcpy(ELS(d), live, W * 8);
        fr[d].has_else = true;
        memcpy(live, AFT(d), W * 8);
        break;
      case WASYNC_OP_CATCH:
      case WASYNC_OP_CATCH_ALL:
        for (size_t w = 0; w < W; w++) {
          EXC(d)[w] |= live[w];
          EXA(d)[w] |= live[w];
        }
        memcpy(live, AFT(d), W * 8);
        break;
      case WASYNC_OP_IF:
        for (size_t w = 0; w < W; w++)
          live[w] |= fr[d].has_else ? ELS(d)[w] : AFT(d)[w];
        d--;
        break;
      case WASYNC_OP_BLOCK:
      case WASYNC_OP_TRY:
      case WASYNC_OP_TRY_TABLE: d--; break;
      case WASYNC_OP_LOOP: {
        uint64_t *ls = loops + (size_t)loop_of[i] * W;
        for (size_t w = 0; w < W; w++)
          if (live[w] & ~ls[w]) {
            ls[w] |= live[w];
            changed = true;
          }
        d--;
        break;
      }
      case WASYNC_OP_BR:
      case WASYNC_OP_BR_IF:
      case WASYNC_OP_BR_ON_NULL:
      case WASYNC_OP_BR_ON_NON_NULL:
      case WASYNC_OP_BR_ON_CAST:
      case WASYNC_OP_BR_ON_CAST_FAIL:
      case WASYNC_OP_BR_TABLE: {
        bool uncond = in->op == WASYNC_OP_BR || in->op == WASYNC_OP_BR_TABLE;
        if (uncond) memset(live, 0, W * 8);
        uint32_t cnt =
            in->op == WASYNC_OP_BR_TABLE ? in->imm.br_table.count + 1 : 1;
        for (uint32_t k = 0; k < cnt; k++) {
          uint32_t l;
          if (in->op == WASYNC_OP_BR_TABLE)
            l = k < in->imm.br_table.count ? in->imm.br_table.labels[k]
                                           : in->imm.br_table.default_label;
          else if (in->op == WASYNC_OP_BR_ON_CAST ||
                   in->op == WASYNC_OP_BR_ON_CAST_FAIL)
            l = in->imm.br_on_cast.label;
          else
            l = in->imm.index;
          if (l > d) continue;
          const uint64_t *s = LBL(d - l);
          for (size_t w = 0; w < W; w++)
            live[w] |= s[w];
        }
        break;
      }
      case WASYNC_OP_RETURN:
      case WASYNC_OP_UNREACHABLE:
      case WASYNC_OP_THROW:
      case WASYNC_OP_THROW_REF:
      case WASYNC_OP_RETHROW:
      case WASYNC_OP_RETURN_CALL:
      case WASYNC_OP_RETURN_CALL_INDIRECT:
      case WASYNC_OP_RETURN_CALL_REF: memset(live, 0, W * 8); break;
      case WASYNC_OP_LOCAL_GET:
        if (in->imm.index < nlocals)
          live[in->imm.index / 64] |= 1ull << (in->imm.index % 64);
        break;
      case WASYNC_OP_LOCAL_SET:
      case WASYNC_OP_LOCAL_TEE:
        if (in->imm.index < nlocals)
          live[in->imm.index / 64] &= ~(1ull << (in->imm.index % 64));
        break;
      default:
        if (in->op == site_op && in->imm.index < nsites)
          memcpy(site_bits + (size_t)in->imm.index * W, live, W * 8);
        break;
      }
      /* Handlers: everything inside a try may jump to them. */
      for (size_t w = 0; w < W; w++)
        live[w] |= EXA(d)[w];
    }
  }
  al->free(al->ctx, pool);
  al->free(al->ctx, fr);
  al->free(al->ctx, loop_of);
  al->free(al->ctx, match);
  return true;
}
