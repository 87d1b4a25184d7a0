/*
 * asyncify_rewrite.c -- rewrites one instrumented function (the shape of the
 * output is described at the top of asyncify.c).
 *
 * Steps, all on arrays reused within the function:
 *   1. decode the body into `in[]`; restructure legacy trys whose catch
 *      handlers contain unwinding calls (restructure_try) so handlers run
 *      outside the try; mark "hot" instructions (calls that may unwind and
 *      every construct containing one) and count each sequence's pieces;
 *   2. generate the new body into `out[]` (decoded instructions, plus
 *      PSEUDO_SITE markers after each unwinding call and PSEUDO_BR_UNWIND
 *      branches to the save blocks), stepping the validator over the
 *      original instructions to know the operand stack types;
 *   3. liveness (asyncify_liveness.c) over `out[]` gives the locals live
 *      after each call site; sites with equal sets share a frame layout;
 *      then prologue (restore), body and save blocks are encoded.
 *
 * Split rewind path (finish, chosen in asyncify.c): the rewind dispatch
 * joins the restored locals into the normal path at every piece start, and
 * engines pay for those merges on every call: in V8 each live local that
 * differs becomes a phi, so QuickJS's interpreter function JS_CallInternal
 * goes from 8,410 virtual registers to 17,452 (measured with --trace-turbo;
 * ~6,700 of them from the dispatch merges, ~2,000 from the save branches),
 * and a CPU-bound script runs ~2x slower than un-instrumented.  A split
 * function's body goes to two new functions: `fast`, everything but the
 * dispatches (10,651 virtual registers; the script then runs ~1.2x
 * slower), and `rewind`, the full rewrite, which restores the same frame
 * layout and carries on to the end of that activation; the function itself
 * becomes a trampoline to one or the other by the state (a few bytes of
 * native stack, no tail call needed).  Both variants are encoded from the
 * same out[], so call-site numbers and layouts agree by construction.
 * V8 before 11.6 also gives functions above ~9,700 virtual registers a
 * mid-tier register allocator with much larger frames; js/engine.js turns
 * that off (Binaryen-style guards instead of jumps were tried: 18,280).
 */
#include <string.h>

#include "asyncify.h"
#include "asyncify_emit.h"
#include "module_edit.h"

#define PSEUDO_SITE ((uint16_t)(WASYNC_OP_COUNT + 1))
/* br_if to the save block of site imm.pair.a's layout; imm.pair.b is the
 * depth of the (collapsed) save blocks from there. */
#define PSEUDO_BR_UNWIND ((uint16_t)(WASYNC_OP_COUNT + 2))
/* An instruction moved elsewhere (a rematerialized call argument). */
#define PSEUDO_NOP ((uint16_t)(WASYNC_OP_COUNT + 4))

enum { MODE_HOT = 0, MODE_COLD = 1, MODE_HANDLER = 2 };

typedef struct OFrame {
  uint32_t outpos; /* position on the output control stack */
  uint8_t mode;
  bool dead; /* hot frame: the rest of its sequence is unreachable */
  uint16_t op;
  uint32_t dead_depth;
  /* The current sequence's pieces (hot instructions): one block each,
   * closed where the piece starts; a rewind jumps to the piece holding its
   * call site through the br_table at out[disp]. */
  uint32_t npieces, nclosed, seq;
  bool pending; /* the sequence's dispatch is not emitted yet */
  bool cond;    /* a hot `if`: its condition temp is on the cond stack */
} OFrame;

typedef struct Temp {
  uint32_t height;
  WasyncValType type; /* nullable form */
  uint32_t local;
  uint32_t next;
} Temp;

typedef struct Site {
  uint32_t path_start, path_count; /* locals read on the rewind path */
  uint32_t layout;
} Site;

/* One hot sequence: its piece blocks and dispatch (see begin_seq). */
typedef struct Seq {
  uint32_t blocks_base;     /* output control height before its piece blocks */
  uint32_t npieces, pstart; /* pieces; their first sites at pfirst[pstart] */
  uint32_t lo, end;         /* sites [lo, end) lie in the sequence */
  uint32_t disp, base_at;   /* out[] index of its br_table / its base const */
  uint32_t disp_height;     /* output control height at the br_table */
  uint32_t disp_start, disp_end; /* out[] range of the whole `if` */
  uint32_t p0_open, p0_close;    /* out[] of piece 0's block and end */
  uint32_t delegate; /* the sequence whose dispatch serves this one */
} Seq;

typedef struct Layout {
  uint32_t bits; /* index of its bitset in rw->site_bits */
  uint32_t size; /* bytes of linear memory (without the call index) */
  uint64_t hash;
} Layout;

typedef struct RW {
  WasyncAsyncifyCtx *c;
  WasyncModule *m;
  WasyncError *err;
  WasyncFuncValidator *v;
  const WasyncAllocator *al;
  uint32_t func;
  bool oom, bad;
  bool split; /* give the function a rewind-only copy (finish) */

  WasyncInstr *in;
  uint8_t *hot;
  uint32_t nin, in_cap, hot_cap;

  WasyncInstr *out;
  uint32_t nout, out_cap;

  WasyncValType *ltypes; /* all locals (params first) as declared in output */
  uint8_t *lfix;         /* 1: declared non-null in the input, relaxed */
  uint32_t nlocals, nparams, norig_locals, ltypes_cap;

  Temp *temps;
  uint32_t ntemps, temps_cap;
  uint32_t *order; /* finish: a layout's numeric locals in frame order */
  /* Rematerialized call arguments (see remat_track): per stack height, the
   * out[] index of the constant or local.get that pushed the value still
   * there (UINT32_MAX: none); taken ones are re-emitted at the call. */
  uint32_t *rm_at;
  WasyncInstr *rm_ins;
  uint8_t *rm_taken;
  uint32_t rm_cap, rm_hi;
  uint32_t *temp_head; /* per height */
  uint32_t temp_head_cap;

  OFrame *fr;
  uint32_t nfr, fr_cap;
  uint32_t out_height;
  bool guard_open;

  uint32_t *conds; /* cond stack (locals) */
  uint32_t nconds, conds_cap;
  uint32_t *cond_pool; /* the cond local of each hot-if nesting depth */
  uint32_t ncond_pool, cond_pool_cap;
  uint32_t *path; /* pool of site path locals */
  uint32_t npath, path_cap;
  Site *sites;
  uint32_t nsites, sites_cap;

  uint32_t ci, p; /* the call-index local and the pointer scratch local */
  /* Deferred arguments: in[defer_lo, defer_hi) are local.gets/constants
   * producing the last arguments of the direct call at in[defer_hi]; they
   * are emitted after the call's piece starts instead of going through
   * temps (see defer_args).  ndef of them are on the validator's stack but
   * not yet on the output's; scan_end: no deferral scan below it. */
  uint32_t defer_lo, defer_hi, ndef, scan_end;
  uint32_t *pieces_at; /* per in[] opener/else: hot pieces of its sequence */
  uint32_t pieces_cap, fn_pieces;
  uint32_t *pfirst; /* per piece: the first site number in it */
  uint32_t npfirst, pfirst_cap;
  Seq *seqs;
  uint32_t nseqs, seqs_cap;
} RW;

