/*
 * validate_func.c -- the streaming function validator (the spec appendix's
 * "validation algorithm").
 *
 * Idea.  A function body is type-checked in one pass with two stacks: the
 * operand stack holds the value type of every value an instruction would
 * leave behind, the control stack one frame per open block (its label
 * types, the operand height at entry, and whether the rest of the block is
 * unreachable).  Each instruction pops the types it consumes, checking each
 * against what it expects (with subtyping), and pushes what it produces.
 * After `unreachable`, `br`, `return`, `throw`... the frame is marked
 * unreachable and the operand stack is cut back to the frame's height; pops
 * below that height then yield "bottom" (WASYNC_VT_BOT), which matches
 * anything -- the stack polymorphism of unreachable code.  Popping a
 * reference from there yields (ref bot): a non-null reference whose heap
 * type (code 0) is below every heap type -- except that ref.as_non_null and
 * br_on_null leave bottom as bottom, as V8 does (Chromium is the target;
 * the spec's algorithm would reject e.g. `unreachable ref.as_non_null
 * i32.eqz`, V8 accepts it).
 *
 * Instructions whose typing is a fixed signature (the "params:results"
 * column of opcodes.def: numeric, memory, SIMD, atomics) share one generic
 * path; only their immediates (memory index, alignment, lane) are checked by
 * kind.  Everything else -- control, variables, tables, references, GC,
 * exceptions -- is typed by hand below.
 *
 * Locals of non-defaultable type (non-null references) must be set before
 * they are read.  Their "set" bit is recorded, and the local index pushed
 * on an undo list; when a block ends (or reaches `else`/`catch`), the bits
 * set inside it are cleared again, as the spec requires.
 *
 * Data layout.  All arrays (operands, frames, locals, undo list) grow
 * geometrically and are reused from one function to the next, so validating
 * a module allocates O(max function size) once, never per instruction.
 * Frames store block types as pointers into the type section, except a
 * single-value block type, which is kept in the frame itself.
 */
#include <stdio.h>
#include <string.h>

#include "body_writer.h"
#include "fastpath.h"
#include "wasync_limits.h"
#include "opcodes.h"
#include "reader.h"
#include "validate.h"

typedef struct Frame {
  WasyncCtrlFrame pub;
  WasyncValType single; /* storage of a one-value block type's result */
  bool has_single;
  uint32_t init_height; /* undo-list height at entry */
} Frame;

struct WasyncFuncValidator {
  const WasyncModule *m;
  WasyncError *err;
  const WasyncAllocator *al;
  bool bad;

  WasyncValType *vals;
  uint32_t nvals, vals_cap;
  Frame *ctrls;
  uint32_t nctrls, ctrls_cap;
  WasyncValType *locals;
  uint8_t *local_set;
  uint32_t nlocals, locals_cap;
  uint32_t *inits;
  uint32_t ninits, inits_cap;

  const uint8_t *declared; /* bitset of declared function refs, or NULL */
  const WasyncSubType *ftype;
  uint32_t func;
  bool done;
  uint64_t at; /* offset of the instruction being checked */

  WasyncInstrReader ir;
  bool ir_live;

  /* The signature column, pre-parsed: per op, up to 4 params then up to 2
   * results as value type codes (SIG_ADDR = the memory's address type). */
  uint8_t sig_np[WASYNC_OP_COUNT], sig_nr[WASYNC_OP_COUNT];
  uint8_t sig[WASYNC_OP_COUNT][6];
  /* per op with a signature: 1 = no immediate to check (none, or a
   * constant), 2 = a memarg (step_sig's fast path), 3 = other; 0 = no
   * signature (typed by hand) */
  uint8_t sig_fast[WASYNC_OP_COUNT];
};

#define SIG_ADDR 0xFFu

/* ---- errors and growth ---- */

/* Records an error at `at`: `msg` (the spec's wording first, details
 * after) and the function it is in.  Only here, on the error path, is
 * anything formatted. */
static bool fail_code(WasyncFuncValidator *v, WasyncErrorCode code, uint64_t at,
                      const char *msg) {
  v->bad = true;
  if (v->func == UINT32_MAX) return wasync_fail(v->err, code, at, "%s", msg);
  return wasync_fail(v->err, code, at, "%s (in function %u)", msg, v->func);
}

static bool fail(WasyncFuncValidator *v, const char *msg) {
  return fail_code(v, WASYNC_ERR_INVALID, v->at, msg);
}

static bool failn(WasyncFuncValidator *v, const char *msg, uint32_t n) {
  char text[128];
  snprintf(text, sizeof text, "%s %u", msg, (unsigned)n);
  return fail(v, text);
}

/* "type mismatch" with the operand type wanted and the one found
 * (WASYNC_VT_BOT: none, the stack was empty). */
static bool fail_mismatch(WasyncFuncValidator *v, WasyncValType expected,
                          WasyncValType actual) {
  char a[32], b[32], text[128];
  snprintf(text, sizeof text, "type mismatch: expected %s, got %s",
           wasync_valtype_text(expected, a, sizeof a),
           wasync_valtype_text(actual, b, sizeof b));
  return fail(v, text);
}

static bool oom(WasyncFuncValidator *v) {
  return fail_code(v, WASYNC_ERR_NOMEM, v->at, "out of memory");
}

static bool grow(WasyncFuncValidator *v, void **p, uint32_t *cap, size_t elem,
                 uint32_t need) {
  if (need <= *cap) return true;
  uint32_t n = *cap ? *cap : 16;
  while (n < need) {
    if (n > UINT32_MAX / 2) return oom(v);
    n *= 2;
  }
  void *q = v->al->realloc(v->al->ctx, *p, (size_t)n * elem);
  if (!q) return oom(v);
  *p = q;
  *cap = n;
  return true;
}

/* ---- lifetime ---- */

static uint8_t sig_code(char c) {
  switch (c) {
  case 'i': return WASYNC_VT_I32;
  case 'l': return WASYNC_VT_I64;
  case 'f': return WASYNC_VT_F32;
  case 'd': return WASYNC_VT_F64;
  case 'v': return WASYNC_VT_V128;
  default: return SIG_ADDR;
  }
}

WasyncFuncValidator *wasync_funcv_new(const WasyncModule *m, WasyncError *err) {
  const WasyncAllocator *al =
      m->arena.allocator ? m->arena.allocator : wasync_default_allocator();
  WasyncFuncValidator *v = al->alloc(al->ctx, sizeof *v);
  if (!v) {
    wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    return NULL;
  }
  memset(v, 0, sizeof *v);
  v->m = m;
  v->err = err;
  v->al = al;
  for (uint32_t op = 0; op < WASYNC_OP_COUNT; op++) {
    const char *s = wasync_op_info[op].signature;
    if (!s) continue;
    uint8_t np = 0, nr = 0;
    for (; *s && *s != ':' && np < 4; s++)
      v->sig[op][np++] = sig_code(*s);
    if (*s == ':') s++;
    for (; *s && nr < 2; s++)
      v->sig[op][np + nr++] = sig_code(*s);
    v->sig_np[op] = np;
    v->sig_nr[op] = nr;
    uint8_t imm = wasync_op_info[op].imm;
    v->sig_fast[op] = imm == WASYNC_IMM_MEMARG ? 2
                      : imm == WASYNC_IMM_NONE || imm == WASYNC_IMM_I32 ||
                              imm == WASYNC_IMM_I64 || imm == WASYNC_IMM_F32 ||
                              imm == WASYNC_IMM_F64 || imm == WASYNC_IMM_V128
                          ? 1
                          : 3;
  }
  return v;
}

