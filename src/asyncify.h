/*
 * asyncify.h -- internals of the asyncify pass (asyncify*.c).  The idea,
 * the states and the frame layout are described at the top of asyncify.c.
 */
#ifndef WASYNC_ASYNCIFY_H
#define WASYNC_ASYNCIFY_H

#include "instr.h"
#include "module.h"
#include "validate.h"

/* ---- options (asyncify_options.c) ---------------------------------------- */

/* Binaryen's wildcard match: '*' matches any run of characters. */
bool wasync_asyncify_match(const char *pattern, const uint8_t *s, size_t n);
bool wasync_asyncify_list_match(const WasyncNameList *list, const uint8_t *s,
                                size_t n);

/* ---- analysis (asyncify_analysis.c) -------------------------------------- */

enum {
  AFN_CAN_CHANGE = 1,  /* a call to it may change the state (unwind) */
  AFN_INSTRUMENT = 2,  /* its body gets rewritten */
  AFN_TOPMOST = 4,     /* calls asyncify start_unwind / stop_rewind */
  AFN_BOTTOMMOST = 8,  /* calls asyncify stop_unwind / start_rewind */
  AFN_ADDED = 16,      /* in the add-list or only-list */
  AFN_REMOVED = 32,    /* in the remove-list */
  AFN_REFERENCED = 64, /* may be the target of an indirect call */
  AFN_RUNTIME = 128    /* an asyncify.* import (implemented by the pass) */
};

/* Which asyncify.* runtime function an import names (0 = none). */
enum {
  ART_NONE = 0,
  ART_START_UNWIND,
  ART_STOP_UNWIND,
  ART_START_REWIND,
  ART_STOP_REWIND,
  ART_GET_STATE,
  ART_COUNT
};

typedef struct WasyncAsyncifyAnalysis {
  uint32_t nfuncs, ntypes;
  uint8_t *flags;        /* per function, AFN_* */
  uint8_t *runtime;      /* per function, ART_* (imports only) */
  uint8_t *type_unwinds; /* per type: an indirect call of this type may
                            unwind (ignoring the caller's add-list status) */
  /* For --why: the node that made each node may-unwind (function index, or
   * nfuncs + type index for "an indirect call of that type"), or
   * UINT32_MAX for seeds. */
  uint32_t *why;
  uint32_t *why_type; /* per type: the candidate function that made it */
  bool foreign;       /* functions of other modules can reach indirect calls */
  uint8_t foreign_reason; /* AFR_*: how they can */
  bool host_indirect;     /* so every indirect call may unwind (type seeds) */
} WasyncAsyncifyAnalysis;

/* Why functions of other modules can reach the module's indirect calls. */
enum {
  AFR_NONE = 0,
  AFR_TABLE_IMPORTED, /* a table is imported */
  AFR_TABLE_EXPORTED, /* a table is exported */
  AFR_REFS_IMPORTED,  /* function references come in through an import */
  AFR_REFS_EXPORTED   /* ... or through an export */
};

bool wasync_asyncify_analyze(WasyncModule *m, const WasyncAsyncifyOptions *o,
                             WasyncAsyncifyAnalysis *a, WasyncError *err);

/* Whether a call instruction inside instrumented function `caller` may
 * unwind. */
bool wasync_asyncify_call_unwinds(const WasyncModule *m,
                                  const WasyncAsyncifyAnalysis *a,
                                  uint32_t caller, const WasyncInstr *in);

/* ---- rewrite (asyncify_rewrite.c and its steps, asyncify_rewrite.h) -------
 */

/* Frame layout classes (asyncify_frames.c): i32, i64, f32, f64, v128. */
#define WASYNC_FRAME_CLASSES 5

