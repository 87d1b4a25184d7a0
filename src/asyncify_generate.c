/*
 * asyncify_generate.c -- step 2 of rewriting an instrumented function:
 * the new body, as decoded instructions in out[] (the shape is described
 * at the top of asyncify.c).
 *
 * One walk over in[], stepping the function validator over the original
 * instructions to know the operand stack's types at every point:
 *   - cold instructions are copied (labels remapped for the blocks added
 *     around them);
 *   - each hot sequence opens one block per piece (begin_seq) and, before
 *     its first instruction, its dispatch: if rewinding, br_table on the
 *     call index to the block that ends where that call's piece starts;
 *   - a piece starts on an empty operand stack: the values below it go to
 *     temps (one local per stack height and type) at the end of a cold run
 *     and come back at the start of the next (spill, reload) -- except the
 *     trailing arguments of a call that are constants or local.gets of
 *     numeric locals, which are re-emitted after the boundary instead
 *     (deferred or rematerialized arguments);
 *   - every operand of a hot call is in a local saved with its frame (a
 *     temp, or the local of a moved local.get), so the rewind re-enters
 *     the call with exactly the operands it unwound with;
 *   - a hot call is followed by its site marker (PSEUDO_SITE, numbered in
 *     order) and i32.const site; br_if $save (state) (PSEUDO_BR_UNWIND);
 *   - a hot `if` keeps its condition in a local saved with the frame, so
 *     the rewind takes the same arm.
 * The dispatch tables are filled at the end (fill_tables), when every site
 * has its number.  Liveness and encoding are asyncify_finish.c's.
 */
#include <string.h>

#include "asyncify_emit.h"
#include "asyncify_rewrite.h"

static WasyncInstr *emit(RW *rw, uint16_t op) {
  if (!GROW(rw, rw->out, rw->out_cap, rw->nout + 1)) return NULL;
  if (rw->c->sizes) {
    if (!GROW(rw, rw->ocat, rw->ocat_cap, rw->nout + 1)) return NULL;
    rw->ocat[rw->nout] = rw->cat;
  }
  WasyncInstr *in = &rw->out[rw->nout++];
  memset(in, 0, sizeof *in);
  in->op = op;
  return in;
}
static void emit_idx(RW *rw, uint16_t op, uint32_t idx) {
  WasyncInstr *in = emit(rw, op);
  if (in) in->imm.index = idx;
}
static void emit_i32(RW *rw, int32_t v) {
  WasyncInstr *in = emit(rw, WASYNC_OP_I32_CONST);
  if (in) in->imm.i32 = v;
}
static void emit_block(RW *rw, uint16_t op) {
  WasyncInstr *in = emit(rw, op);
  if (in) in->imm.block.kind = WASYNC_BLOCK_EMPTY;
  rw->out_height++;
}
static void emit_end(RW *rw) {
  emit(rw, WASYNC_OP_END);
  rw->out_height--;
}

/* The temp local for operand-stack slot `h` holding type `t`. */
static uint32_t temp_for(RW *rw, uint32_t h, WasyncValType t) {
  WasyncValType nt = nullable(t);
  if (h >= rw->temp_head_cap) {
    uint32_t old = rw->temp_head_cap;
    if (!GROW(rw, rw->temp_head, rw->temp_head_cap, h + 1)) return 0;
    for (uint32_t i = old; i < rw->temp_head_cap; i++)
      rw->temp_head[i] = UINT32_MAX;
  }
  for (uint32_t e = rw->temp_head[h]; e != UINT32_MAX; e = rw->temps[e].next)
    if (rw->temps[e].type == nt) return rw->temps[e].local;
  if (!GROW(rw, rw->temps, rw->temps_cap, rw->ntemps + 1)) return 0;
  Temp *tp = &rw->temps[rw->ntemps];
  tp->height = h;
  tp->type = nt;
  tp->local = wasync_rewrite_add_local(rw, nt);
  tp->next = rw->temp_head[h];
  rw->temp_head[h] = rw->ntemps++;
  return tp->local;
}

static WasyncValType stack_at(RW *rw, uint32_t h) {
  uint32_t H = wasync_funcv_stack_height(rw->v);
  return wasync_funcv_stack_type(rw->v, H - 1 - h);
}

/* ---- rematerialized call arguments ---------------------------------------
 * A call's arguments cross the piece boundary through temps (spill before
 * the piece block's end, reload after it).  An argument pushed by a
 * constant or a local.get of a numeric local, and neither consumed nor
 * overwritten (the local) before the call, needs no temp: the instruction
 * moves to after the boundary (the local is saved with the frame, see
 * hot_call, so the rewind reads the same value; as for deferred
 * arguments).  remat_track follows the cold code's stack
 * effects: a pop at or below a tracked slot forgets it, so does a write
 * to its local; anything whose effect is not known forgets everything. */