void wasync_funcv_free(WasyncFuncValidator *v) {
  if (!v) return;
  const WasyncAllocator *al = v->al;
  if (v->ir_live) wasync_instr_reader_release(&v->ir);
  al->free(al->ctx, v->vals);
  al->free(al->ctx, v->ctrls);
  al->free(al->ctx, v->locals);
  al->free(al->ctx, v->local_set);
  al->free(al->ctx, v->inits);
  al->free(al->ctx, v);
}

void wasync_funcv_set_declared(WasyncFuncValidator *v, const uint8_t *bits) {
  v->declared = bits;
}

/* ---- operand stack ---- */

static inline Frame *top(WasyncFuncValidator *v) {
  return &v->ctrls[v->nctrls - 1];
}

static inline void push(WasyncFuncValidator *v, WasyncValType t) {
  if (v->nvals == v->vals_cap &&
      !grow(v, (void **)&v->vals, &v->vals_cap, sizeof *v->vals, v->nvals + 1))
    return;
  v->vals[v->nvals++] = t;
}

static inline WasyncValType pop(WasyncFuncValidator *v) {
  Frame *f = top(v);
  if (v->nvals == f->pub.height) {
    if (!f->pub.unreachable)
      fail(v, "type mismatch: expected a value, got nothing");
    return WASYNC_VT_BOT;
  }
  return v->vals[--v->nvals];
}

static inline bool sub(WasyncFuncValidator *v, WasyncValType a,
                       WasyncValType b) {
  return a == b || a == WASYNC_VT_BOT || wasync_valtype_sub(v->m, a, b);
}

static inline WasyncValType pop_expect(WasyncFuncValidator *v,
                                       WasyncValType t) {
  Frame *f = top(v);
  if (v->nvals > f->pub.height) {
    WasyncValType a = v->vals[--v->nvals];
    if (a != t && !sub(v, a, t)) fail_mismatch(v, t, a);
    return a;
  }
  if (!f->pub.unreachable) fail_mismatch(v, t, WASYNC_VT_BOT);
  return WASYNC_VT_BOT;
}

/* A reference type; bottom comes back as (ref bot). */
static WasyncValType pop_ref(WasyncFuncValidator *v) {
  WasyncValType a = pop(v);
  if (a == WASYNC_VT_BOT) return WASYNC_VT_REF;
  if (!wasync_vt_is_ref(a)) {
    fail(v, "type mismatch");
    return WASYNC_VT_REF;
  }
  return a;
}

/* Like pop_ref, but bottom stays bottom: V8 lets the result of
 * ref.as_non_null / br_on_null on an unknown operand be anything (the spec's
 * algorithm would make it (ref bot)); Chromium is the target. */
static WasyncValType pop_ref_or_bot(WasyncFuncValidator *v) {
  WasyncValType a = pop(v);
  if (a != WASYNC_VT_BOT && !wasync_vt_is_ref(a)) {
    fail(v, "type mismatch");
    return WASYNC_VT_BOT;
  }
  return a;
}

static void pop_vals(WasyncFuncValidator *v, const WasyncValType *ts,
                     uint32_t n) {
  while (n--)
    pop_expect(v, ts[n]);
}

static void push_vals(WasyncFuncValidator *v, const WasyncValType *ts,
                      uint32_t n) {
  if (v->vals_cap - v->nvals < n &&
      !grow(v, (void **)&v->vals, &v->vals_cap, sizeof *v->vals, v->nvals + n))
    return;
  if (n) memcpy(v->vals + v->nvals, ts, (size_t)n * sizeof *ts);
  v->nvals += n;
}

/* Checks the top n operands against ts without popping them (values below
 * an unreachable frame's height count as bottom). */
static void peek_vals(WasyncFuncValidator *v, const WasyncValType *ts,
                      uint32_t n) {
  Frame *f = top(v);
  uint32_t avail = v->nvals - f->pub.height;
  for (uint32_t i = 0; i < n; i++) {
    WasyncValType want = ts[n - 1 - i];
    if (i >= avail) {
      if (!f->pub.unreachable) fail_mismatch(v, want, WASYNC_VT_BOT);
      return;
    }
    if (!sub(v, v->vals[v->nvals - 1 - i], want)) {
      fail_mismatch(v, want, v->vals[v->nvals - 1 - i]);
      return;
    }
  }
}

static void set_unreachable(WasyncFuncValidator *v) {
  Frame *f = top(v);
  v->nvals = f->pub.height;
  f->pub.unreachable = true;
}

/* ---- control stack ---- */

static void fix_frames(WasyncFuncValidator *v) {
  for (uint32_t i = 0; i < v->nctrls; i++)
    if (v->ctrls[i].has_single) v->ctrls[i].pub.results = &v->ctrls[i].single;
}

static Frame *push_ctrl(WasyncFuncValidator *v, uint16_t op,
                        const WasyncValType *params, uint32_t nparams,
                        const WasyncValType *results, uint32_t nresults) {
  if (v->nctrls == v->ctrls_cap) {
    if (!grow(v, (void **)&v->ctrls, &v->ctrls_cap, sizeof *v->ctrls,
              v->nctrls + 1))
      return NULL;
    fix_frames(v);
  }
  Frame *f = &v->ctrls[v->nctrls++];
  memset(f, 0, sizeof *f);
  f->pub.op = op;
  f->pub.params = params;
  f->pub.nparams = nparams;
  f->pub.results = results;
  f->pub.nresults = nresults;
  f->pub.height = v->nvals;
  f->init_height = v->ninits;
  if (nparams) push_vals(v, params, nparams);
  return f;
}

/* Pushes a frame for a block type. */
static Frame *push_block(WasyncFuncValidator *v, uint16_t op,
                         const WasyncBlockType *bt) {
  if (bt->kind == WASYNC_BLOCK_VALUE) {
    Frame *f = push_ctrl(v, op, NULL, 0, NULL, 1);
    if (f) {
      f->single = bt->value;
      f->has_single = true;
      f->pub.results = &f->single;
    }
    return f;
  }
  if (bt->kind == WASYNC_BLOCK_INDEX) {
    const WasyncSubType *t = &v->m->types[bt->index];
    return push_ctrl(v, op, t->params, t->nparams, t->results, t->nresults);
  }
  return push_ctrl(v, op, NULL, 0, NULL, 0);
}

static void reset_inits(WasyncFuncValidator *v, uint32_t height) {
  while (v->ninits > height)
    v->local_set[v->inits[--v->ninits]] = 0;
}

/* Pops the innermost frame after checking its results; returns a copy. */
static bool pop_ctrl(WasyncFuncValidator *v, Frame *out) {
  Frame *f = top(v);
  pop_vals(v, f->pub.results, f->pub.nresults);
  if (v->nvals != f->pub.height)
    return fail(v,
                "type mismatch: values left on the stack at the block's end");
  reset_inits(v, f->init_height);
  *out = *f;
  if (out->has_single) out->pub.results = NULL; /* the caller re-points it */
  v->nctrls--;
  return !v->bad;
}

static const WasyncValType *label_types(const Frame *f, uint32_t *n) {
  if (f->pub.op == WASYNC_OP_LOOP) {
    *n = f->pub.nparams;
    return f->pub.params;
  }
  *n = f->pub.nresults;
  return f->pub.results;
}

static Frame *label(WasyncFuncValidator *v, uint32_t l) {
  if (l >= v->nctrls) {
    failn(v, "unknown label", l);
    return NULL;
  }
  return &v->ctrls[v->nctrls - 1 - l];
}

static bool check_block_type(WasyncFuncValidator *v,
                             const WasyncBlockType *bt) {
  if (bt->kind == WASYNC_BLOCK_INDEX) {
    if (bt->index >= v->m->ntypes) return failn(v, "unknown type", bt->index);
    if (v->m->types[bt->index].form != WASYNC_COMP_FUNC)
      return fail(v, "type mismatch");
  }
  return true;
}