/* ---- small growable arrays ---------------------------------------------- */

static bool grow(RW *rw, void **arr, uint32_t *cap, uint32_t need,
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
#define GROW(rw, arr, cap, need)                                               \
  grow((rw), (void **)&(arr), &(cap), (need), sizeof *(arr))

static WasyncInstr *emit(RW *rw, uint16_t op) {
  if (!GROW(rw, rw->out, rw->out_cap, rw->nout + 1)) return NULL;
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

static WasyncValType nullable(WasyncValType t) {
  return wasync_vt_is_ref(t) ? (t | WASYNC_VT_NULLABLE) : t;
}

static uint32_t add_local(RW *rw, WasyncValType t) {
  if (!GROW(rw, rw->ltypes, rw->ltypes_cap, rw->nlocals + 1)) return 0;
  rw->ltypes[rw->nlocals] = t;
  return rw->nlocals++;
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
  tp->local = add_local(rw, nt);
  tp->next = rw->temp_head[h];
  rw->temp_head[h] = rw->ntemps++;
  return tp->local;
}

static WasyncValType stack_at(RW *rw, uint32_t h) {
  uint32_t H = wasync_funcv_stack_height(rw->v);
  return wasync_funcv_stack_type(rw->v, H - 1 - h);
}

static bool needs_as_non_null(WasyncValType t) {
  return wasync_vt_is_ref(t) && !wasync_vt_nullable(t);
}

/* ---- rematerialized call arguments ---------------------------------------
 * A call's arguments cross the piece boundary through temps (spill before
 * the piece block's end, reload after it).  An argument pushed by a
 * constant or a local.get of a numeric local, and neither consumed nor
 * overwritten (the local) before the call, needs no temp: the instruction
 * moves to after the boundary (its value does not matter on a rewind, as
 * for deferred arguments).  remat_track follows the cold code's stack
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
  for (uint32_t h = from; h < to; h++) {
    if (h < rw->rm_cap && rw->rm_taken[h]) {
      rw->rm_taken[h] = 0;
      WasyncInstr *o = emit(rw, rw->rm_ins[h].op);
      if (o) *o = rw->rm_ins[h];
      continue;
    }
    WasyncValType t = stack_at(rw, h);
    emit_idx(rw, WASYNC_OP_LOCAL_GET, temp_for(rw, h, t));
    if (needs_as_non_null(t)) emit(rw, WASYNC_OP_REF_AS_NON_NULL);
  }
}
/* Pops stack slots [from, to) into their temps -- except the slots taken
 * for rematerialization, whose pushes were removed. */
static void spill(RW *rw, uint32_t from, uint32_t to) {
  for (uint32_t h = to; h > from; h--) {
    if (h - 1 < rw->rm_cap && rw->rm_taken[h - 1]) continue;
    emit_idx(rw, WASYNC_OP_LOCAL_SET, temp_for(rw, h - 1, stack_at(rw, h - 1)));
  }
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
      emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
      emit_block(rw, WASYNC_OP_IF);
      emit(rw, WASYNC_OP_UNREACHABLE);
      emit_end(rw);
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

static bool is_opener(uint16_t op) {
  return op == WASYNC_OP_BLOCK || op == WASYNC_OP_LOOP || op == WASYNC_OP_IF ||
         op == WASYNC_OP_TRY || op == WASYNC_OP_TRY_TABLE;
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
  if (rw->guard_open && !f->dead)
    spill(rw, frame_base(rw), wasync_funcv_stack_height(rw->v) - rw->ndef);
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
  for (uint32_t k = 0; k < count; k++)
    emit_block(rw, WASYNC_OP_BLOCK);
}

/* Emits the pending dispatch of the top frame's sequence. */
static void emit_dispatch(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  if (!f->pending) return;
  f->pending = false;
  Seq *q = &rw->seqs[f->seq];
  q->disp_start = rw->nout;
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
  emit_end(rw);
}

/* Ends a hot sequence: closes the blocks of pieces that were dead code. */
static void end_seq(RW *rw) {
  OFrame *f = &rw->fr[rw->nfr - 1];
  bool closed_late = false;
  f->pending = false;
  while (f->nclosed < f->npieces) {
    f->nclosed++;
    emit_end(rw);
    closed_late = true;
  }
  /* After dead code the stack is already polymorphic; blocks closed
   * after it make the rest reachable again (by the dispatch). */
  if (closed_late) emit(rw, WASYNC_OP_UNREACHABLE);
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
  /* Locals the rewind path reads: enclosing hot `if` conditions, and
   * arguments that must be non-null. */
  site->path_start = rw->npath;
  site->path_count = 0;
  for (uint32_t i = 0; i < rw->nconds; i++) {
    if (!GROW(rw, rw->path, rw->path_cap, rw->npath + 1)) return;
    rw->path[rw->npath++] = rw->conds[i];
    site->path_count++;
  }
  bool indirect = in->op != WASYNC_OP_CALL && in->op != WASYNC_OP_RETURN_CALL;
  for (uint32_t h = H - nargs; h < H; h++) {
    WasyncValType t = stack_at(rw, h);
    /* The callee operand of an indirect call (table index / function
     * reference) must be the same on rewind; non-null arguments must be
     * valid values. */
    if (!needs_as_non_null(t) && !(indirect && h == H - 1)) continue;
    if (!GROW(rw, rw->path, rw->path_cap, rw->npath + 1)) return;
    rw->path[rw->npath++] = temp_for(rw, h, t);
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

static void hot_open(RW *rw, const WasyncInstr *in) {
  uint32_t H = wasync_funcv_stack_height(rw->v);
  uint32_t np = block_params(rw, &in->imm.block);
  if (in->op == WASYNC_OP_TRY_TABLE)
    np = block_params(rw, &in->imm.try_table.block);
  uint32_t extra = in->op == WASYNC_OP_IF ? 1 : 0;
  reload(rw, H - np - extra, H - extra);
  bool cond = false;
  if (extra) {
    /* The condition gets a local of its own, taken from the stack slot
     * only when running normally: on rewind the saved value is used, so
     * the same arm is entered.  cl = state ? cl : slot. */
    if (!GROW(rw, rw->conds, rw->conds_cap, rw->nconds + 1)) return;
    /* Hot ifs at the same nesting depth share their local: only the
     * enclosing ifs of one call site are ever read on a rewind, and fewer
     * long-lived values keep engines' frames small. */
    if (!GROW(rw, rw->cond_pool, rw->cond_pool_cap, rw->nconds + 1)) return;
    while (rw->ncond_pool <= rw->nconds)
      rw->cond_pool[rw->ncond_pool++] = add_local(rw, WASYNC_VT_I32);
    uint32_t cl = rw->cond_pool[rw->nconds];
    emit_idx(rw, WASYNC_OP_LOCAL_GET, cl);
    emit_idx(rw, WASYNC_OP_LOCAL_GET, temp_for(rw, H - 1, WASYNC_VT_I32));
    emit_idx(rw, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
    emit(rw, WASYNC_OP_SELECT);
    emit_idx(rw, WASYNC_OP_LOCAL_TEE, cl);
    rw->conds[rw->nconds++] = cl;
    cond = true;
  }
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
 * no trap, one value, and its value does not matter on a rewind (the
 * callee restores its own locals). */
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

static bool generate(RW *rw) {
  rw->nout = 0;
  rw->out_height = 0;
  rw->nfr = 0;
  rw->guard_open = false;
  rw->nconds = 0;
  rw->defer_lo = rw->defer_hi = rw->ndef = rw->scan_end = 0;
  /* block $unwind; block (result R*) $body */
  emit_block(rw, WASYNC_OP_BLOCK);
  WasyncInstr *body = emit(rw, WASYNC_OP_BLOCK);
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
  emit(rw, WASYNC_OP_RETURN);
  emit(rw, WASYNC_OP_END);
  if (!rw->oom && !fill_tables(rw)) rw->oom = true;
  return !rw->oom;
}

/* ---- pass 1: decode and mark hot instructions ---------------------------- */

static bool decode_body(RW *rw) {
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

/* Marks hot instructions.  Returns the index of a legacy `try` with an
 * unwinding call in one of its handlers (to be restructured first), or
 * UINT32_MAX. */
static uint32_t mark_hot(RW *rw) {
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
static bool count_pieces(RW *rw) {
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
static bool restructure_try(RW *rw, uint32_t t) {
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

/* ---- reference stacks ------------------------------------------------------
 */

uint32_t wasync_asyncify_ref_kind(const WasyncModule *m, WasyncValType t) {
  switch (wasync_heap_top(m, t)) {
  case WASYNC_HT_FUNC: return 0;
  case WASYNC_HT_EXTERN: return 1;
  case WASYNC_HT_EXN: return 3;
  default: return 2;
  }
}

static const uint8_t ref_top[4] = {WASYNC_HT_FUNC, WASYNC_HT_EXTERN,
                                   WASYNC_HT_ANY, WASYNC_HT_EXN};

static uint32_t ref_stack(WasyncAsyncifyCtx *c, uint32_t kind) {
  if (!c->ref_used[kind]) {
    c->ref_used[kind] = true;
    c->ref_table[kind] = c->ntables_before + c->nref_new;
    c->ref_sp[kind] = c->nglobals_before + 2 + c->nref_new;
    c->nref_new++;
  }
  return kind;
}

/* ---- encoding
 * ---------------------------------------------------------------- */

static void put_ref_null(WasyncBuf *b, uint8_t ht) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = WASYNC_OP_REF_NULL;
  in.imm.ref = wasync_vt_ref_abstract(true, ht);
  put(b, &in);
}

static uint32_t vt_bytes(WasyncValType t) {
  switch (wasync_vt_code(t)) {
  case WASYNC_VT_I32:
  case WASYNC_VT_F32: return 4;
  case WASYNC_VT_I64:
  case WASYNC_VT_F64: return 8;
  case WASYNC_VT_V128: return 16;
  default: return 0; /* references: the reference stacks */
  }
}
static uint16_t load_op(WasyncValType t) {
  switch (wasync_vt_code(t)) {
  case WASYNC_VT_I32: return WASYNC_OP_I32_LOAD;
  case WASYNC_VT_F32: return WASYNC_OP_F32_LOAD;
  case WASYNC_VT_I64: return WASYNC_OP_I64_LOAD;
  case WASYNC_VT_F64: return WASYNC_OP_F64_LOAD;
  default: return WASYNC_OP_V128_LOAD;
  }
}
static uint16_t store_op(WasyncValType t) {
  switch (wasync_vt_code(t)) {
  case WASYNC_VT_I32: return WASYNC_OP_I32_STORE;
  case WASYNC_VT_F32: return WASYNC_OP_F32_STORE;
  case WASYNC_VT_I64: return WASYNC_OP_I64_STORE;
  case WASYNC_VT_F64: return WASYNC_OP_F64_STORE;
  default: return WASYNC_OP_V128_STORE;
  }
}

#define BIT(bits, i) (((bits)[(i) / 64] >> ((i) % 64)) & 1u)

/* Frames hold numeric locals by class (asyncify_frames.c): every i32, then
 * i64, f32, f64, v128, each class in local order.  Fills order[] (numeric
 * locals of the layout, in frame order) and counts[]; returns how many. */
static uint32_t frame_order(RW *rw, const uint64_t *bits, uint32_t *order,
                            uint32_t *counts) {
  uint32_t n = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++) {
    counts[k] = 0;
    for (uint32_t x = 0; x < rw->nlocals; x++)
      if (BIT(bits, x) && wasync_asyncify_frame_class(rw->ltypes[x]) == k) {
        order[n++] = x;
        counts[k]++;
      }
  }
  return n;
}

/* Frames with this many numeric locals or more use the shared functions;
 * fewer are written inline (a call costs about as much as two stores). */
#define CODEC_MIN 2
#define CODEC_MAX 16

/* Whether a frame of n numeric locals with these class counts is written
 * by shared functions (*save, *restore); out of memory sets rw->oom. */
static bool use_codec(RW *rw, uint32_t n, const uint32_t *counts,
                      uint32_t *save, uint32_t *restore) {
  if (n < CODEC_MIN || n > CODEC_MAX) return false;
  if (wasync_asyncify_frame_codec(rw->c, counts, save, restore)) return true;
  rw->oom = true;
  return false;
}

/* Restore code for one layout (p = address of the call index). */
static void put_restore(RW *rw, WasyncBuf *b, const uint64_t *bits,
                        uint32_t size, bool popped) {
  WasyncAsyncifyCtx *c = rw->c;
  bool m64 = c->mem64;
  if (!popped) { /* p = address of the call index: pop the frame */
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_ptr(b, m64, size);
    put_op(b, m64 ? WASYNC_OP_I64_SUB : WASYNC_OP_I32_SUB);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->p);
    put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_data);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_mem(b, c, m64 ? WASYNC_OP_I64_STORE : WASYNC_OP_I32_STORE, 0);
  }
  uint32_t counts[WASYNC_FRAME_CLASSES], sv, rs;
  uint32_t n = frame_order(rw, bits, rw->order, counts);
  if (use_codec(rw, n, counts, &sv, &rs)) {
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_idx(b, WASYNC_OP_CALL, rs);
    for (uint32_t k = n; k-- > 0;)
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->order[k]);
  } else {
    uint32_t off = 0;
    for (uint32_t k = 0; k < n; k++) {
      WasyncValType t = rw->ltypes[rw->order[k]];
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
      put_mem(b, c, load_op(t), off);
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->order[k]);
      off += vt_bytes(t);
    }
  }
  /* References, in reverse push order. */
  for (uint32_t x = rw->nlocals; x-- > 0;) {
    if (!BIT(bits, x) || !wasync_vt_is_ref(rw->ltypes[x])) continue;
    WasyncValType t = rw->ltypes[x];
    uint32_t k = ref_stack(c, wasync_asyncify_ref_kind(rw->m, t));
    uint32_t sp = c->ref_sp[k], tab = c->ref_table[k];
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_i32(b, 1);
    put_op(b, WASYNC_OP_I32_SUB);
    put_idx(b, WASYNC_OP_GLOBAL_SET, sp);
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_idx(b, WASYNC_OP_TABLE_GET, tab);
    bool exact = !wasync_vt_indexed(t) && wasync_vt_heap(t) == ref_top[k];
    if (!exact || !wasync_vt_nullable(t)) {
      if (k == 3 ||
          (!wasync_vt_indexed(t) && wasync_vt_heap(t) == ref_top[k])) {
        if (!wasync_vt_nullable(t)) put_op(b, WASYNC_OP_REF_AS_NON_NULL);
      } else {
        WasyncInstr in;
        memset(&in, 0, sizeof in);
        in.op = wasync_vt_nullable(t) ? WASYNC_OP_REF_CAST_NULL
                                      : WASYNC_OP_REF_CAST;
        in.imm.ref = t;
        put(b, &in);
      }
    }
    put_idx(b, WASYNC_OP_LOCAL_SET, x);
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_ref_null(b, ref_top[k]);
    put_idx(b, WASYNC_OP_TABLE_SET, tab);
  }
}

/* Save code for one layout (ci holds the call index). */
static void put_save(RW *rw, WasyncBuf *b, const uint64_t *bits,
                     uint32_t size) {
  WasyncAsyncifyCtx *c = rw->c;
  bool m64 = c->mem64;
  uint32_t psz = m64 ? 8 : 4;
  uint16_t ld = m64 ? WASYNC_OP_I64_LOAD : WASYNC_OP_I32_LOAD;
  uint16_t geu = m64 ? WASYNC_OP_I64_GE_U : WASYNC_OP_I32_GE_U;
  uint32_t push, pop;
  bool shared = wasync_asyncify_frame_stack(c, &push, &pop);
  if (!shared) rw->oom = true; /* the only way it fails */
  if (shared) {
    /* (p, fits) = push(size, ci): bounds, call index and pos in there */
    put_ptr(b, m64, size);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
    put_idx(b, WASYNC_OP_CALL, push);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->ci);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->p);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
  } else {
    put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_data);
    put_mem(b, c, ld, 0);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->p);
    /* end - pos >= size + 4  &&  end >= pos */
    put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_data);
    put_mem(b, c, ld, psz);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_op(b, m64 ? WASYNC_OP_I64_SUB : WASYNC_OP_I32_SUB);
    put_ptr(b, m64, (uint64_t)size + 4);
    put_op(b, geu);
    put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_data);
    put_mem(b, c, ld, psz);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_op(b, geu);
    put_op(b, WASYNC_OP_I32_AND);
  }
  put_block(b, WASYNC_OP_IF);
  uint32_t counts[WASYNC_FRAME_CLASSES], sv, rs;
  uint32_t n = frame_order(rw, bits, rw->order, counts);
  if (use_codec(rw, n, counts, &sv, &rs)) {
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    for (uint32_t k = 0; k < n; k++)
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->order[k]);
    put_idx(b, WASYNC_OP_CALL, sv);
  } else {
    uint32_t off = 0;
    for (uint32_t k = 0; k < n; k++) {
      WasyncValType t = rw->ltypes[rw->order[k]];
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->order[k]);
      put_mem(b, c, store_op(t), off);
      off += vt_bytes(t);
    }
  }
  if (!shared) {
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
    put_mem(b, c, WASYNC_OP_I32_STORE, size);
  }
  for (uint32_t x = 0; x < rw->nlocals; x++) {
    if (!BIT(bits, x) || !wasync_vt_is_ref(rw->ltypes[x])) continue;
    uint32_t k = ref_stack(c, wasync_asyncify_ref_kind(rw->m, rw->ltypes[x]));
    uint32_t sp = c->ref_sp[k], tab = c->ref_table[k];
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_idx(b, WASYNC_OP_TABLE_SIZE, tab);
    put_op(b, WASYNC_OP_I32_GE_U);
    put_block(b, WASYNC_OP_IF);
    put_ref_null(b, ref_top[k]);
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_i32(b, 16);
    put_op(b, WASYNC_OP_I32_ADD);
    put_idx(b, WASYNC_OP_TABLE_GROW, tab);
    put_op(b, WASYNC_OP_DROP);
    put_op(b, WASYNC_OP_END);
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_idx(b, WASYNC_OP_LOCAL_GET, x);
    put_idx(b, WASYNC_OP_TABLE_SET, tab);
    put_idx(b, WASYNC_OP_GLOBAL_GET, sp);
    put_i32(b, 1);
    put_op(b, WASYNC_OP_I32_ADD);
    put_idx(b, WASYNC_OP_GLOBAL_SET, sp);
  }
  put_op(b, WASYNC_OP_END);
  if (shared) return;
  put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
  put_ptr(b, m64, (uint64_t)size + 4);
  put_op(b, m64 ? WASYNC_OP_I64_ADD : WASYNC_OP_I32_ADD);
  put_mem(b, c, m64 ? WASYNC_OP_I64_STORE : WASYNC_OP_I32_STORE, 0);
}