static bool simple_arg(RW *rw, const WasyncInstr *in);

static bool remat_grow(RW *rw, uint32_t h) {
  if (h < rw->rm_cap) return true;
  uint32_t old = rw->rm_cap;
  uint32_t cap = rw->rm_cap;
  if (!GROW(rw, rw->rm_at, cap, h + 1)) return false;
  cap = rw->rm_cap;
  if (!GROW(rw, rw->rm_ins, cap, h + 1)) return false;
  cap = rw->rm_cap;
  if (!GROW(rw, rw->rm_taken, cap, h + 1)) return false;
  rw->rm_cap = cap;
  for (uint32_t k = old; k < cap; k++) {
    rw->rm_at[k] = UINT32_MAX;
    rw->rm_taken[k] = 0;
  }
  return true;
}

static void remat_forget(RW *rw, uint32_t from) {
  for (uint32_t h = from; h < rw->rm_hi && h < rw->rm_cap; h++)
    rw->rm_at[h] = UINT32_MAX;
  if (from < rw->rm_hi) rw->rm_hi = from;
}

/* After cold instruction `in` (emitted at out[at]) moved the stack height
 * from hb. */
static void remat_track(RW *rw, const WasyncInstr *in, uint32_t hb,
                        uint32_t at) {
  uint16_t op = in->op;
  if (simple_arg(rw, in)) {
    if (!remat_grow(rw, hb)) return;
    rw->rm_at[hb] = at;
    if (hb + 1 > rw->rm_hi) rw->rm_hi = hb + 1;
    return;
  }
  uint32_t pops;
  if (op == WASYNC_OP_LOCAL_SET || op == WASYNC_OP_LOCAL_TEE) {
    for (uint32_t h = 0; h < rw->rm_hi; h++)
      if (rw->rm_at[h] != UINT32_MAX &&
          rw->out[rw->rm_at[h]].op == WASYNC_OP_LOCAL_GET &&
          rw->out[rw->rm_at[h]].imm.index == in->imm.index)
        rw->rm_at[h] = UINT32_MAX;
    pops = 1;
  } else if (op == WASYNC_OP_GLOBAL_GET) {
    pops = 0;
  } else if (wasync_op_info[op].signature) {
    const char *sig = wasync_op_info[op].signature;
    pops = (uint32_t)(strchr(sig, ':') - sig);
  } else {
    pops = hb; /* unknown: forget everything */
  }
  remat_forget(rw, pops <= hb ? hb - pops : 0);
}

/* Pushes stack slots [from, to) from their temps (or re-emits a taken
 * rematerialized argument). */
static void reload(RW *rw, uint32_t from, uint32_t to) {
  uint8_t cat = rw->cat;
  for (uint32_t h = from; h < to; h++) {
    if (h < rw->rm_cap && rw->rm_taken[h]) {
      rw->rm_taken[h] = 0;
      WasyncInstr *o = emit(rw, rw->rm_ins[h].op);
      if (o) *o = rw->rm_ins[h];
      continue;
    }
    WasyncValType t = stack_at(rw, h);
    rw->cat = SZ_TEMPS;
    emit_idx(rw, WASYNC_OP_LOCAL_GET, temp_for(rw, h, t));
    if (needs_as_non_null(t)) emit(rw, WASYNC_OP_REF_AS_NON_NULL);
    rw->cat = cat;
  }
}
/* Pops stack slots [from, to) into their temps -- except the slots taken
 * for rematerialization, whose pushes were removed. */
static void spill(RW *rw, uint32_t from, uint32_t to) {
  uint8_t cat = rw->cat;
  rw->cat = SZ_TEMPS;
  for (uint32_t h = to; h > from; h--) {
    if (h - 1 < rw->rm_cap && rw->rm_taken[h - 1]) continue;
    emit_idx(rw, WASYNC_OP_LOCAL_SET, temp_for(rw, h - 1, stack_at(rw, h - 1)));
  }
  rw->cat = cat;
}

/* Before the piece of hot call `in` starts: takes the call's arguments in
 * [lo, hi) that can be rematerialized (not the callee operand of an
 * indirect call: the rewind path needs its value). */
static void remat_take(RW *rw, const WasyncInstr *in);

static uint32_t frame_base(RW *rw) {
  return wasync_funcv_ctrl(rw->v, 0)->height;
}

/* Output label depth for an original relative label. */
static uint32_t remap(RW *rw, uint32_t label) {
  if (label >= rw->nfr) {
    rw->bad = true;
    return 0;
  }
  return rw->out_height - 1 - rw->fr[rw->nfr - 1 - label].outpos;
}