/* Pops a block's parameters. */
static void pop_block_params(WasyncFuncValidator *v,
                             const WasyncBlockType *bt) {
  if (bt->kind == WASYNC_BLOCK_INDEX) {
    const WasyncSubType *t = &v->m->types[bt->index];
    pop_vals(v, t->params, t->nparams);
  }
}

/* ---- module entities ---- */

static const WasyncSubType *func_type_of(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->m->ntypes) {
    failn(v, "unknown type", idx);
    return NULL;
  }
  const WasyncSubType *t = &v->m->types[idx];
  if (t->form != WASYNC_COMP_FUNC) {
    fail(v, "type mismatch");
    return NULL;
  }
  return t;
}

static const WasyncSubType *comp_type_of(WasyncFuncValidator *v, uint32_t idx,
                                         uint8_t form) {
  if (idx >= v->m->ntypes) {
    failn(v, "unknown type", idx);
    return NULL;
  }
  const WasyncSubType *t = &v->m->types[idx];
  if (t->form != form) {
    fail(v, "type mismatch");
    return NULL;
  }
  return t;
}

static const WasyncTable *table_of(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->m->ntables) {
    failn(v, "unknown table", idx);
    return NULL;
  }
  return &v->m->tables[idx];
}

static const WasyncMemory *memory_of(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->m->nmemories) {
    failn(v, "unknown memory", idx);
    return NULL;
  }
  return &v->m->memories[idx];
}

static const WasyncElem *elem_of(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->m->nelems) {
    failn(v, "unknown elem segment", idx);
    return NULL;
  }
  return &v->m->elems[idx];
}

static bool data_ok(WasyncFuncValidator *v, uint32_t idx) {
  if (!v->m->has_datacount) {
    if (idx >= v->m->ndatas) return failn(v, "unknown data segment", idx);
    return fail_code(v, WASYNC_ERR_MALFORMED, v->at,
                     "data count section required");
  }
  if (idx >= v->m->datacount) return failn(v, "unknown data segment", idx);
  return true;
}

static const WasyncSubType *tag_type_of(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->m->ntags) {
    failn(v, "unknown tag", idx);
    return NULL;
  }
  uint32_t t = v->m->tags[idx].type;
  if (t >= v->m->ntypes) {
    failn(v, "unknown type", t);
    return NULL;
  }
  return &v->m->types[t];
}

static inline WasyncValType addr_of_table(const WasyncTable *t) {
  return t->limits.is64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
}
static inline WasyncValType addr_of_mem(const WasyncMemory *mem) {
  return mem->limits.is64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
}

static bool check_heap(WasyncFuncValidator *v, WasyncValType ref) {
  if (wasync_vt_indexed(ref) && wasync_vt_heap(ref) >= v->m->ntypes)
    return failn(v, "unknown type", wasync_vt_heap(ref));
  return true;
}

/* Unpacked type of a field (i8/i16 read as i32). */
static inline WasyncValType unpacked(WasyncValType t) {
  return (t == WASYNC_VT_I8 || t == WASYNC_VT_I16) ? WASYNC_VT_I32 : t;
}

static inline bool defaultable(WasyncValType t) {
  return !wasync_vt_is_ref(t) || wasync_vt_nullable(t);
}

/* ---- memory immediates ---- */

static bool is_atomic(uint16_t op) {
  return wasync_op_info[op].prefix == 0xFE;
}

/* Checks a memarg; returns the memory's address type (0 on error). */
static WasyncValType check_memarg(WasyncFuncValidator *v, uint16_t op,
                                  const WasyncMemArg *ma) {
  const WasyncMemory *mem = memory_of(v, ma->memory);
  if (!mem) return 0;
  uint32_t nat = wasync_op_info[op].align; /* opcodes.def's ALIGN */
  if (is_atomic(op)) {
    if (ma->align != nat) {
      fail(v, "alignment must be equal to natural");
      return 0;
    }
  } else if (ma->align > nat) {
    fail(v, "alignment must not be larger than natural");
    return 0;
  }
  if (!mem->limits.is64 && ma->offset > UINT32_MAX) {
    fail(v, "offset out of range");
    return 0;
  }
  return addr_of_mem(mem);
}

/* ---- the generic path: fixed signatures ---- */

static bool step_sig_general(WasyncFuncValidator *v, const WasyncInstr *in);

static inline bool step_sig(WasyncFuncValidator *v, const WasyncInstr *in) {
  uint16_t op = in->op;
  uint8_t fast = v->sig_fast[op];
  if (fast != 3) {
    /* Fast path: the operands on the stack are exactly the signature's
     * types (no subtyping, no unreachable code), and the results fit in
     * the stack's capacity.  Otherwise nothing is changed and the general
     * path below decides. */
    WasyncValType addr = WASYNC_VT_I32;
    if (fast == 2 && !(addr = check_memarg(v, op, &in->imm.memarg)))
      return false;
    uint32_t np = v->sig_np[op], nr = v->sig_nr[op], n = v->nvals;
    const uint8_t *sg = v->sig[op];
    if (v->vals && n - v->ctrls[v->nctrls - 1].pub.height >= np &&
        v->vals_cap - (n - np) >= nr) {
      WasyncValType *vals = v->vals + (n - np);
      uint32_t i = 0;
      for (; i < np; i++)
        if (vals[i] != (sg[i] == SIG_ADDR ? addr : (WasyncValType)sg[i])) break;
      if (i == np) {
        for (uint32_t k = 0; k < nr; k++)
          vals[k] = sg[np + k] == SIG_ADDR ? addr : (WasyncValType)sg[np + k];
        v->nvals = n - np + nr;
        return true;
      }
    }
  }
  return step_sig_general(v, in);
}

/* The general path of step_sig(): subtyping, unreachable code, growth,
 * immediates other than a memarg, and every error. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static bool
step_sig_general(WasyncFuncValidator *v, const WasyncInstr *in) {
  WasyncValType addr = WASYNC_VT_I32;
  switch (wasync_op_info[in->op].imm) {
  case WASYNC_IMM_MEMARG:
  case WASYNC_IMM_MEMARG_LANE:
    addr = check_memarg(v, in->op, &in->imm.memarg);
    if (!addr) return false;
    if (wasync_op_info[in->op].imm == WASYNC_IMM_MEMARG_LANE &&
        in->imm.memarg.lane >= wasync_op_info[in->op].lanes)
      return fail(v, "invalid lane index");
    break;
  case WASYNC_IMM_MEM: {
    const WasyncMemory *mem = memory_of(v, in->imm.index);
    if (!mem) return false;
    addr = addr_of_mem(mem);
    break;
  }
  case WASYNC_IMM_LANE:
    if (in->imm.lane >= wasync_op_info[in->op].lanes)
      return fail(v, "invalid lane index");
    break;
  case WASYNC_IMM_SHUFFLE:
    for (int i = 0; i < 16; i++)
      if (in->imm.bytes16[i] >= 32) return fail(v, "invalid lane index");
    break;
  default: break;
  }
  const uint8_t *s = v->sig[in->op];
  uint32_t np = v->sig_np[in->op], nr = v->sig_nr[in->op];
  for (uint32_t i = np; i-- > 0;)
    pop_expect(v, s[i] == SIG_ADDR ? addr : s[i]);
  for (uint32_t i = 0; i < nr; i++)
    push(v, s[np + i] == SIG_ADDR ? addr : s[np + i]);
  return !v->bad;
}

/* ---- calls ---- */

static void do_call(WasyncFuncValidator *v, const WasyncSubType *t) {
  pop_vals(v, t->params, t->nparams);
  push_vals(v, t->results, t->nresults);
}