/* Dispatches on ci to one piece of code per layout. */
static void put_dispatch(RW *rw, WasyncBuf *b, Layout *lay, uint32_t nlay,
                         const uint64_t *bits, size_t W, bool save) {
  if (nlay == 1) {
    if (save)
      put_save(rw, b, bits + (size_t)lay[0].bits * W, lay[0].size);
    else
      put_restore(rw, b, bits + (size_t)lay[0].bits * W, lay[0].size, false);
    return;
  }
  put_block(b, WASYNC_OP_BLOCK); /* $done */
  for (uint32_t k = 0; k < nlay; k++)
    put_block(b, WASYNC_OP_BLOCK);
  put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
  {
    WasyncInstr in;
    memset(&in, 0, sizeof in);
    in.op = WASYNC_OP_BR_TABLE;
    uint32_t *labels = wasync_arena_array(&rw->m->arena, rw->nsites + 1, 4);
    if (!labels) {
      rw->oom = true;
      return;
    }
    for (uint32_t s = 0; s < rw->nsites; s++)
      labels[s] = rw->sites[s].layout;
    in.imm.br_table.count = rw->nsites;
    in.imm.br_table.labels = labels;
    in.imm.br_table.default_label = nlay - 1;
    put(b, &in);
  }
  for (uint32_t k = 0; k < nlay; k++) {
    put_op(b, WASYNC_OP_END);
    if (save)
      put_save(rw, b, bits + (size_t)lay[k].bits * W, lay[k].size);
    else
      put_restore(rw, b, bits + (size_t)lay[k].bits * W, lay[k].size, false);
    put_idx(b, WASYNC_OP_BR, nlay - 1 - k);
  }
  put_op(b, WASYNC_OP_END);
}