/* The shared functions of one frame shape (asyncify_frames.c). */
enum {
  WASYNC_CODEC_SAVE,  /* save(p, values...): store them at p */
  WASYNC_CODEC_STORE, /* store(ci, values...): push the frame, store */
  WASYNC_CODEC_LOAD,  /* load() -> (ci, values...): pop the frame (MV) */
  WASYNC_CODEC_KINDS
};
typedef struct WasyncFrameCodec {
  uint32_t counts[WASYNC_FRAME_CLASSES];
  uint32_t fn[WASYNC_CODEC_KINDS]; /* function indices, UINT32_MAX: none */
} WasyncFrameCodec;

/* What output bytes of instrumented functions are for (size_report;
 * asyncify_sizes.c names them). */
enum {
  SZ_COPIED,   /* the function's own instructions, as re-encoded */
  SZ_CHECK,    /* after each call: i32.const site; global.get; br_if; drop */
  SZ_TEMPS,    /* operand-stack values through locals around pieces */
  SZ_COND,     /* hot `if` conditions kept for the rewind */
  SZ_DISPATCH, /* the rewind dispatches (state check, br_table/compares) */
  SZ_PIECES,   /* piece blocks and their ends */
  SZ_WRAP,     /* $exit/$save/$body, return, zero results */
  SZ_PROLOGUE, /* if rewinding: pop the frame, restore the locals */
  SZ_SAVE,     /* the save block: push the frame, store the locals */
  SZ_LOCALS,   /* the local declarations' growth */
  SZ_ASSERTS,  /* --asserts checks */
  SZ_SPLIT,    /* split rewind path: the `fast` copy and the trampoline */
  SZ_HELPERS,  /* added shared frame functions (push/pop, codecs) */
  SZ_RUNTIME,  /* added runtime functions (asyncify_start_unwind...) */
  SZ_COUNT
};
#define SZ_TOP 8 /* functions listed by added bytes */

typedef struct WasyncAsyncifySizes {
  int64_t bytes[SZ_COUNT];
  uint64_t orig_code; /* instrumented functions' bodies in the input */
  uint64_t copies;    /* bytes of the split functions' added copies */
  uint32_t nfuncs, nsites;
  uint32_t top[SZ_TOP]; /* functions adding the most (orig index) */
  int64_t top_added[SZ_TOP];
  uint32_t top_sites[SZ_TOP];
  char top_names[SZ_TOP][64];
  uint32_t ntop;
} WasyncAsyncifySizes;

typedef struct WasyncAsyncifyCtx {
  WasyncModule *m;
  const WasyncAsyncifyOptions *o;
  WasyncAsyncifyAnalysis *a;
  WasyncError *err;
  uint32_t g_state, g_data; /* global indices */
  uint32_t memory;          /* memory index of the data structure */
  bool mem64;
  /* Reference stacks: one table + stack-pointer global per hierarchy
   * (0 func, 1 extern, 2 any, 3 exn), created on demand. */
  bool ref_used[4];
  uint32_t ref_table[4], ref_sp[4];
  uint32_t ntables_before, nglobals_before;
  uint32_t *results_type;   /* per function: a type [] -> its results (only
                               for multi-result instrumented functions) */
  uint32_t nref_new;        /* reference stacks created so far */
  uint8_t *split;           /* per function: gets a rewind-only copy */
  WasyncFrameCodec *codecs; /* shared save/restore functions */
  uint32_t ncodecs, codecs_cap;
  uint32_t frame_push, frame_pop;           /* function index + 1, 0: not yet */
  uint32_t pop_class[WASYNC_FRAME_CLASSES]; /* pop_T: index + 1, 0: not yet */
  /* The output may use multi-value; false: the MVP forms (asyncify_frames.c) */
  bool multivalue;
  /* Functions added (asyncify_names.c): those from nfuncs_before on get
   * added_names[f - nfuncs_before] (NULL: an export name or a generic one);
   * nadded: how many (set before the asyncify.* imports go). */
  uint32_t nfuncs_before, nadded, added_cap;
  char **added_names;
  WasyncAsyncifySizes *sizes; /* size_report: the tally, else NULL */
} WasyncAsyncifyCtx;

/* Whether the output may use multi-value (WasyncAsyncifyOptions.multivalue;
 * asyncify_features.c). */