static void do_return_call(WasyncFuncValidator *v, const WasyncSubType *t) {
  /* the callee's results must fit the caller's */
  if (!v->ftype || t->nresults != v->ftype->nresults) {
    fail(v, "type mismatch");
    return;
  }
  for (uint32_t i = 0; i < t->nresults; i++)
    if (!sub(v, t->results[i], v->ftype->results[i])) {
      fail(v, "type mismatch");
      return;
    }
  pop_vals(v, t->params, t->nparams);
  set_unreachable(v);
}

/* ---- branches on references ---- */

/* br_on_non_null / br_on_cast / br_on_cast_fail: the label's last type must
 * accept `branch`, its other types stay on the stack. */
static bool branch_with_ref(WasyncFuncValidator *v, uint32_t l,
                            WasyncValType branch) {
  Frame *f = label(v, l);
  if (!f) return false;
  uint32_t n;
  const WasyncValType *ts = label_types(f, &n);
  if (n == 0 || !wasync_vt_is_ref(ts[n - 1])) return fail(v, "type mismatch");
  if (!sub(v, branch, ts[n - 1])) return fail(v, "type mismatch");
  pop_vals(v, ts, n - 1);
  push_vals(v, ts, n - 1);
  return !v->bad;
}

/* The heap types of a cast must share a hierarchy. */
static bool same_hierarchy(WasyncFuncValidator *v, WasyncValType a,
                           WasyncValType b) {
  uint32_t ta = wasync_heap_top(v->m, a), tb = wasync_heap_top(v->m, b);
  return ta == 0 || tb == 0 || ta == tb;
}

/* ---- locals ---- */

static bool local_index(WasyncFuncValidator *v, uint32_t idx) {
  if (idx >= v->nlocals) return failn(v, "unknown local", idx);
  return true;
}

static void mark_set(WasyncFuncValidator *v, uint32_t idx) {
  if (v->local_set[idx]) return;
  if (!grow(v, (void **)&v->inits, &v->inits_cap, sizeof *v->inits,
            v->ninits + 1))
    return;
  v->local_set[idx] = 1;
  v->inits[v->ninits++] = idx;
}

/* ---- GC helpers ---- */

static const WasyncFieldType *field_of(WasyncFuncValidator *v,
                                       const WasyncSubType *t, uint32_t i) {
  if (i >= t->nfields) {
    failn(v, "unknown field", i);
    return NULL;
  }
  return &t->fields[i];
}

static bool is_packed(WasyncValType t) {
  return t == WASYNC_VT_I8 || t == WASYNC_VT_I16;
}

static bool elem_fits_array(WasyncFuncValidator *v, const WasyncElem *e,
                            const WasyncSubType *arr) {
  return sub(v, wasync_elem_type(e), arr->fields[0].type);
}

/* ---- the step ---- */