static bool push_frame(RW *rw, uint16_t op, uint8_t mode) {
  if (!GROW(rw, rw->fr, rw->fr_cap, rw->nfr + 1)) return false;
  OFrame *f = &rw->fr[rw->nfr++];
  memset(f, 0, sizeof *f);
  f->outpos = rw->out_height++;
  f->mode = mode;
  f->op = op;
  return true;
}

/* Copies an instruction with labels remapped (and relaxed locals fixed). */
static void emit_copy(RW *rw, const WasyncInstr *src) {
  WasyncInstr *o = emit(rw, src->op);
  if (!o) return;
  *o = *src;
  switch (src->op) {
  case WASYNC_OP_BR:
  case WASYNC_OP_BR_IF:
  case WASYNC_OP_BR_ON_NULL:
  case WASYNC_OP_BR_ON_NON_NULL:
  case WASYNC_OP_RETHROW: o->imm.index = remap(rw, src->imm.index); break;
  case WASYNC_OP_BR_ON_CAST:
  case WASYNC_OP_BR_ON_CAST_FAIL:
    o->imm.br_on_cast.label = remap(rw, src->imm.br_on_cast.label);
    break;
  case WASYNC_OP_BR_TABLE: {
    uint32_t n = src->imm.br_table.count;
    uint32_t *l = wasync_arena_array(&rw->m->arena, (size_t)n + 1, 4);
    if (!l) {
      rw->oom = true;
      return;
    }
    for (uint32_t i = 0; i < n; i++)
      l[i] = remap(rw, src->imm.br_table.labels[i]);
    o->imm.br_table.labels = l;
    o->imm.br_table.default_label = remap(rw, src->imm.br_table.default_label);
    break;
  }
  case WASYNC_OP_TRY_TABLE: {
    uint32_t n = src->imm.try_table.count;
    WasyncCatch *cs =
        wasync_arena_array(&rw->m->arena, (size_t)n + 1, sizeof *cs);
    if (!cs) {
      rw->oom = true;
      return;
    }
    for (uint32_t i = 0; i < n; i++) {
      cs[i] = src->imm.try_table.catches[i];
      cs[i].label = remap(rw, cs[i].label);
    }
    o->imm.try_table.catches = cs;
    break;
  }
  case WASYNC_OP_CALL:
  case WASYNC_OP_CALL_INDIRECT:
  case WASYNC_OP_CALL_REF:
    /* asyncify-asserts: a call assumed not to unwind must not change the
     * state. */
    if (rw->c->o->asserts) {
      uint8_t cat = rw->cat;
      rw->cat = SZ_ASSERTS;
      emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
      emit_block(rw, WASYNC_OP_IF);
      emit(rw, WASYNC_OP_UNREACHABLE);
      emit_end(rw);
      rw->cat = cat;
    }
    break;
  case WASYNC_OP_LOCAL_GET:
  case WASYNC_OP_LOCAL_TEE:
    if (src->imm.index < rw->norig_locals && rw->lfix[src->imm.index])
      emit(rw, WASYNC_OP_REF_AS_NON_NULL);
    break;
  default: break;
  }
}

static uint32_t block_params(RW *rw, const WasyncBlockType *bt) {
  if (bt->kind == WASYNC_BLOCK_INDEX) return rw->m->types[bt->index].nparams;
  return 0;
}

static void step(RW *rw, const WasyncInstr *in) {
  if (!wasync_funcv_step(rw->v, in)) rw->bad = true;
}

/* ---- generation -----------------------------------------------------------
 */

/* Cold code runs unguarded: the frame's operand-stack values come out of
 * their temps at the start of a cold run and go back at its end, so every
 * piece starts on an empty stack (a block boundary). */
static void open_cold(RW *rw) {
  if (rw->guard_open) return;
  rw->guard_open = true;
  remat_forget(rw, 0);
  reload(rw, frame_base(rw), wasync_funcv_stack_height(rw->v));
}

static void close_cold(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  uint32_t base = frame_base(rw);
  uint32_t top = wasync_funcv_stack_height(rw->v) - rw->ndef;
  if (rw->guard_open && !f->dead && rw->cond_spill != UINT32_MAX &&
      top > base) {
    /* The condition of the hot `if` that starts the next piece goes
     * straight to its cond local: this cold run is skipped on a rewind
     * (the dispatch jumps past it), so there the local keeps the value
     * restored from the frame, and the same arm is taken. */
    uint8_t cat = rw->cat;
    rw->cat = SZ_COND;
    emit_idx(rw, WASYNC_OP_LOCAL_SET, rw->cond_spill);
    rw->cat = cat;
    rw->cond_spilled = true;
    top--;
  }
  if (rw->guard_open && !f->dead) spill(rw, base, top);
  rw->guard_open = false;
}