/* A nullable reference to a bottom heap type only ever holds null: it
 * needs no saving (a local restarts as null). */
static bool is_null_only(WasyncValType t) {
  if (!wasync_vt_is_ref(t) || !wasync_vt_nullable(t) || wasync_vt_indexed(t))
    return false;
  uint32_t h = wasync_vt_heap(t);
  return h == WASYNC_HT_NONE || h == WASYNC_HT_NOFUNC ||
         h == WASYNC_HT_NOEXTERN || h == WASYNC_HT_NOEXN;
}

/* ---- layouts
 * ------------------------------------------------------------------ */

static uint64_t hash_bits(const uint64_t *b, size_t W) {
  uint64_t h = 1469598103934665603ull;
  for (size_t w = 0; w < W; w++) {
    h ^= b[w];
    h *= 1099511628211ull;
    h ^= h >> 29;
  }
  return h;
}

static void put_zero(WasyncBuf *b, WasyncValType t) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  switch (wasync_vt_code(t)) {
  case WASYNC_VT_I32: in.op = WASYNC_OP_I32_CONST; break;
  case WASYNC_VT_I64: in.op = WASYNC_OP_I64_CONST; break;
  case WASYNC_VT_F32: in.op = WASYNC_OP_F32_CONST; break;
  case WASYNC_VT_F64: in.op = WASYNC_OP_F64_CONST; break;
  case WASYNC_VT_V128: in.op = WASYNC_OP_V128_CONST; break;
  default:
    in.op = WASYNC_OP_REF_NULL;
    in.imm.ref = t | WASYNC_VT_NULLABLE;
    break;
  }
  put(b, &in);
}