bool wasync_asyncify_multivalue(const WasyncModule *m, int setting);
/* Checks that every list entry matches something (asyncify_lists.c). */
bool wasync_asyncify_check_lists(WasyncModule *m,
                                 const WasyncAsyncifyOptions *o,
                                 WasyncError *err);
/* Binaryen's asyncify-verbose lines (asyncify_verbose.c). */
void wasync_asyncify_binaryen_verbose(WasyncAsyncifyCtx *c);
/* Records base name BASE (+ SUFFIX, may be NULL) for added function f. */
bool wasync_asyncify_name(WasyncAsyncifyCtx *c, uint32_t f, const char *base,
                          const char *suffix);
/* NAME$rewind / NAME$fast for the split rewind copies of func. */
bool wasync_asyncify_name_copies(WasyncAsyncifyCtx *c, uint32_t func,
                                 uint32_t rewind, uint32_t fast);
/* Names every added function (unique in the module) in the name section. */
bool wasync_asyncify_write_names(WasyncAsyncifyCtx *c);

/* One line of diagnostics to o->log (none without it). */
void wasync_asyncify_log(const WasyncAsyncifyOptions *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* size_report (asyncify_sizes.c): counts function f's growth into the
 * tally; logs the tally for the encoded module (the pass's last step). */
void wasync_asyncify_sizes_func(WasyncAsyncifyCtx *c, uint32_t f,
                                uint64_t before, uint64_t after,
                                uint32_t nsites);
/* Counts the bodies of functions from..nfuncs-1 (added) as category cat,
 * less the split copies already counted. */
void wasync_asyncify_sizes_added(WasyncAsyncifyCtx *c, int cat, uint32_t from);
bool wasync_asyncify_sizes_report(WasyncAsyncifyCtx *c, uint64_t in_size);

/* Rewrites one instrumented defined function in place (code.replaced). */
bool wasync_asyncify_function(WasyncAsyncifyCtx *c, uint32_t func,
                              WasyncFuncValidator *v);
/* The frame class (0..4) of a numeric type, -1 for references. */
int wasync_asyncify_frame_class(WasyncValType t);
/* The shared function of kind WASYNC_CODEC_* for frames holding counts[k]
 * values of each class (asyncify_frames.c); created on first use. */
bool wasync_asyncify_frame_codec(WasyncAsyncifyCtx *c, const uint32_t *counts,
                                 int kind, uint32_t *fn);
/* pop_T() -> T for frame class k: pos -= sizeof(T), the T at pos (reads a
 * frame backward, the call index first); created on first use. */
bool wasync_asyncify_frame_pop_class(WasyncAsyncifyCtx *c, int k, uint32_t *fn);

/* The shared functions that push and pop a frame (asyncify_frames.c):
 * push(size, ci) -> (p, fits), pop(size) -> (p, ci); created on first use.
 * Without multi-value: push(size, ci) -> p, all ones when the frame does
 * not fit, and pop(size) -> p (the call index is at p + size). */
bool wasync_asyncify_frame_stack(WasyncAsyncifyCtx *c, uint32_t *push,
                                 uint32_t *pop);

/* asyncify-asserts for a function that is not instrumented: every call
 * traps if it changed the state (asyncify_asserts.c). */
bool wasync_asyncify_assert_function(WasyncAsyncifyCtx *c, uint32_t func);
/* Live locals after each PSEUDO_SITE marker (site_op) of a structured
 * instruction array: site_bits gets nsites bitsets of (nlocals+63)/64
 * words.  false: out of memory. */
bool wasync_asyncify_liveness(const WasyncInstr *code, uint32_t n,
                              uint16_t site_op, uint32_t nlocals,
                              uint32_t nsites, uint64_t *site_bits,
                              const WasyncAllocator *al);

/* Which reference stack a reference type uses (0..3). */
uint32_t wasync_asyncify_ref_kind(const WasyncModule *m, WasyncValType t);

#endif