/* Opens a hot sequence of `count` pieces:
 *   block $p(count-1) ... block $p0
 *   if (state) br_table[ci - base] -> $p(piece holding site ci)
 * The dispatch is emitted lazily (emit_dispatch): when the sequence starts
 * with a hot block/loop/try, that construct's own dispatch also serves this
 * sequence (a br can leave it), so nested switch-like blocks cost one
 * check, not one per level.  Tables are filled once every site is numbered
 * (fill_tables). */
static void begin_seq(RW *rw, uint32_t count) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  rw->guard_open = false;
  f->npieces = count;
  f->nclosed = 0;
  f->pending = false;
  f->seq = UINT32_MAX;
  if (count == 0) return;
  if (!GROW(rw, rw->seqs, rw->seqs_cap, rw->nseqs + 1) ||
      !GROW(rw, rw->pfirst, rw->pfirst_cap, rw->npfirst + count))
    return;
  Seq *q = &rw->seqs[rw->nseqs];
  q->blocks_base = rw->out_height;
  q->npieces = count;
  q->pstart = rw->npfirst;
  q->lo = rw->nsites;
  q->end = rw->nsites;
  q->disp = UINT32_MAX;
  q->delegate = UINT32_MAX;
  for (uint32_t k = 0; k < count; k++)
    rw->pfirst[rw->npfirst + k] = UINT32_MAX;
  rw->npfirst += count;
  q->p0_open = rw->nout + count - 1;
  q->p0_close = UINT32_MAX;
  f->seq = rw->nseqs++;
  f->pending = true;
  rw->cat = SZ_PIECES;
  for (uint32_t k = 0; k < count; k++)
    emit_block(rw, WASYNC_OP_BLOCK);
  rw->cat = SZ_COPIED;
}

/* Emits the pending dispatch of the top frame's sequence. */
static void emit_dispatch(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  if (!f->pending) return;
  f->pending = false;
  Seq *q = &rw->seqs[f->seq];
  q->disp_start = rw->nout;
  rw->cat = SZ_DISPATCH;
  /* Inside the body the state is 0 or 2 here (a call that leaves it at 1
   * branches to its save block at once), so `if (state)` tests rewinding. */
  emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
  emit_block(rw, WASYNC_OP_IF);
  emit_idx(rw, WASYNC_OP_LOCAL_GET, rw->ci);
  q->base_at = rw->nout;
  emit_i32(rw, 0);
  emit(rw, WASYNC_OP_I32_SUB);
  q->disp = rw->nout;
  q->disp_height = rw->out_height;
  WasyncInstr *bt = emit(rw, WASYNC_OP_BR_TABLE);
  if (bt) bt->imm.br_table.default_label = 1;
  emit_end(rw);
  q->disp_end = rw->nout;
  rw->cat = SZ_COPIED;
}

/* Before the first instruction of a sequence: a hot block/loop/try opener
 * takes over the dispatch, anything else gets it here. */
static void before_instr(RW *rw, const WasyncInstr *in, bool hot) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  if (!f->pending) return;
  if (hot && (in->op == WASYNC_OP_BLOCK || in->op == WASYNC_OP_LOOP ||
              in->op == WASYNC_OP_TRY || in->op == WASYNC_OP_TRY_TABLE)) {
    f->pending = false;
    rw->seqs[f->seq].delegate = rw->nseqs; /* the opener's sequence */
    return;
  }
  emit_dispatch(rw);
}

/* Starts the next piece: closes its block. */
static void piece_start(RW *rw) {
  close_cold(rw);
  OFrame *f = &rw->fr[rw->nfr - 1];
  if (f->nclosed >= f->npieces || f->seq == UINT32_MAX) {
    rw->bad = true; /* cannot happen: counted up front */
    return;
  }
  rw->pfirst[rw->seqs[f->seq].pstart + f->nclosed] = rw->nsites;
  if (f->nclosed == 0) rw->seqs[f->seq].p0_close = rw->nout;
  f->nclosed++;
  rw->cat = SZ_PIECES;
  emit_end(rw);
  rw->cat = SZ_COPIED;
}

/* Ends a hot sequence: closes the blocks of pieces that were dead code. */
static void end_seq(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  bool closed_late = false;
  f->pending = false;
  rw->cat = SZ_PIECES;
  while (f->nclosed < f->npieces) {
    f->nclosed++;
    emit_end(rw);
    closed_late = true;
  }
  /* After dead code the stack is already polymorphic; blocks closed
   * after it make the rest reachable again (by the dispatch). */
  if (closed_late) emit(rw, WASYNC_OP_UNREACHABLE);
  rw->cat = SZ_COPIED;
  if (f->seq != UINT32_MAX) rw->seqs[f->seq].end = rw->nsites;
  f->npieces = f->nclosed = 0;
  f->seq = UINT32_MAX;
}

/* The dispatch tables: a sequence that emitted one serves itself and every
 * sequence that delegated to it (transitively).  Sites of its own piece 0
 * take the default label. */