/* At most this many frame layouts per function: each layout costs save and
 * restore code for its locals, so beyond it layouts are merged (unions of
 * their live sets, most similar first).  One: a merged layout only costs
 * unwind-buffer bytes, while separate layouts cost code (QuickJS with
 * 8: 2.0x its size, with 1: 1.64x), and V8's frames measured the same
 * (QuickJS's interpreter loop keeps nearly every local live at every
 * call site anyway). */
#define LAYOUT_MAX 1

static uint32_t popcount_andnot(const uint64_t *a, const uint64_t *b,
                                size_t W) {
  uint32_t n = 0;
  for (size_t w = 0; w < W; w++) {
    uint64_t v = a[w] & ~b[w];
    while (v) {
      v &= v - 1;
      n++;
    }
  }
  return n;
}

/* Merges the layouts into LAYOUT_MAX clusters: layouts largest first, each
 * joins the cluster it grows least (or starts one while there is room).
 * Cluster sets live in bits rows nsites+1 .. nsites+LAYOUT_MAX. */
static bool cluster_layouts(RW *rw, uint64_t *bits, size_t W, Layout *lay,
                            uint32_t *nlay) {
  const WasyncAllocator *al = rw->al;
  uint32_t n = *nlay;
  uint32_t *order = al->alloc(al->ctx, (size_t)n * 4);
  uint32_t *to = al->alloc(al->ctx, (size_t)n * 4);
  if (!order || !to) {
    al->free(al->ctx, order);
    al->free(al->ctx, to);
    return false;
  }
  uint64_t *cb = bits + ((size_t)rw->nsites + 1) * W;
  memset(cb, 0, (size_t)LAYOUT_MAX * W * 8);
  for (uint32_t k = 0; k < n; k++) {
    uint32_t j = k;
    while (j > 0 && lay[order[j - 1]].size < lay[k].size) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = k;
  }
  uint32_t nc = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t k = order[i];
    const uint64_t *row = bits + (size_t)lay[k].bits * W;
    uint32_t best = 0, bestg = UINT32_MAX;
    for (uint32_t c = 0; c < nc && bestg; c++) {
      uint32_t g = popcount_andnot(row, cb + (size_t)c * W, W);
      if (g < bestg) bestg = g, best = c;
    }
    if (bestg > 0 && nc < LAYOUT_MAX) best = nc++;
    uint64_t *dst = cb + (size_t)best * W;
    for (size_t w = 0; w < W; w++)
      dst[w] |= row[w];
    to[k] = best;
  }
  for (uint32_t s = 0; s < rw->nsites; s++)
    rw->sites[s].layout = to[rw->sites[s].layout];
  for (uint32_t c = 0; c < nc; c++) {
    lay[c].bits = rw->nsites + 1 + c;
    uint32_t size = 0;
    const uint64_t *row = cb + (size_t)c * W;
    for (uint32_t x = 0; x < rw->nlocals; x++)
      if (BIT(row, x)) size += vt_bytes(rw->ltypes[x]);
    lay[c].size = size;
  }
  *nlay = nc;
  al->free(al->ctx, order);
  al->free(al->ctx, to);
  return true;
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

/* Encodes a dispatch br_table (on the stack: ci - base) as a chain of
 * compares when that is smaller: its labels form a few runs of equal
 * depth over the site range (one run per piece), while the table costs a
 * byte or two per site of every enclosed sequence.  From the highest run
 * down: if (ci >= run start) br run label; finally br default. */