/* Everything that is typed by hand (no fixed signature).  Out of line, so
 * that wasync_funcv_step()'s path to step_sig() stays cheap. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static bool
step_other(WasyncFuncValidator *v, const WasyncInstr *in) {
  const WasyncModule *m = v->m;
  uint16_t op = in->op;
  switch (op) {
  /* ---- control ---- */
  case WASYNC_OP_UNREACHABLE: set_unreachable(v); break;
  case WASYNC_OP_BLOCK:
  case WASYNC_OP_LOOP:
  case WASYNC_OP_TRY:
    if (!check_block_type(v, &in->imm.block)) return false;
    pop_block_params(v, &in->imm.block);
    push_block(v, op, &in->imm.block);
    break;
  case WASYNC_OP_IF:
    if (!check_block_type(v, &in->imm.block)) return false;
    pop_expect(v, WASYNC_VT_I32);
    pop_block_params(v, &in->imm.block);
    push_block(v, op, &in->imm.block);
    break;
  case WASYNC_OP_ELSE: {
    if (top(v)->pub.op != WASYNC_OP_IF)
      return fail(v, "else without matching if");
    Frame f;
    if (!pop_ctrl(v, &f)) return false;
    Frame *g = push_ctrl(v, WASYNC_OP_ELSE, f.pub.params, f.pub.nparams,
                         f.pub.results, f.pub.nresults);
    if (g && f.has_single) {
      g->single = f.single;
      g->has_single = true;
      g->pub.results = &g->single;
    }
    break;
  }
  case WASYNC_OP_END: {
    Frame f;
    if (top(v)->pub.op == WASYNC_OP_IF) {
      /* `if` without `else`: the missing else passes params to results */
      if (!pop_ctrl(v, &f)) return false;
      Frame *g = push_ctrl(v, WASYNC_OP_ELSE, f.pub.params, f.pub.nparams,
                           f.pub.results, f.pub.nresults);
      if (!g) return false;
      if (f.has_single) {
        g->single = f.single;
        g->has_single = true;
        g->pub.results = &g->single;
      }
    }
    if (!pop_ctrl(v, &f)) return false;
    if (f.has_single)
      push(v, f.single);
    else
      push_vals(v, f.pub.results, f.pub.nresults);
    if (v->nctrls == 0) v->done = true;
    break;
  }
  case WASYNC_OP_BR: {
    Frame *f = label(v, in->imm.index);
    if (!f) return false;
    uint32_t n;
    const WasyncValType *ts = label_types(f, &n);
    pop_vals(v, ts, n);
    set_unreachable(v);
    break;
  }
  case WASYNC_OP_BR_IF: {
    Frame *f = label(v, in->imm.index);
    if (!f) return false;
    pop_expect(v, WASYNC_VT_I32);
    uint32_t n;
    const WasyncValType *ts = label_types(f, &n);
    if (f->has_single) { /* ts may move when the stack grows: copy it */
      WasyncValType one = f->single;
      pop_vals(v, &one, n);
      push_vals(v, &one, n);
    } else {
      pop_vals(v, ts, n);
      push_vals(v, ts, n);
    }
    break;
  }
  case WASYNC_OP_BR_TABLE: {
    Frame *d = label(v, in->imm.br_table.default_label);
    if (!d) return false;
    pop_expect(v, WASYNC_VT_I32);
    uint32_t arity;
    label_types(d, &arity);
    for (uint32_t i = 0; i < in->imm.br_table.count && !v->bad; i++) {
      Frame *f = label(v, in->imm.br_table.labels[i]);
      if (!f) return false;
      uint32_t n;
      const WasyncValType *ts = label_types(f, &n);
      if (n != arity) return fail(v, "type mismatch");
      peek_vals(v, ts, n);
    }
    uint32_t n;
    const WasyncValType *ts = label_types(d, &n);
    pop_vals(v, ts, n);
    set_unreachable(v);
    break;
  }
  case WASYNC_OP_RETURN:
    if (!v->ftype) return fail(v, "type mismatch");
    pop_vals(v, v->ftype->results, v->ftype->nresults);
    set_unreachable(v);
    break;
  case WASYNC_OP_CALL:
  case WASYNC_OP_RETURN_CALL: {
    if (in->imm.index >= m->nfuncs)
      return failn(v, "unknown function", in->imm.index);
    const WasyncSubType *t = func_type_of(v, m->funcs[in->imm.index].type);
    if (!t) return false;
    if (op == WASYNC_OP_CALL)
      do_call(v, t);
    else
      do_return_call(v, t);
    break;
  }
  case WASYNC_OP_CALL_INDIRECT:
  case WASYNC_OP_RETURN_CALL_INDIRECT: {
    const WasyncTable *tab = table_of(v, in->imm.pair.b);
    if (!tab) return false;
    const WasyncSubType *t = func_type_of(v, in->imm.pair.a);
    if (!t) return false;
    if (!wasync_valtype_sub(m, tab->type,
                            wasync_vt_ref_abstract(true, WASYNC_HT_FUNC)))
      return fail(v, "type mismatch");
    pop_expect(v, addr_of_table(tab));
    if (op == WASYNC_OP_CALL_INDIRECT)
      do_call(v, t);
    else
      do_return_call(v, t);
    break;
  }
  case WASYNC_OP_CALL_REF:
  case WASYNC_OP_RETURN_CALL_REF: {
    const WasyncSubType *t = func_type_of(v, in->imm.index);
    if (!t) return false;
    pop_expect(v, wasync_vt_ref_index(true, in->imm.index));
    if (op == WASYNC_OP_CALL_REF)
      do_call(v, t);
    else
      do_return_call(v, t);
    break;
  }
  case WASYNC_OP_THROW: {
    const WasyncSubType *t = tag_type_of(v, in->imm.index);
    if (!t) return false;
    pop_vals(v, t->params, t->nparams);
    set_unreachable(v);
    break;
  }
  case WASYNC_OP_THROW_REF:
    pop_expect(v, wasync_vt_ref_abstract(true, WASYNC_HT_EXN));
    set_unreachable(v);
    break;
  case WASYNC_OP_CATCH:
  case WASYNC_OP_CATCH_ALL: {
    uint16_t k = top(v)->pub.op;
    if (k != WASYNC_OP_TRY && k != WASYNC_OP_CATCH)
      return fail(v, k == WASYNC_OP_CATCH_ALL ? "catch after catch_all"
                                              : "catch without matching try");
    const WasyncSubType *t = NULL;
    if (op == WASYNC_OP_CATCH && !(t = tag_type_of(v, in->imm.index)))
      return false;
    Frame f;
    if (!pop_ctrl(v, &f)) return false;
    Frame *g = push_ctrl(v, op, t ? t->params : NULL, t ? t->nparams : 0,
                         f.pub.results, f.pub.nresults);
    if (g && f.has_single) {
      g->single = f.single;
      g->has_single = true;
      g->pub.results = &g->single;
    }
    break;
  }
  case WASYNC_OP_RETHROW: {
    Frame *f = label(v, in->imm.index);
    if (!f) return false;
    if (f->pub.op != WASYNC_OP_CATCH && f->pub.op != WASYNC_OP_CATCH_ALL)
      return fail(v, "invalid rethrow label");
    set_unreachable(v);
    break;
  }
  case WASYNC_OP_DELEGATE: {
    if (top(v)->pub.op != WASYNC_OP_TRY)
      return fail(v, "delegate without matching try");
    Frame f;
    if (!pop_ctrl(v, &f)) return false;
    if (in->imm.index >= v->nctrls)
      return failn(v, "unknown label", in->imm.index);
    if (f.has_single)
      push(v, f.single);
    else
      push_vals(v, f.pub.results, f.pub.nresults);
    break;
  }
  case WASYNC_OP_TRY_TABLE: {
    const WasyncBlockType *bt = &in->imm.try_table.block;
    if (!check_block_type(v, bt)) return false;
    WasyncValType exnref = wasync_vt_ref_abstract(false, WASYNC_HT_EXN);
    for (uint32_t i = 0; i < in->imm.try_table.count; i++) {
      const WasyncCatch *c = &in->imm.try_table.catches[i];
      Frame *f = label(v, c->label);
      if (!f) return false;
      uint32_t n;
      const WasyncValType *ts = label_types(f, &n);
      const WasyncValType *ps = NULL;
      uint32_t np = 0;
      if (c->kind == WASYNC_CATCH || c->kind == WASYNC_CATCH_REF) {
        const WasyncSubType *t = tag_type_of(v, c->tag);
        if (!t) return false;
        ps = t->params;
        np = t->nparams;
      }
      bool with_ref =
          c->kind == WASYNC_CATCH_REF || c->kind == WASYNC_CATCH_ALL_REF;
      if (n != np + (with_ref ? 1u : 0u)) return fail(v, "type mismatch");
      for (uint32_t k = 0; k < np; k++)
        if (!sub(v, ps[k], ts[k])) return fail(v, "type mismatch");
      if (with_ref && !sub(v, exnref, ts[np])) return fail(v, "type mismatch");
    }
    pop_block_params(v, bt);
    push_block(v, op, bt);
    break;
  }

  /* ---- parametric ---- */
  case WASYNC_OP_DROP: pop(v); break;
  case WASYNC_OP_SELECT: {
    pop_expect(v, WASYNC_VT_I32);
    WasyncValType a = pop(v), b = pop(v);
    if (wasync_vt_is_ref(a) || wasync_vt_is_ref(b))
      return fail(v, "type mismatch");
    if (a != b && a != WASYNC_VT_BOT && b != WASYNC_VT_BOT)
      return fail(v, "type mismatch");
    push(v, a == WASYNC_VT_BOT ? b : a);
    break;
  }
  case WASYNC_OP_SELECT_T: {
    if (in->imm.select.count != 1) return fail(v, "invalid result arity");
    WasyncValType t = in->imm.select.types[0];
    if (!check_heap(v, t)) return false;
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, t);
    pop_expect(v, t);
    push(v, t);
    break;
  }

  /* ---- variables ---- */
  case WASYNC_OP_LOCAL_GET: {
    uint32_t x = in->imm.index;
    if (!local_index(v, x)) return false;
    if (!v->local_set[x]) return failn(v, "uninitialized local", x);
    push(v, v->locals[x]);
    break;
  }
  case WASYNC_OP_LOCAL_SET:
  case WASYNC_OP_LOCAL_TEE: {
    uint32_t x = in->imm.index;
    if (!local_index(v, x)) return false;
    pop_expect(v, v->locals[x]);
    mark_set(v, x);
    if (op == WASYNC_OP_LOCAL_TEE) push(v, v->locals[x]);
    break;
  }
  case WASYNC_OP_GLOBAL_GET:
  case WASYNC_OP_GLOBAL_SET: {
    uint32_t x = in->imm.index;
    if (x >= m->nglobals) return failn(v, "unknown global", x);
    const WasyncGlobal *g = &m->globals[x];
    if (op == WASYNC_OP_GLOBAL_GET) {
      push(v, g->type);
    } else {
      if (!g->mut) return fail(v, "immutable global");
      pop_expect(v, g->type);
    }
    break;
  }

  /* ---- tables ---- */
  case WASYNC_OP_TABLE_GET: {
    const WasyncTable *t = table_of(v, in->imm.index);
    if (!t) return false;
    pop_expect(v, addr_of_table(t));
    push(v, t->type);
    break;
  }
  case WASYNC_OP_TABLE_SET: {
    const WasyncTable *t = table_of(v, in->imm.index);
    if (!t) return false;
    pop_expect(v, t->type);
    pop_expect(v, addr_of_table(t));
    break;
  }
  case WASYNC_OP_TABLE_SIZE: {
    const WasyncTable *t = table_of(v, in->imm.index);
    if (!t) return false;
    push(v, addr_of_table(t));
    break;
  }
  case WASYNC_OP_TABLE_GROW: {
    const WasyncTable *t = table_of(v, in->imm.index);
    if (!t) return false;
    pop_expect(v, addr_of_table(t));
    pop_expect(v, t->type);
    push(v, addr_of_table(t));
    break;
  }
  case WASYNC_OP_TABLE_FILL: {
    const WasyncTable *t = table_of(v, in->imm.index);
    if (!t) return false;
    pop_expect(v, addr_of_table(t));
    pop_expect(v, t->type);
    pop_expect(v, addr_of_table(t));
    break;
  }
  case WASYNC_OP_TABLE_COPY: {
    const WasyncTable *dst = table_of(v, in->imm.pair.a);
    if (!dst) return false;
    const WasyncTable *src = table_of(v, in->imm.pair.b);
    if (!src) return false;
    if (!sub(v, src->type, dst->type)) return fail(v, "type mismatch");
    WasyncValType ad = addr_of_table(dst), as = addr_of_table(src);
    pop_expect(v, (ad == WASYNC_VT_I64 && as == WASYNC_VT_I64) ? WASYNC_VT_I64
                                                               : WASYNC_VT_I32);
    pop_expect(v, as);
    pop_expect(v, ad);
    break;
  }
  case WASYNC_OP_TABLE_INIT: {
    const WasyncTable *t = table_of(v, in->imm.pair.b);
    if (!t) return false;
    const WasyncElem *e = elem_of(v, in->imm.pair.a);
    if (!e) return false;
    if (!sub(v, wasync_elem_type(e), t->type)) return fail(v, "type mismatch");
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, addr_of_table(t));
    break;
  }
  case WASYNC_OP_ELEM_DROP:
    if (!elem_of(v, in->imm.index)) return false;
    break;

  /* ---- bulk memory ---- */
  case WASYNC_OP_MEMORY_INIT: {
    const WasyncMemory *mem = memory_of(v, in->imm.pair.b);
    if (!mem) return false;
    if (!data_ok(v, in->imm.pair.a)) return false;
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, addr_of_mem(mem));
    break;
  }
  case WASYNC_OP_DATA_DROP:
    if (!data_ok(v, in->imm.index)) return false;
    break;
  case WASYNC_OP_MEMORY_COPY: {
    const WasyncMemory *dst = memory_of(v, in->imm.pair.a);
    if (!dst) return false;
    const WasyncMemory *src = memory_of(v, in->imm.pair.b);
    if (!src) return false;
    WasyncValType ad = addr_of_mem(dst), as = addr_of_mem(src);
    pop_expect(v, (ad == WASYNC_VT_I64 && as == WASYNC_VT_I64) ? WASYNC_VT_I64
                                                               : WASYNC_VT_I32);
    pop_expect(v, as);
    pop_expect(v, ad);
    break;
  }
  case WASYNC_OP_MEMORY_FILL: {
    const WasyncMemory *mem = memory_of(v, in->imm.index);
    if (!mem) return false;
    pop_expect(v, addr_of_mem(mem));
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, addr_of_mem(mem));
    break;
  }

  /* ---- references ---- */
  case WASYNC_OP_REF_NULL:
    if (!check_heap(v, in->imm.ref)) return false;
    push(v, in->imm.ref | WASYNC_VT_NULLABLE);
    break;
  case WASYNC_OP_REF_IS_NULL:
    pop_ref(v);
    push(v, WASYNC_VT_I32);
    break;
  case WASYNC_OP_REF_FUNC: {
    uint32_t x = in->imm.index;
    if (x >= m->nfuncs) return failn(v, "unknown function", x);
    if (v->declared && !(v->declared[x >> 3] & (1u << (x & 7))))
      return fail(v, "undeclared function reference");
    push(v, wasync_vt_ref_index(false, m->funcs[x].type));
    break;
  }
  case WASYNC_OP_REF_EQ:
    pop_expect(v, wasync_vt_ref_abstract(true, WASYNC_HT_EQ));
    pop_expect(v, wasync_vt_ref_abstract(true, WASYNC_HT_EQ));
    push(v, WASYNC_VT_I32);
    break;
  case WASYNC_OP_REF_AS_NON_NULL: {
    WasyncValType t = pop_ref_or_bot(v);
    push(v, t & ~WASYNC_VT_NULLABLE);
    break;
  }
  case WASYNC_OP_BR_ON_NULL: {
    WasyncValType t = pop_ref_or_bot(v);
    Frame *f = label(v, in->imm.index);
    if (!f) return false;
    uint32_t n;
    const WasyncValType *ts = label_types(f, &n);
    if (f->has_single) {
      WasyncValType one = f->single;
      pop_vals(v, &one, n);
      push_vals(v, &one, n);
    } else {
      pop_vals(v, ts, n);
      push_vals(v, ts, n);
    }
    push(v, t & ~WASYNC_VT_NULLABLE);
    break;
  }
  case WASYNC_OP_BR_ON_NON_NULL: {
    WasyncValType t = pop_ref(v);
    if (!branch_with_ref(v, in->imm.index, t & ~WASYNC_VT_NULLABLE))
      return false;
    break;
  }

  /* ---- GC ---- */
  case WASYNC_OP_STRUCT_NEW:
  case WASYNC_OP_STRUCT_NEW_DEFAULT: {
    const WasyncSubType *t = comp_type_of(v, in->imm.index, WASYNC_COMP_STRUCT);
    if (!t) return false;
    if (op == WASYNC_OP_STRUCT_NEW) {
      for (uint32_t i = t->nfields; i-- > 0;)
        pop_expect(v, unpacked(t->fields[i].type));
    } else {
      for (uint32_t i = 0; i < t->nfields; i++)
        if (!defaultable(t->fields[i].type))
          return fail(v, "field type is not defaultable");
    }
    push(v, wasync_vt_ref_index(false, in->imm.index));
    break;
  }
  case WASYNC_OP_STRUCT_GET:
  case WASYNC_OP_STRUCT_GET_S:
  case WASYNC_OP_STRUCT_GET_U:
  case WASYNC_OP_STRUCT_SET: {
    const WasyncSubType *t =
        comp_type_of(v, in->imm.pair.a, WASYNC_COMP_STRUCT);
    if (!t) return false;
    const WasyncFieldType *fd = field_of(v, t, in->imm.pair.b);
    if (!fd) return false;
    if (op == WASYNC_OP_STRUCT_SET) {
      if (!fd->mut) return fail(v, "immutable field");
      pop_expect(v, unpacked(fd->type));
      pop_expect(v, wasync_vt_ref_index(true, in->imm.pair.a));
    } else {
      if (is_packed(fd->type) != (op != WASYNC_OP_STRUCT_GET))
        return fail(v, "type mismatch");
      pop_expect(v, wasync_vt_ref_index(true, in->imm.pair.a));
      push(v, unpacked(fd->type));
    }
    break;
  }
  case WASYNC_OP_ARRAY_NEW:
  case WASYNC_OP_ARRAY_NEW_DEFAULT:
  case WASYNC_OP_ARRAY_NEW_FIXED:
  case WASYNC_OP_ARRAY_NEW_DATA:
  case WASYNC_OP_ARRAY_NEW_ELEM: {
    uint32_t x = op == WASYNC_OP_ARRAY_NEW || op == WASYNC_OP_ARRAY_NEW_DEFAULT
                     ? in->imm.index
                     : in->imm.pair.a;
    const WasyncSubType *t = comp_type_of(v, x, WASYNC_COMP_ARRAY);
    if (!t) return false;
    WasyncValType et = t->fields[0].type;
    switch (op) {
    case WASYNC_OP_ARRAY_NEW:
      pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, unpacked(et));
      break;
    case WASYNC_OP_ARRAY_NEW_DEFAULT:
      if (!defaultable(et)) return fail(v, "array type is not defaultable");
      pop_expect(v, WASYNC_VT_I32);
      break;
    case WASYNC_OP_ARRAY_NEW_FIXED:
      if (in->imm.pair.b > WASYNC_MAX_ARRAY_NEW_FIXED) {
        char text[128];
        snprintf(text, sizeof text,
                 "array.new_fixed length %u is larger than implementation "
                 "limit (%u)",
                 (unsigned)in->imm.pair.b, WASYNC_MAX_ARRAY_NEW_FIXED);
        return fail_code(v, WASYNC_ERR_LIMIT, v->at, text);
      }
      for (uint32_t i = 0; i < in->imm.pair.b && !v->bad; i++)
        pop_expect(v, unpacked(et));
      break;
    case WASYNC_OP_ARRAY_NEW_DATA:
      if (wasync_vt_is_ref(et))
        return fail(v, "array type is not numeric or vector");
      if (!data_ok(v, in->imm.pair.b)) return false;
      pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, WASYNC_VT_I32);
      break;
    default: {
      const WasyncElem *e = elem_of(v, in->imm.pair.b);
      if (!e) return false;
      if (!elem_fits_array(v, e, t)) return fail(v, "type mismatch");
      pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, WASYNC_VT_I32);
      break;
    }
    }
    push(v, wasync_vt_ref_index(false, x));
    break;
  }
  case WASYNC_OP_ARRAY_GET:
  case WASYNC_OP_ARRAY_GET_S:
  case WASYNC_OP_ARRAY_GET_U:
  case WASYNC_OP_ARRAY_SET:
  case WASYNC_OP_ARRAY_FILL: {
    const WasyncSubType *t = comp_type_of(v, in->imm.index, WASYNC_COMP_ARRAY);
    if (!t) return false;
    const WasyncFieldType *fd = &t->fields[0];
    WasyncValType ref = wasync_vt_ref_index(true, in->imm.index);
    if (op == WASYNC_OP_ARRAY_SET || op == WASYNC_OP_ARRAY_FILL) {
      if (!fd->mut) return fail(v, "immutable array");
      if (op == WASYNC_OP_ARRAY_FILL) pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, unpacked(fd->type));
      pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, ref);
    } else {
      if (is_packed(fd->type) != (op != WASYNC_OP_ARRAY_GET))
        return fail(v, "type mismatch");
      pop_expect(v, WASYNC_VT_I32);
      pop_expect(v, ref);
      push(v, unpacked(fd->type));
    }
    break;
  }
  case WASYNC_OP_ARRAY_LEN:
    pop_expect(v, wasync_vt_ref_abstract(true, WASYNC_HT_ARRAY));
    push(v, WASYNC_VT_I32);
    break;
  case WASYNC_OP_ARRAY_COPY: {
    const WasyncSubType *dt =
        comp_type_of(v, in->imm.pair.a, WASYNC_COMP_ARRAY);
    if (!dt) return false;
    const WasyncSubType *st =
        comp_type_of(v, in->imm.pair.b, WASYNC_COMP_ARRAY);
    if (!st) return false;
    if (!dt->fields[0].mut) return fail(v, "immutable array");
    if (!sub(v, st->fields[0].type, dt->fields[0].type))
      return fail(v, "array types do not match");
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, wasync_vt_ref_index(true, in->imm.pair.b));
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, wasync_vt_ref_index(true, in->imm.pair.a));
    break;
  }
  case WASYNC_OP_ARRAY_INIT_DATA:
  case WASYNC_OP_ARRAY_INIT_ELEM: {
    const WasyncSubType *t = comp_type_of(v, in->imm.pair.a, WASYNC_COMP_ARRAY);
    if (!t) return false;
    if (!t->fields[0].mut) return fail(v, "immutable array");
    if (op == WASYNC_OP_ARRAY_INIT_DATA) {
      if (wasync_vt_is_ref(t->fields[0].type))
        return fail(v, "array type is not numeric or vector");
      if (!data_ok(v, in->imm.pair.b)) return false;
    } else {
      const WasyncElem *e = elem_of(v, in->imm.pair.b);
      if (!e) return false;
      if (!elem_fits_array(v, e, t)) return fail(v, "type mismatch");
    }
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, WASYNC_VT_I32);
    pop_expect(v, wasync_vt_ref_index(true, in->imm.pair.a));
    break;
  }
  case WASYNC_OP_REF_TEST:
  case WASYNC_OP_REF_TEST_NULL:
  case WASYNC_OP_REF_CAST:
  case WASYNC_OP_REF_CAST_NULL: {
    bool nullable =
        op == WASYNC_OP_REF_TEST_NULL || op == WASYNC_OP_REF_CAST_NULL;
    WasyncValType target = (in->imm.ref & ~WASYNC_VT_NULLABLE) |
                           (nullable ? WASYNC_VT_NULLABLE : 0);
    if (!check_heap(v, target)) return false;
    WasyncValType t = pop_ref(v);
    if (!same_hierarchy(v, t, target)) return fail(v, "type mismatch");
    if (op == WASYNC_OP_REF_TEST || op == WASYNC_OP_REF_TEST_NULL)
      push(v, WASYNC_VT_I32);
    else
      push(v, target);
    break;
  }
  case WASYNC_OP_BR_ON_CAST:
  case WASYNC_OP_BR_ON_CAST_FAIL: {
    WasyncValType from = in->imm.br_on_cast.from, to = in->imm.br_on_cast.to;
    if (!check_heap(v, from) || !check_heap(v, to)) return false;
    if (!wasync_valtype_sub(m, to, from)) return fail(v, "type mismatch");
    /* from minus to: non-null when `to` takes the nulls */
    WasyncValType diff =
        wasync_vt_nullable(to) ? (from & ~WASYNC_VT_NULLABLE) : from;
    pop_expect(v, from);
    if (op == WASYNC_OP_BR_ON_CAST) {
      if (!branch_with_ref(v, in->imm.br_on_cast.label, to)) return false;
      push(v, diff);
    } else {
      if (!branch_with_ref(v, in->imm.br_on_cast.label, diff)) return false;
      push(v, to);
    }
    break;
  }
  case WASYNC_OP_ANY_CONVERT_EXTERN:
  case WASYNC_OP_EXTERN_CONVERT_ANY: {
    bool to_any = op == WASYNC_OP_ANY_CONVERT_EXTERN;
    WasyncValType want =
        wasync_vt_ref_abstract(true, to_any ? WASYNC_HT_EXTERN : WASYNC_HT_ANY);
    WasyncValType t = pop_ref(v);
    if (!sub(v, t, want)) return fail(v, "type mismatch");
    push(v, wasync_vt_ref_abstract(wasync_vt_nullable(t),
                                   to_any ? WASYNC_HT_ANY : WASYNC_HT_EXTERN));
    break;
  }
  case WASYNC_OP_REF_I31:
    pop_expect(v, WASYNC_VT_I32);
    push(v, wasync_vt_ref_abstract(false, WASYNC_HT_I31));
    break;
  case WASYNC_OP_I31_GET_S:
  case WASYNC_OP_I31_GET_U:
    pop_expect(v, wasync_vt_ref_abstract(true, WASYNC_HT_I31));
    push(v, WASYNC_VT_I32);
    break;
  default: return fail(v, "illegal opcode");
  }
  return !v->bad;
}