static bool fill_tables(RW *rw) {
  for (uint32_t d = 0; d < rw->nseqs; d++) {
    Seq *D = &rw->seqs[d];
    if (D->disp == UINT32_MAX) continue;
    /* The chain: D and the sequences whose delegation leads to D. */
    uint32_t base = UINT32_MAX, end = 0;
    for (uint32_t pass = 0; pass < 2; pass++) {
      uint32_t *labels = NULL;
      if (pass == 1) {
        if (base >= end) {
          base = end = D->end;
        }
        /* A table from 0 needs no `i32.const base; i32.sub` (3 bytes):
         * worth base leading default labels (a byte each) up to 2. */
        if (base > 0 && base <= 2 && base < end) base = 0;
        labels = wasync_arena_array(&rw->m->arena, (size_t)(end - base) + 1, 4);
        if (!labels) return false;
        for (uint32_t j = 0; j < end - base; j++)
          labels[j] = 1;
      }
      for (uint32_t r = 0; r < rw->nseqs; r++) {
        uint32_t x = r, hops = 0;
        while (x != d && x != UINT32_MAX && rw->seqs[x].disp == UINT32_MAX &&
               hops++ < rw->nseqs)
          x = rw->seqs[x].delegate;
        if (x != d) continue;
        Seq *q = &rw->seqs[r];
        for (uint32_t k = 1; k < q->npieces; k++) {
          uint32_t from = rw->pfirst[q->pstart + k];
          if (from == UINT32_MAX) break;
          uint32_t to = q->end;
          if (k + 1 < q->npieces && rw->pfirst[q->pstart + k + 1] != UINT32_MAX)
            to = rw->pfirst[q->pstart + k + 1];
          if (pass == 0) {
            if (from < to && from < base) base = from;
            if (to > end) end = to;
            continue;
          }
          uint32_t depth =
              D->disp_height - 1 - (q->blocks_base + (q->npieces - 1 - k));
          for (uint32_t s = from; s < to && s < end; s++)
            if (s >= base) labels[s - base] = depth;
        }
      }
      if (pass == 1) {
        WasyncInstr *bt = &rw->out[D->disp];
        bt->imm.br_table.count = end - base;
        bt->imm.br_table.labels = labels;
        bt->imm.br_table.default_label = 1;
        rw->out[D->base_at].imm.i32 = (int32_t)base;
      }
    }
  }
  return true;
}

static uint32_t call_nargs(RW *rw, const WasyncInstr *in) {
  const WasyncModule *m = rw->m;
  switch (in->op) {
  case WASYNC_OP_CALL:
  case WASYNC_OP_RETURN_CALL:
    return wasync_func_type(m, in->imm.index)->nparams;
  case WASYNC_OP_CALL_INDIRECT:
  case WASYNC_OP_RETURN_CALL_INDIRECT:
    return m->types[in->imm.pair.a].nparams + 1;
  default: return m->types[in->imm.index].nparams + 1;
  }
}

static void remat_take(RW *rw, const WasyncInstr *in) {
  if (!rw->guard_open || rw->fr[rw->nfr - 1].dead) return;
  uint32_t H = wasync_funcv_stack_height(rw->v);
  uint32_t nargs = call_nargs(rw, in);
  uint32_t lo = H - nargs, hi = H - rw->ndef;
  if (in->op != WASYNC_OP_CALL && in->op != WASYNC_OP_RETURN_CALL) hi = H - 1;
  for (uint32_t h = lo; h < hi && h < rw->rm_hi; h++) {
    uint32_t at = rw->rm_at[h];
    if (at == UINT32_MAX) continue;
    rw->rm_ins[h] = rw->out[at];
    rw->rm_taken[h] = 1;
    rw->out[at].op = PSEUDO_NOP;
  }
}