static void put_dispatch_table(RW *rw, WasyncBuf *b, const WasyncInstr *in,
                               int32_t base) {
  const uint32_t *lab = in->imm.br_table.labels;
  uint32_t n = in->imm.br_table.count, def = in->imm.br_table.default_label;
  uint32_t runs = 0;
  size_t table = 4;
  for (uint32_t j = 0; j < n; j++) {
    if (j == 0 || lab[j] != lab[j - 1]) runs++;
    table += lab[j] < 128 ? 1 : 2;
  }
  if ((size_t)runs * 9 + 12 >= table) {
    put(b, in);
    return;
  }
  put_op(b, WASYNC_OP_DROP);
  /* Above the range: the default. */
  put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
  put_i32(b, base + (int32_t)n);
  put_op(b, WASYNC_OP_I32_GE_U);
  put_idx(b, WASYNC_OP_BR_IF, def);
  for (uint32_t j = n; j > 0;) {
    uint32_t hi = j, lo = j - 1;
    while (lo > 0 && lab[lo - 1] == lab[hi - 1])
      lo--;
    j = lo;
    if (lo == 0 && lab[0] == def) break; /* falls through to the default */
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
    put_i32(b, base + (int32_t)lo);
    put_op(b, WASYNC_OP_I32_GE_U);
    put_idx(b, WASYNC_OP_BR_IF, lab[hi - 1]);
  }
  put_idx(b, WASYNC_OP_BR, def);
}

/* Writes the declarations of locals nparams..upto-1 (grouped by type);
 * returns the groups (NULL: out of memory, rw->oom set). */
static WasyncLocalGroup *put_locals(RW *rw, WasyncBuf *b, uint32_t upto,
                                    uint32_t *ngroups) {
  uint32_t n = 0;
  for (uint32_t x = rw->nparams; x < upto; x++)
    if (x == rw->nparams || rw->ltypes[x] != rw->ltypes[x - 1]) n++;
  WasyncLocalGroup *groups =
      wasync_arena_array(&rw->m->arena, n + 1, sizeof *groups);
  if (!groups) {
    rw->oom = true;
    return NULL;
  }
  wasync_buf_u32(b, n);
  uint32_t g = 0;
  for (uint32_t x = rw->nparams; x < upto;) {
    uint32_t y = x;
    while (y < upto && rw->ltypes[y] == rw->ltypes[x])
      y++;
    wasync_buf_u32(b, y - x);
    wasync_write_valtype(b, rw->ltypes[x]);
    groups[g].count = y - x;
    groups[g].type = rw->ltypes[x];
    g++;
    x = y;
  }
  *ngroups = n;
  return groups;
}

/* Makes b (locals + expr) the body of function `target`. */
static bool set_code(RW *rw, uint32_t target, const WasyncBuf *b,
                     uint32_t expr_start, WasyncLocalGroup *groups,
                     uint32_t ngroups, uint32_t nlocals) {
  uint8_t *body =
      b->oom ? NULL : wasync_arena_alloc(&rw->m->arena, b->size ? b->size : 1);
  if (!body) {
    rw->oom = true;
    return false;
  }
  memcpy(body, b->data, b->size);
  WasyncCode *code = &rw->m->funcs[target].code;
  code->body = body;
  code->size = (uint32_t)b->size;
  code->expr_start = expr_start;
  code->nlocal_groups = ngroups;
  code->local_groups = groups;
  code->nlocals = nlocals;
  code->replaced = true;
  return true;
}

/* Marks in drop[] every plain block left with nothing inside once the
 * instructions already marked are gone (piece blocks nothing targets, as
 * piece 0 of a sequence whose first construct's dispatch serves it, or
 * blocks emptied by an elided dispatch): nothing can branch to a block with
 * nothing inside.  stk: scratch of rw->nout entries. */
static void drop_empty_blocks(RW *rw, uint8_t *drop, uint32_t *stk) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < rw->nout; i++) {
    if (drop[i]) continue;
    uint16_t op = rw->out[i].op;
    if (op == WASYNC_OP_BLOCK || op == WASYNC_OP_LOOP || op == WASYNC_OP_IF ||
        op == WASYNC_OP_TRY || op == WASYNC_OP_TRY_TABLE) {
      stk[n++] = i << 1; /* low bit: has content */
      continue;
    }
    if ((op == WASYNC_OP_END || op == WASYNC_OP_DELEGATE) && n > 0) {
      uint32_t top = stk[--n];
      uint32_t o = top >> 1;
      bool empty = !(top & 1) && op == WASYNC_OP_END &&
                   rw->out[o].op == WASYNC_OP_BLOCK &&
                   rw->out[o].imm.block.kind == WASYNC_BLOCK_EMPTY;
      if (empty && o > 0) {
        drop[o] = drop[i] = 1;
        continue;
      }
      if (n > 0) stk[n - 1] |= 1;
      continue;
    }
    if (n > 0) stk[n - 1] |= 1;
  }
}