#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline bool
funcv_step(WasyncFuncValidator *v, const WasyncInstr *in, bool in_body) {
  uint16_t op = in->op;
  v->at = in->offset;
  /* In validate_body()'s loop these hold by construction: it stops at the
   * first failure and after the final `end` (the only pop of the last
   * frame), and its instructions come from the decoder. */
  if (!in_body) {
    if (v->bad) return false;
    if (v->done || v->nctrls == 0)
      return fail(v, "operators remaining after end of function");
    if (op >= WASYNC_OP_COUNT) return fail(v, "illegal opcode");
  }
  if (v->sig_fast[op]) return step_sig(v, in); /* a signature */
  /* Fast paths for the commonest variable instructions when nothing can go
   * wrong (index in range, local set, exact type on the stack, room to
   * push); anything else is left unchanged for step_other(). */
  uint32_t x = in->imm.index;
  switch (op) {
  case WASYNC_OP_LOCAL_GET:
    if (x < v->nlocals && v->local_set[x] && v->nvals < v->vals_cap) {
      v->vals[v->nvals++] = v->locals[x];
      return true;
    }
    break;
  case WASYNC_OP_LOCAL_SET:
  case WASYNC_OP_LOCAL_TEE:
    if (x < v->nlocals && v->local_set[x] &&
        v->nvals > v->ctrls[v->nctrls - 1].pub.height &&
        v->vals[v->nvals - 1] == v->locals[x]) {
      if (op == WASYNC_OP_LOCAL_SET) v->nvals--;
      return true;
    }
    break;
  case WASYNC_OP_GLOBAL_GET:
    if (x < v->m->nglobals && v->nvals < v->vals_cap) {
      v->vals[v->nvals++] = v->m->globals[x].type;
      return true;
    }
    break;
  default: break;
  }
  return step_other(v, in);
}