static void hot_call(RW *rw, const WasyncInstr *in) {
  uint32_t s = rw->nsites;
  if (!GROW(rw, rw->sites, rw->sites_cap, s + 1)) return;
  rw->nsites++;
  Site *site = &rw->sites[s];
  uint32_t H = wasync_funcv_stack_height(rw->v);
  uint32_t nargs = call_nargs(rw, in);
  /* Locals the rewind path reads: the enclosing hot `if` conditions, and
   * the call's operands -- on the rewind the call is re-entered with
   * exactly the operands it had when it unwound (Binaryen's semantics:
   * an import may act on its arguments on both visits), so every operand
   * comes from a local saved with the frame: its temp, or the local of a
   * deferred or rematerialized local.get (not written between that
   * local.get and the call).  Constants are the same anyway. */
  site->path_start = rw->npath;
  site->path_count = 0;
  for (uint32_t i = 0; i < rw->nconds; i++) {
    if (!GROW(rw, rw->path, rw->path_cap, rw->npath + 1)) return;
    rw->path[rw->npath++] = rw->conds[i];
    site->path_count++;
  }
  uint32_t deferred = H - rw->ndef; /* [deferred, H): rw->in[defer_lo...] */
  for (uint32_t h = H - nargs; h < H; h++) {
    const WasyncInstr *moved = NULL;
    if (h >= deferred)
      moved = &rw->in[rw->defer_lo + (h - deferred)];
    else if (h < rw->rm_cap && rw->rm_taken[h])
      moved = &rw->rm_ins[h];
    if (moved && moved->op != WASYNC_OP_LOCAL_GET) continue; /* a constant */
    if (!GROW(rw, rw->path, rw->path_cap, rw->npath + 1)) return;
    rw->path[rw->npath++] =
        moved ? moved->imm.index : temp_for(rw, h, stack_at(rw, h));
    site->path_count++;
  }
  if (rw->ndef && rw->defer_hi != (uint32_t)(in - rw->in)) {
    rw->bad = true; /* cannot happen: a deferred run ends at its call */
    return;
  }
  reload(rw, H - nargs, H - rw->ndef);
  remat_forget(rw, 0);
  for (uint32_t k = rw->defer_lo; k < rw->defer_lo + rw->ndef; k++)
    emit_copy(rw, &rw->in[k]);
  rw->ndef = 0;
  rw->defer_lo = rw->defer_hi = 0;
  WasyncInstr *call = emit(rw, in->op);
  if (!call) return;
  *call = *in;
  bool tail = false;
  if (in->op == WASYNC_OP_RETURN_CALL)
    call->op = WASYNC_OP_CALL, tail = true;
  else if (in->op == WASYNC_OP_RETURN_CALL_INDIRECT)
    call->op = WASYNC_OP_CALL_INDIRECT, tail = true;
  else if (in->op == WASYNC_OP_RETURN_CALL_REF)
    call->op = WASYNC_OP_CALL_REF, tail = true;
  emit_idx(rw, PSEUDO_SITE, s);
  /* i32.const s; br_if $save (state); drop.  After a call returns the
   * state is 0 (normal) or 1 (unwinding); the branch carries the call
   * index to the save block, which stores it, so the normal path assigns
   * no local (an engine would otherwise merge ci at every join). */
  rw->cat = SZ_CHECK;
  emit_i32(rw, (int32_t)s);
  emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
  {
    WasyncInstr *bu = emit(rw, PSEUDO_BR_UNWIND);
    if (bu) {
      bu->imm.pair.a = s;
      bu->imm.pair.b = rw->out_height - 1; /* the save blocks */
    }
  }
  emit(rw, WASYNC_OP_DROP);
  rw->cat = SZ_COPIED;
  step(rw, in);
  if (rw->bad) return;
  if (tail) {
    emit(rw, WASYNC_OP_RETURN);
    rw->fr[rw->nfr - 1].dead = true;
  } else if (H - nargs == frame_base(rw)) {
    /* Nothing below the arguments: the results stay on the stack as the
     * start of the next cold run (no spill and reload). */
    rw->guard_open = true;
  } else {
    uint32_t H2 = wasync_funcv_stack_height(rw->v);
    spill(rw, H - nargs, H2);
  }
}

/* Before the piece of a hot `if` starts: the cond local of its nesting
 * depth, for close_cold to store the condition in. */
static bool prepare_cond(RW *rw) {
  if (!GROW(rw, rw->cond_pool, rw->cond_pool_cap, rw->nconds + 1)) return false;
  while (rw->ncond_pool <= rw->nconds)
    rw->cond_pool[rw->ncond_pool++] =
        wasync_rewrite_add_local(rw, WASYNC_VT_I32);
  rw->cond_spill = rw->cond_pool[rw->nconds];
  rw->cond_spilled = false;
  return !rw->oom;
}