static bool finish(RW *rw) {
  WasyncModule *m = rw->m;
  WasyncAsyncifyCtx *c = rw->c;
  const WasyncAllocator *al = rw->al;
  size_t W = ((size_t)rw->nlocals + 63) / 64;
  if (W == 0) W = 1;
  uint64_t *bits =
      al->alloc(al->ctx, ((size_t)rw->nsites + 1 + LAYOUT_MAX) * W * 8);
  Layout *lay =
      al->alloc(al->ctx, ((size_t)rw->nsites + 1 + LAYOUT_MAX) * sizeof *lay);
  uint8_t *disp_mark = al->alloc(al->ctx, (size_t)rw->nout + 1);
  rw->order = al->alloc(al->ctx, ((size_t)rw->nlocals + 1) * 4);
  uint8_t *skip = NULL;  /* split: out[] not in the function */
  uint8_t *elide = NULL; /* out[] left out of both variants */
  uint8_t *vdrop = NULL; /* out[] left out of the variant at hand */
  uint32_t *vstk = NULL;
  uint32_t rewind = UINT32_MAX; /* split: the rewind-only copy */
  WasyncBuf b;
  wasync_buf_init(&b, al);
  bool ok = false;
  if (!bits || !lay || !disp_mark || !rw->order) {
    rw->oom = true;
    goto out;
  }
  memset(bits, 0, ((size_t)rw->nsites + 1 + LAYOUT_MAX) * W * 8);
  memset(disp_mark, 0, (size_t)rw->nout + 1);
  for (uint32_t q = 0; q < rw->nseqs; q++) {
    const Seq *sq = &rw->seqs[q];
    if (sq->disp != UINT32_MAX && sq->disp >= 2 && sq->base_at == sq->disp - 2)
      disp_mark[sq->disp] = 1; /* local.get ci; i32.const base; i32.sub */
  }
  if (!wasync_asyncify_liveness(rw->out, rw->nout, PSEUDO_SITE, rw->nlocals,
                                rw->nsites, bits, al)) {
    rw->oom = true;
    goto out;
  }
  /* Per site: live ∪ path, minus ci/p; deduplicate into layouts. */
  uint32_t nlay = 0;
  for (uint32_t s = 0; s < rw->nsites; s++) {
    uint64_t *sb = bits + (size_t)s * W;
    Site *site = &rw->sites[s];
    for (uint32_t k = 0; k < site->path_count; k++) {
      uint32_t x = rw->path[site->path_start + k];
      sb[x / 64] |= 1ull << (x % 64);
    }
    for (uint32_t x = 0; x < rw->nlocals; x++)
      if (BIT(sb, x) && is_null_only(rw->ltypes[x]))
        sb[x / 64] &= ~(1ull << (x % 64));
    sb[rw->ci / 64] &= ~(1ull << (rw->ci % 64));
    sb[rw->p / 64] &= ~(1ull << (rw->p % 64));
    uint64_t h = hash_bits(sb, W);
    uint32_t k;
    for (k = 0; k < nlay; k++)
      if (lay[k].hash == h &&
          memcmp(bits + (size_t)lay[k].bits * W, sb, W * 8) == 0)
        break;
    if (k == nlay) {
      lay[k].bits = s;
      lay[k].hash = h;
      uint32_t size = 0;
      for (uint32_t x = 0; x < rw->nlocals; x++)
        if (BIT(sb, x)) size += vt_bytes(rw->ltypes[x]);
      lay[k].size = size;
      nlay++;
    }
    site->layout = k;
  }
  if (nlay > LAYOUT_MAX && !cluster_layouts(rw, bits, W, lay, &nlay)) {
    rw->oom = true;
    goto out;
  }

  /* A dispatch that can only land on piece 0 right after itself does
   * nothing: it goes, with piece 0's block (nothing else is inside it). */
  elide = al->alloc(al->ctx, (size_t)rw->nout + 1);
  if (!elide) {
    rw->oom = true;
    goto out;
  }
  memset(elide, 0, (size_t)rw->nout + 1);
  /* One with a single target whatever the call index needs no table:
   * global.get state; br_if target. */
  for (uint32_t q = 0; q < rw->nseqs; q++) {
    const Seq *sq = &rw->seqs[q];
    if (sq->disp == UINT32_MAX) continue;
    const WasyncInstr *bt = &rw->out[sq->disp];
    uint32_t target = bt->imm.br_table.default_label;
    bool single = target >= 1;
    for (uint32_t j = 0; j < bt->imm.br_table.count && single; j++)
      single = bt->imm.br_table.labels[j] == target;
    if (!single) continue;
    if (target == 1 && sq->p0_close == sq->disp_end &&
        sq->p0_open + 1 == sq->disp_start) {
      elide[sq->p0_open] = elide[sq->p0_close] = 1;
      for (uint32_t i = sq->disp_start; i < sq->disp_end; i++)
        elide[i] = 1;
      continue;
    }
    /* out[disp_start] is the global.get; its `if` becomes the br_if. */
    WasyncInstr *br = &rw->out[sq->disp_start + 1];
    memset(br, 0, sizeof *br);
    br->op = WASYNC_OP_BR_IF;
    br->imm.index = target - 1;
    for (uint32_t i = sq->disp_start + 2; i < sq->disp_end; i++)
      elide[i] = 1;
  }

  /* The split rewind path (see split_min_sites): the full body goes to a
   * new function, `rewind`, the body without the sequences' dispatches to
   * another, `fast`; the function itself becomes a trampoline to one or the
   * other (a frame of a few bytes: a rewound activation costs no more
   * native stack than a normal one, and no tail call is needed). */
  uint32_t fast = UINT32_MAX;
  if (rw->split) {
    static const uint8_t end_only[] = {0x0B};
    skip = al->alloc(al->ctx, (size_t)rw->nout + 1);
    if (!skip ||
        !wasync_module_add_func(m, m->funcs[rw->func].type, end_only, 1,
                                &rewind) ||
        !wasync_module_add_func(m, m->funcs[rw->func].type, end_only, 1,
                                &fast)) {
      rw->oom = true;
      goto out;
    }
    memset(skip, 0, (size_t)rw->nout + 1);
    for (uint32_t q = 0; q < rw->nseqs; q++) {
      const Seq *sq = &rw->seqs[q];
      if (sq->disp == UINT32_MAX) continue;
      for (uint32_t i = sq->disp_start; i < sq->disp_end && i < rw->nout; i++)
        skip[i] = 1;
    }
  }
  vdrop = al->alloc(al->ctx, (size_t)rw->nout + 1);
  vstk = al->alloc(al->ctx, ((size_t)rw->nout + 1) * 4);
  if (!vdrop || !vstk) {
    rw->oom = true;
    goto out;
  }
  for (uint32_t variant = 0; variant < (rw->split ? 2u : 1u); variant++) {
    bool normal = rw->split && variant == 1; /* `fast` */
    for (uint32_t i = 0; i < rw->nout; i++)
      vdrop[i] = elide[i] | (normal ? skip[i] : 0);
    drop_empty_blocks(rw, vdrop, vstk);
    uint32_t target = !rw->split ? rw->func : normal ? fast : rewind;
    b.size = 0;
    /* Locals. */
    uint32_t ngroups;
    WasyncLocalGroup *groups = put_locals(rw, &b, rw->nlocals, &ngroups);
    if (!groups) goto out;
    uint32_t expr_start = (uint32_t)b.size;

    /* Prologue. */
    bool m64 = c->mem64;
    const WasyncSubType *ft = wasync_func_type(m, rw->func);
    uint32_t push, pop;
    if (!normal && rw->nsites > 0 && nlay == 1 &&
        !wasync_asyncify_frame_stack(c, &push, &pop)) {
      rw->oom = true;
      goto out;
    }
    if (!normal && rw->nsites > 0 && nlay == 1) {
      /* (p, ci) = pop(size); restore */
      put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
      put_i32(&b, 2);
      put_op(&b, WASYNC_OP_I32_EQ);
      put_block(&b, WASYNC_OP_IF);
      put_ptr(&b, m64, lay[0].size);
      put_idx(&b, WASYNC_OP_CALL, pop);
      put_idx(&b, WASYNC_OP_LOCAL_SET, rw->ci);
      put_idx(&b, WASYNC_OP_LOCAL_SET, rw->p);
      put_restore(rw, &b, bits + (size_t)lay[0].bits * W, lay[0].size, true);
      put_op(&b, WASYNC_OP_END);
    } else if (!normal && rw->nsites > 0) {
      put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
      put_i32(&b, 2);
      put_op(&b, WASYNC_OP_I32_EQ);
      put_block(&b, WASYNC_OP_IF);
      put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
      put_mem(&b, c, m64 ? WASYNC_OP_I64_LOAD : WASYNC_OP_I32_LOAD, 0);
      put_ptr(&b, m64, 4);
      put_op(&b, m64 ? WASYNC_OP_I64_SUB : WASYNC_OP_I32_SUB);
      put_idx(&b, WASYNC_OP_LOCAL_TEE, rw->p);
      put_mem(&b, c, WASYNC_OP_I32_LOAD, 0);
      put_idx(&b, WASYNC_OP_LOCAL_SET, rw->ci);
      put_dispatch(rw, &b, lay, nlay, bits, W, false);
      put_op(&b, WASYNC_OP_END);
    }
    /* Body.  out[0] (block $unwind) stands for: block $exit, then one block
     * per layout, $L(nlay-1) outermost; a site branches straight to its
     * layout's save code, so an engine sees only that layout's locals live
     * at the branch (a shared epilogue would keep every saved local of every
     * site alive everywhere).  The final `end` closes them in turn:
     *   end $L0  save0  br $exit  ...  end $L(nlay-1)  save(nlay-1)  end $exit
     */
    for (uint32_t i = 0; i < rw->nout; i++) {
      const WasyncInstr *in = &rw->out[i];
      if (i == 0) {
        put_block(&b, WASYNC_OP_BLOCK); /* $exit */
        for (uint32_t k = 0; k < nlay; k++) {
          WasyncInstr blk; /* $L(k): the call index arrives as its value */
          memset(&blk, 0, sizeof blk);
          blk.op = WASYNC_OP_BLOCK;
          blk.imm.block.kind = WASYNC_BLOCK_VALUE;
          blk.imm.block.value = WASYNC_VT_I32;
          put(&b, &blk);
        }
        continue;
      }
      if (i + 1 == rw->nout) { /* the end of $unwind */
        for (uint32_t k = 0; k < nlay; k++) {
          put_op(&b, WASYNC_OP_END);
          put_idx(&b, WASYNC_OP_LOCAL_SET, rw->ci);
          put_save(rw, &b, bits + (size_t)lay[k].bits * W, lay[k].size);
          if (k + 1 < nlay) put_idx(&b, WASYNC_OP_BR, nlay - 1 - k);
        }
        put_op(&b, WASYNC_OP_END);
        continue;
      }
      if (vdrop[i]) continue;
      if (in->op == PSEUDO_BR_UNWIND) {
        put_idx(&b, WASYNC_OP_BR_IF,
                in->imm.pair.b + rw->sites[in->imm.pair.a].layout);
        continue;
      }
      if (in->op == WASYNC_OP_BR_TABLE && disp_mark && disp_mark[i]) {
        put_dispatch_table(rw, &b, in, rw->out[i - 2].imm.i32);
        continue;
      }
      if (in->op < WASYNC_OP_COUNT) put(&b, in);
    }
    for (uint32_t r = 0; r < ft->nresults; r++)
      put_zero(&b, ft->results[r]);
    put_op(&b, WASYNC_OP_END);
    if (b.oom || rw->oom) {
      rw->oom = true;
      goto out;
    }
    if (b.size > UINT32_MAX) {
      wasync_fail(rw->err, WASYNC_ERR_LIMIT, m->funcs[rw->func].code.offset,
                  "function too large after asyncify");
      goto out;
    }
    if (!set_code(rw, target, &b, expr_start, groups, ngroups,
                  rw->nlocals - rw->nparams))
      goto out;
  }
  if (rw->split) {
    /* The trampoline: if (state == 2) return rewind(params); fast(params).
     * It declares the function's original locals, unused, so that a name
     * section naming them stays valid. */
    const WasyncSubType *ft = wasync_func_type(m, rw->func);
    b.size = 0;
    uint32_t ngroups;
    WasyncLocalGroup *groups = put_locals(rw, &b, rw->norig_locals, &ngroups);
    if (!groups) goto out;
    uint32_t expr_start = (uint32_t)b.size;
    put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
    put_i32(&b, 2);
    put_op(&b, WASYNC_OP_I32_EQ);
    put_block(&b, WASYNC_OP_IF);
    for (uint32_t x = 0; x < ft->nparams; x++)
      put_idx(&b, WASYNC_OP_LOCAL_GET, x);
    put_idx(&b, WASYNC_OP_CALL, rewind);
    put_op(&b, WASYNC_OP_RETURN);
    put_op(&b, WASYNC_OP_END);
    for (uint32_t x = 0; x < ft->nparams; x++)
      put_idx(&b, WASYNC_OP_LOCAL_GET, x);
    put_idx(&b, WASYNC_OP_CALL, fast);
    put_op(&b, WASYNC_OP_END);
    if (!set_code(rw, rw->func, &b, expr_start, groups, ngroups,
                  rw->norig_locals - rw->nparams))
      goto out;
  }
  ok = true;
out:
  wasync_buf_release(&b);
  al->free(al->ctx, bits);
  al->free(al->ctx, lay);
  al->free(al->ctx, disp_mark);
  al->free(al->ctx, skip);
  al->free(al->ctx, elide);
  al->free(al->ctx, vdrop);
  al->free(al->ctx, vstk);
  return ok;
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
  if (!decode_body(&rw)) goto out;
  for (;;) {
    uint32_t t = mark_hot(&rw);
    if (rw.oom || t == UINT32_MAX) break;
    if (!restructure_try(&rw, t)) goto out;
  }
  if (rw.oom || !count_pieces(&rw)) goto out;
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
    add_local(&rw, t);
  }
  rw.norig_locals = nl;
  rw.ci = add_local(&rw, WASYNC_VT_I32);
  rw.p = add_local(&rw, c->mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32);
  if (rw.oom) goto out;
  if (!generate(&rw)) goto out;
  rw.split = c->split && c->split[func];
  ok = finish(&rw);
out:
  if (rw.oom)
    wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  else if (!ok && rw.bad)
    wasync_fail(c->err, WASYNC_ERR_INVALID, rw.m->funcs[func].code.offset,
                "asyncify: function %u could not be rewritten", func);
  rw_free(&rw);
  return ok;
}
