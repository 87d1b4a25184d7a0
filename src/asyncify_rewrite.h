/*
 * asyncify_rewrite.h -- the shared state of the rewrite of one instrumented
 * function, for the files that do its steps:
 *
 *   asyncify_rewrite.c   the driver: wasync_asyncify_function, in order
 *   asyncify_mark.c      1. decode the body into in[], restructure legacy
 *                           trys with unwinding calls in their handlers,
 *                           mark the hot instructions, count the pieces
 *   asyncify_generate.c  2. generate the new body into out[]: pieces,
 *                           dispatches, temps, call sites
 *   asyncify_finish.c    3. the frame (liveness), then encode: prologue
 *                           (restore), body, save block; the split rewind
 *                           path's two variants and trampoline
 *
 * out[] holds decoded instructions plus the pseudo-instructions below,
 * which only the finish step turns into bytes (or drops).
 */
#ifndef WASYNC_ASYNCIFY_REWRITE_H
#define WASYNC_ASYNCIFY_REWRITE_H

#include "asyncify.h"

#define PSEUDO_SITE ((uint16_t)(WASYNC_OP_COUNT + 1))
/* br_if to the save block for site imm.pair.a; imm.pair.b is the depth of
 * the save block from there. */
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
  /* size_report: per out[] instruction, what it is for (SZ_*, asyncify.h);
   * cat: the category of what is emitted now. */
  uint8_t *ocat, cat;
  uint32_t ocat_cap;

  WasyncValType *ltypes; /* all locals (params first) as declared in output */
  uint8_t *lfix;         /* 1: declared non-null in the input, relaxed */
  uint32_t nlocals, nparams, norig_locals, ltypes_cap;

  Temp *temps;
  uint32_t ntemps, temps_cap;
  uint32_t *order; /* finish: the frame's numeric locals in frame order */
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
  /* A hot `if` is next: the cold run before it stores its condition
   * straight into this cond local (UINT32_MAX: none); cond_spilled: it
   * did (see close_cold). */
  uint32_t cond_spill;
  bool cond_spilled;
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

/* ---- shared helpers (asyncify_rewrite.c) --------------------------------- */

/* Grows *arr (capacity *cap) to hold `need` elements of `size` bytes
 * (doubling, from 16); false and rw->oom on failure. */
bool wasync_rewrite_grow(RW *rw, void **arr, uint32_t *cap, uint32_t need,
                         size_t size);
#define GROW(rw, arr, cap, need)                                               \
  wasync_rewrite_grow((rw), (void **)&(arr), &(cap), (need), sizeof *(arr))

/* Appends a local of type t; its index (0 on out of memory, rw->oom). */
uint32_t wasync_rewrite_add_local(RW *rw, WasyncValType t);

static inline WasyncValType nullable(WasyncValType t) {
  return wasync_vt_is_ref(t) ? (t | WASYNC_VT_NULLABLE) : t;
}
static inline bool needs_as_non_null(WasyncValType t) {
  return wasync_vt_is_ref(t) && !wasync_vt_nullable(t);
}
static inline bool is_opener(uint16_t op) {
  return op == WASYNC_OP_BLOCK || op == WASYNC_OP_LOOP || op == WASYNC_OP_IF ||
         op == WASYNC_OP_TRY || op == WASYNC_OP_TRY_TABLE;
}

/* ---- the steps ------------------------------------------------------------
 */

/* asyncify_mark.c */
bool wasync_rewrite_decode(RW *rw);
/* Marks hot instructions; returns the index of a legacy `try` with an
 * unwinding call in one of its handlers (to restructure first), or
 * UINT32_MAX. */
uint32_t wasync_rewrite_mark_hot(RW *rw);
bool wasync_rewrite_restructure_try(RW *rw, uint32_t t);
bool wasync_rewrite_count_pieces(RW *rw);

/* asyncify_generate.c: out[] from in[] */
bool wasync_rewrite_generate(RW *rw);

/* asyncify_finish.c: the frame, then the encoded body (or bodies) */
bool wasync_rewrite_finish(RW *rw);

#endif