static void hot_open(RW *rw, const WasyncInstr *in) {
  uint32_t H = wasync_funcv_stack_height(rw->v);
  uint32_t np = block_params(rw, &in->imm.block);
  if (in->op == WASYNC_OP_TRY_TABLE)
    np = block_params(rw, &in->imm.try_table.block);
  uint32_t extra = in->op == WASYNC_OP_IF ? 1 : 0;
  reload(rw, H - np - extra, H - extra);
  bool cond = false;
  if (extra) {
    /* The condition gets a local of its own, saved with the frame, so a
     * rewind enters the same arm.  Usually the cold run before the piece
     * stored it there (close_cold; skipped on a rewind): local.get cl.
     * Otherwise (it came from a hot construct or call and went to its
     * temp) it is taken from the temp only when running normally:
     * cl = state ? cl : temp (9 bytes instead of 2). */
    if (!GROW(rw, rw->conds, rw->conds_cap, rw->nconds + 1)) return;
    /* Hot ifs at the same nesting depth share their local: only the
     * enclosing ifs of one call site are ever read on a rewind, and fewer
     * long-lived values keep engines' frames small. */
    if (!GROW(rw, rw->cond_pool, rw->cond_pool_cap, rw->nconds + 1)) return;
    while (rw->ncond_pool <= rw->nconds)
      rw->cond_pool[rw->ncond_pool++] =
          wasync_rewrite_add_local(rw, WASYNC_VT_I32);
    uint32_t cl = rw->cond_pool[rw->nconds];
    rw->cat = SZ_COND;
    emit_idx(rw, WASYNC_OP_LOCAL_GET, cl);
    if (!rw->cond_spilled) { /* it went to its temp: take it from there */
      emit_idx(rw, WASYNC_OP_LOCAL_GET, temp_for(rw, H - 1, WASYNC_VT_I32));
      emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
      emit(rw, WASYNC_OP_SELECT);
      emit_idx(rw, WASYNC_OP_LOCAL_TEE, cl);
    }
    rw->cat = SZ_COPIED;
    rw->conds[rw->nconds++] = cl;
    cond = true;
  }
  rw->cond_spill = UINT32_MAX;
  rw->cond_spilled = false;
  emit_copy(rw, in);
  step(rw, in);
  if (!push_frame(rw, in->op, MODE_HOT)) return;
  rw->fr[rw->nfr - 1].cond = cond;
  uint32_t base = frame_base(rw);
  spill(rw, base, base + np);
  begin_seq(rw, rw->pieces_at[in - rw->in]);
}

static void pop_frame(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  if (f->cond) rw->nconds--;
  rw->nfr--;
  rw->out_height--;
}

/* `end`, `else`, `catch`, `catch_all`, `delegate` of a hot frame. */
static void hot_term(RW *rw, const WasyncInstr *in) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  const WasyncCtrlFrame *cf = wasync_funcv_ctrl(rw->v, 0);
  uint32_t nres = cf->nresults;
  bool was_dead = f->dead;
  bool on_stack = rw->guard_open && !was_dead;
  rw->guard_open = false;
  end_seq(rw);
  if (!was_dead && !on_stack) reload(rw, cf->height, cf->height + nres);
  f->dead = false;
  f->dead_depth = 0;
  switch (in->op) {
  case WASYNC_OP_ELSE: {
    emit(rw, WASYNC_OP_ELSE);
    step(rw, in);
    uint32_t base = frame_base(rw);
    spill(rw, base, wasync_funcv_stack_height(rw->v));
    begin_seq(rw, rw->pieces_at[in - rw->in]);
    return;
  }
  case WASYNC_OP_CATCH:
  case WASYNC_OP_CATCH_ALL:
    emit_copy(rw, in);
    step(rw, in);
    f->mode = MODE_HANDLER;
    return;
  case WASYNC_OP_DELEGATE: {
    step(rw, in);
    pop_frame(rw);
    WasyncInstr d = *in;
    emit_copy(rw, &d);
    rw->out[rw->nout - 1].imm.index = remap(rw, in->imm.index);
    break;
  }
  default: /* end */
    emit(rw, WASYNC_OP_END);
    step(rw, in);
    pop_frame(rw);
    break;
  }
  if (rw->nfr == 0) return;
  uint32_t H = wasync_funcv_stack_height(rw->v);
  spill(rw, H - nres, H);
}

/* A local.get of a numeric local or a numeric constant: no side effect,
 * no trap, one value, and the same value on a rewind (a constant, or a
 * local that hot_call puts in the frame). */
static bool simple_arg(RW *rw, const WasyncInstr *in) {
  switch (in->op) {
  case WASYNC_OP_I32_CONST:
  case WASYNC_OP_I64_CONST:
  case WASYNC_OP_F32_CONST:
  case WASYNC_OP_F64_CONST: return true;
  case WASYNC_OP_LOCAL_GET:
    return in->imm.index < rw->norig_locals &&
           !wasync_vt_is_ref(rw->ltypes[in->imm.index]);
  default: return false;
  }
}

/* At cold instruction i: if it starts a run of simple_args that ends in a
 * hot direct call, the last of them (at most the call's arguments) are
 * deferred: emitted right before the call, after its piece starts, so they
 * need no temps (spill before the piece block's end, reload after it). */
static void defer_args(RW *rw, uint32_t i) {
  uint32_t k = i;
  while (k < rw->nin && !rw->hot[k] && simple_arg(rw, &rw->in[k]))
    k++;
  rw->scan_end = k > i ? k : i + 1;
  if (k == i || k >= rw->nin || !rw->hot[k]) return;
  uint16_t op = rw->in[k].op;
  if (op != WASYNC_OP_CALL && op != WASYNC_OP_RETURN_CALL) return;
  uint32_t n = call_nargs(rw, &rw->in[k]);
  rw->defer_lo = k - i > n ? k - n : i;
  rw->defer_hi = k;
}