bool wasync_funcv_step(WasyncFuncValidator *v, const WasyncInstr *in) {
  return funcv_step(v, in, false);
}

/* ---- functions and expressions ---- */

static bool reset(WasyncFuncValidator *v) {
  v->bad = false;
  v->done = false;
  v->nvals = v->nctrls = v->ninits = v->nlocals = 0;
  return true;
}

bool wasync_funcv_begin(WasyncFuncValidator *v, uint32_t func) {
  const WasyncModule *m = v->m;
  reset(v);
  v->at = 0;
  v->func = UINT32_MAX;
  if (func >= m->nfuncs || m->funcs[func].import != UINT32_MAX)
    return failn(v, "unknown function", func);
  v->func = func; /* for the errors' context */
  const WasyncFunc *f = &m->funcs[func];
  v->at = f->code.offset;
  const WasyncSubType *t = func_type_of(v, f->type);
  if (!t) return false;
  uint64_t total = (uint64_t)t->nparams + f->code.nlocals;
  if (total > WASYNC_MAX_LOCALS) {
    return fail_code(v, WASYNC_ERR_LIMIT, v->at, "too many locals");
  }
  uint32_t n = (uint32_t)total;
  uint32_t cap = v->locals_cap;
  if (!grow(v, (void **)&v->locals, &v->locals_cap, sizeof *v->locals,
            n ? n : 1))
    return false;
  if (v->locals_cap != cap || !v->local_set) {
    uint8_t *s = v->al->realloc(v->al->ctx, v->local_set, v->locals_cap);
    if (!s) return oom(v);
    v->local_set = s;
  }
  if (t->nparams) {
    memcpy(v->locals, t->params, (size_t)t->nparams * sizeof *v->locals);
    memset(v->local_set, 1, t->nparams);
  }
  uint32_t k = t->nparams;
  for (uint32_t g = 0; g < f->code.nlocal_groups; g++) {
    const WasyncLocalGroup *lg = &f->code.local_groups[g];
    if (!check_heap(v, lg->type)) return false;
    uint8_t init = defaultable(lg->type) ? 1 : 0;
    for (uint32_t i = 0; i < lg->count && k < n; i++, k++) {
      v->locals[k] = lg->type;
      v->local_set[k] = init;
    }
  }
  v->nlocals = k;
  v->func = func;
  v->ftype = t;
  return push_ctrl(v, WASYNC_OP_CALL, NULL, 0, t->results, t->nresults) != NULL;
}