bool wasync_rewrite_generate(RW *rw) {
  rw->nout = 0;
  rw->out_height = 0;
  rw->nfr = 0;
  rw->guard_open = false;
  rw->nconds = 0;
  rw->defer_lo = rw->defer_hi = rw->ndef = rw->scan_end = 0;
  rw->cond_spill = UINT32_MAX;
  rw->cond_spilled = false;
  /* block $unwind; block (result R*) $body */
  rw->cat = SZ_WRAP;
  emit_block(rw, WASYNC_OP_BLOCK);
  WasyncInstr *body = emit(rw, WASYNC_OP_BLOCK);
  rw->cat = SZ_COPIED;
  if (!body) return false;
  const WasyncSubType *ft = wasync_func_type(rw->m, rw->func);
  if (ft->nresults == 0)
    body->imm.block.kind = WASYNC_BLOCK_EMPTY;
  else if (ft->nresults == 1) {
    body->imm.block.kind = WASYNC_BLOCK_VALUE;
    body->imm.block.value = ft->results[0];
  } else {
    body->imm.block.kind = WASYNC_BLOCK_INDEX;
    body->imm.block.index = rw->c->results_type[rw->func];
  }
  if (!push_frame(rw, WASYNC_OP_CALL, MODE_HOT)) return false;
  begin_seq(rw, rw->fn_pieces);

  for (uint32_t i = 0; i < rw->nin && rw->nfr > 0; i++) {
    if (rw->oom || rw->bad) return false;
    const WasyncInstr *in = &rw->in[i];
    OFrame *f = &rw->fr[rw->nfr - 1];
    uint16_t op = in->op;
    bool term = op == WASYNC_OP_END || op == WASYNC_OP_ELSE ||
                op == WASYNC_OP_CATCH || op == WASYNC_OP_CATCH_ALL ||
                op == WASYNC_OP_DELEGATE;

    if (f->mode != MODE_HOT) {
      /* Verbatim: a cold construct, or a catch handler of a hot try. */
      if (is_opener(op)) {
        emit_copy(rw, in);
        step(rw, in);
        push_frame(rw, op, MODE_COLD);
        continue;
      }
      if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) {
        bool was_handler = f->mode == MODE_HANDLER;
        const WasyncCtrlFrame *cf = wasync_funcv_ctrl(rw->v, 0);
        uint32_t nres = cf->nresults;
        step(rw, in);
        pop_frame(rw);
        if (op == WASYNC_OP_END) {
          emit(rw, WASYNC_OP_END);
        } else {
          emit_copy(rw, in);
        }
        if (was_handler && rw->nfr > 0) {
          uint32_t H = wasync_funcv_stack_height(rw->v);
          spill(rw, H - nres, H);
        }
        continue;
      }
      emit_copy(rw, in);
      step(rw, in);
      continue;
    }

    if (f->dead) {
      if (f->dead_depth == 0 && term) {
        hot_term(rw, in);
        continue;
      }
      if (is_opener(op))
        f->dead_depth++;
      else if (op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE)
        f->dead_depth--;
      step(rw, in);
      continue;
    }

    if (term) {
      hot_term(rw, in);
      continue;
    }
    before_instr(rw, in, rw->hot[i] != 0);
    if (rw->hot[i]) {
      if (is_call(op)) remat_take(rw, in);
      if (op == WASYNC_OP_IF && !prepare_cond(rw)) return false;
      piece_start(rw);
      if (is_call(op))
        hot_call(rw, in);
      else
        hot_open(rw, in);
      continue;
    }
    /* A cold instruction in a hot sequence. */
    if (i >= rw->scan_end) defer_args(rw, i);
    if (i >= rw->defer_lo && i < rw->defer_hi) {
      step(rw, in);
      rw->ndef++;
      continue;
    }
    open_cold(rw);
    uint32_t hb = wasync_funcv_stack_height(rw->v), at = rw->nout;
    emit_copy(rw, in);
    step(rw, in);
    remat_track(rw, in, hb, at);
    if (is_opener(op)) {
      push_frame(rw, op, MODE_COLD);
      continue;
    }
    if (wasync_funcv_ctrl(rw->v, 0)->unreachable) f->dead = true;
  }
  if (rw->oom || rw->bad) return false;
  /* After the original final `end` (which closed $body): return; end. */
  rw->cat = SZ_WRAP;
  emit(rw, WASYNC_OP_RETURN);
  emit(rw, WASYNC_OP_END);
  if (!rw->oom && !fill_tables(rw)) rw->oom = true;
  return !rw->oom;
}