bool wasync_funcv_begin_expr(WasyncFuncValidator *v, WasyncValType result,
                             uint64_t offset) {
  reset(v);
  v->at = offset;
  v->func = UINT32_MAX;
  v->ftype = NULL;
  Frame *f = push_ctrl(v, WASYNC_OP_CALL, NULL, 0, NULL, 1);
  if (!f) return false;
  f->single = result;
  f->has_single = true;
  f->pub.results = &f->single;
  return true;
}

bool wasync_funcv_done(const WasyncFuncValidator *v) {
  return v->done;
}

uint32_t wasync_funcv_stack_height(const WasyncFuncValidator *v) {
  return v->nvals;
}

WasyncValType wasync_funcv_stack_type(const WasyncFuncValidator *v,
                                      uint32_t depth) {
  if (depth >= v->nvals) return WASYNC_VT_BOT;
  return v->vals[v->nvals - 1 - depth];
}

uint32_t wasync_funcv_ctrl_height(const WasyncFuncValidator *v) {
  return v->nctrls;
}

const WasyncCtrlFrame *wasync_funcv_ctrl(const WasyncFuncValidator *v,
                                         uint32_t depth) {
  if (depth >= v->nctrls) return NULL;
  return &v->ctrls[v->nctrls - 1 - depth].pub;
}

uint32_t wasync_funcv_local_count(const WasyncFuncValidator *v) {
  return v->nlocals;
}

WasyncValType wasync_funcv_local_type(const WasyncFuncValidator *v,
                                      uint32_t index) {
  return index < v->nlocals ? v->locals[index] : WASYNC_VT_BOT;
}

/* The body loop; with `w` (a constant at each call site, so each gets its
 * own copy of the loop), the body is also re-encoded to `out`: runs of
 * instructions whose bytes are their minimal encoding are copied, the
 * others written by the body writer (body_writer.h). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline bool
validate_body(WasyncFuncValidator *v, uint32_t func, WasyncBodyWriter *w,
              WasyncBuf *out) {
  if (!wasync_funcv_begin(v, func)) return false;
  const WasyncModule *m = v->m;
  const WasyncCode *c = &m->funcs[func].code;
  const uint8_t *base;
  size_t pos, end;
  if (c->replaced) {
    base = c->body;
    pos = c->expr_start;
    end = c->size;
  } else {
    base = m->bytes;
    pos = (size_t)c->offset + c->expr_start;
    end = (size_t)c->offset + c->size;
  }
  if (v->ir_live) {
    /* keep the reader's scratch arrays: only move it to this body */
    v->ir.r.base = base;
    v->ir.r.pos = pos;
    v->ir.r.end = end;
    v->ir.r.err = v->err;
  } else {
    wasync_instr_reader_init(&v->ir, m, base, pos, end, v->err);
    v->ir_live = true;
  }
  size_t run = pos; /* start of the bytes not yet copied to `out` */
  WasyncInstr in;
  while (!v->done) {
    if (v->ir.r.pos >= v->ir.r.end)
      return fail_code(v, WASYNC_ERR_MALFORMED, v->ir.r.pos,
                       "unexpected end of section or function");
    bool fast = wasync_instr_decode_fast(&v->ir, &in);
    if (!fast && !wasync_instr_decode(&v->ir, &in)) {
      v->bad = true;
      /* the reader's error names what it read; add where */
      if (!strstr(v->err->message, "(in function "))
        wasync_error_context(v->err, "in function %u", func);
      return false;
    }
    if (w) {
      size_t at = (size_t)in.offset, n = v->ir.r.pos - at;
      if (!fast || !wasync_fast_instr_minimal(base + at, n)) {
        wasync_buf_bytes(out, base + run, at - run);
        wasync_body_writer_instr(w, &in, base + at, n);
        run = v->ir.r.pos;
      }
    }
    if (!funcv_step(v, &in, true)) return false;
  }
  if (v->ir.r.pos != v->ir.r.end)
    return fail_code(v, WASYNC_ERR_MALFORMED, v->ir.r.pos,
                     "section size mismatch");
  if (w) wasync_buf_bytes(out, base + run, v->ir.r.pos - run);
  return true;
}

bool wasync_func_validate(WasyncFuncValidator *v, uint32_t func) {
  return validate_body(v, func, NULL, NULL);
}

bool wasync_func_validate_reencode(WasyncFuncValidator *v, uint32_t func,
                                   WasyncBodyWriter *w, WasyncBuf *out) {
  const WasyncCode *c = func < v->m->nfuncs ? &v->m->funcs[func].code : NULL;
  if (!c || c->replaced || v->m->funcs[func].import != UINT32_MAX)
    return validate_body(v, func, NULL, NULL);
  wasync_body_writer_begin(w, c);
  return validate_body(v, func, w, out);
}
