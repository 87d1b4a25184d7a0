/*
 * asyncify_finish.c -- step 3 of rewriting an instrumented function: its
 * frame, and the encoding of out[] (asyncify_generate.c) into bytes.
 *
 * The frame.  Liveness (asyncify_liveness.c) over out[] gives the locals
 * live after each call site; a site's rewind path also reads the
 * conditions of its enclosing hot ifs and its callee operand.  A function
 * has one frame layout, the union of its sites' sets: every site saves
 * and restores the same locals, so there is one save block ($save, which
 * every site's br_if reaches with its call index) and one restore in the
 * prologue.  Numeric locals go to linear memory by class (every i32, then
 * i64, f32, f64, v128, each in local order), written inline or by the
 * shared codec functions (asyncify_frames.c); references go to the
 * reference stacks (a table and a stack-pointer global per hierarchy).
 *
 * Encoding: locals, prologue (if rewinding: pop the frame, restore), the
 * body with the pseudo-instructions resolved (PSEUDO_BR_UNWIND becomes a
 * br_if to $save; sites vanish), dispatches with a single target or
 * within piece 0 simplified, large dispatch tables over few pieces
 * written as compare chains, and blocks left empty dropped.
 *
 * Split rewind path (chosen in asyncify.c): the rewind dispatch joins the
 * restored locals into the normal path at every piece start, and engines
 * pay for those merges on every call: in V8 each live local that differs
 * becomes a phi, so QuickJS's interpreter function JS_CallInternal goes
 * from 8,410 virtual registers to 17,452 (measured with --trace-turbo;
 * ~6,700 of them from the dispatch merges, ~2,000 from the save branches),
 * and a CPU-bound script runs ~2x slower than un-instrumented.  A split
 * function's body goes to two new functions: `fast`, everything but the
 * dispatches (10,651 virtual registers; the script then runs ~1.2x
 * slower), and `rewind`, the full rewrite, which restores the same frame
 * and carries on to the end of that activation; the function itself
 * becomes a trampoline to one or the other by the state (a few bytes of
 * native stack, no tail call needed).  Both variants are encoded from the
 * same out[], so call-site numbers and the frame agree by construction.
 * V8 before 11.6 also gives functions above ~9,700 virtual registers a
 * mid-tier register allocator with much larger frames; js/engine.js turns
 * that off (Binaryen-style guards instead of jumps were tried: 18,280).
 */
#include <string.h>

#include "asyncify_emit.h"
#include "asyncify_rewrite.h"
#include "leb128.h"
#include "module_edit.h"

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
                      uint32_t *save) {
  if (n < CODEC_MIN || n > CODEC_MAX) return false;
  if (wasync_asyncify_frame_codec(rw->c, counts, WASYNC_CODEC_SAVE, save))
    return true;
  rw->oom = true;
  return false;
}

/* Restore code for one layout, in the prologue (rewinding): pops the
 * frame, sets ci and the frame's locals.  With multi-value a frame of up
 * to CODEC_MAX numeric locals is one call of its shape's load function;
 * otherwise the frame is read backward by the pop_T functions, a call and
 * a local.set per value (the call index first). */
static void put_restore(RW *rw, WasyncBuf *b, const uint64_t *bits) {
  WasyncAsyncifyCtx *c = rw->c;
  uint32_t counts[WASYNC_FRAME_CLASSES], fn;
  uint32_t n = frame_order(rw, bits, rw->order, counts);
  if (c->multivalue && n <= CODEC_MAX) {
    if (!wasync_asyncify_frame_codec(c, counts, WASYNC_CODEC_LOAD, &fn)) {
      rw->oom = true;
      return;
    }
    put_idx(b, WASYNC_OP_CALL, fn);
    for (uint32_t k = n; k-- > 0;)
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->order[k]);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->ci);
  } else {
    if (!wasync_asyncify_frame_pop_class(c, 0, &fn)) {
      rw->oom = true;
      return;
    }
    put_idx(b, WASYNC_OP_CALL, fn);
    put_idx(b, WASYNC_OP_LOCAL_SET, rw->ci);
    for (uint32_t k = n; k-- > 0;) {
      int cls = wasync_asyncify_frame_class(rw->ltypes[rw->order[k]]);
      if (!wasync_asyncify_frame_pop_class(c, cls, &fn)) {
        rw->oom = true;
        return;
      }
      put_idx(b, WASYNC_OP_CALL, fn);
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->order[k]);
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

/* Save code for one layout, after the end of $save (the call index on the
 * stack).  A frame of up to CODEC_MAX numeric locals and no references is
 * one call of its shape's store function (push, then store if it fits). */
static void put_save(RW *rw, WasyncBuf *b, const uint64_t *bits,
                     uint32_t size) {
  WasyncAsyncifyCtx *c = rw->c;
  bool refs = false;
  for (uint32_t x = 0; x < rw->nlocals && !refs; x++)
    refs = BIT(bits, x) && wasync_vt_is_ref(rw->ltypes[x]);
  uint32_t counts[WASYNC_FRAME_CLASSES], sv;
  uint32_t n = frame_order(rw, bits, rw->order, counts);
  if (!refs && n <= CODEC_MAX) {
    if (!wasync_asyncify_frame_codec(c, counts, WASYNC_CODEC_STORE, &sv)) {
      rw->oom = true;
      return;
    }
    for (uint32_t k = 0; k < n; k++)
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->order[k]);
    put_idx(b, WASYNC_OP_CALL, sv);
    return;
  }
  put_idx(b, WASYNC_OP_LOCAL_SET, rw->ci);
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
    if (c->multivalue) {
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->ci);
      put_idx(b, WASYNC_OP_LOCAL_SET, rw->p);
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->ci);
    } else { /* MVP: p, all ones when the frame does not fit */
      put_idx(b, WASYNC_OP_LOCAL_TEE, rw->p);
      put_ptr(b, m64, UINT64_MAX);
      put_op(b, m64 ? WASYNC_OP_I64_NE : WASYNC_OP_I32_NE);
    }
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
  if (use_codec(rw, n, counts, &sv)) {
    put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
    for (uint32_t k = 0; k < n; k++)
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->order[k]);
    put_idx(b, WASYNC_OP_CALL, sv);
  } else if (n > CODEC_MAX) {
    /* A large frame in runs of CODEC_MAX values, each stored by the save
     * function of its own shape at p + its offset: runs of one class are
     * common shapes, shared with other functions' frames (inline stores
     * cost 7-8 bytes a value, this ~2.5). */
    uint32_t off = 0;
    for (uint32_t start = 0; start < n && !rw->oom; start += CODEC_MAX) {
      uint32_t cnt = n - start < CODEC_MAX ? n - start : CODEC_MAX;
      uint32_t run[WASYNC_FRAME_CLASSES] = {0}, bytes = 0;
      for (uint32_t k = start; k < start + cnt; k++) {
        WasyncValType t = rw->ltypes[rw->order[k]];
        run[wasync_asyncify_frame_class(t)]++;
        bytes += vt_bytes(t);
      }
      if (!wasync_asyncify_frame_codec(c, run, WASYNC_CODEC_SAVE, &sv)) {
        rw->oom = true;
        return;
      }
      put_idx(b, WASYNC_OP_LOCAL_GET, rw->p);
      if (off) {
        put_ptr(b, m64, off);
        put_op(b, m64 ? WASYNC_OP_I64_ADD : WASYNC_OP_I32_ADD);
      }
      for (uint32_t k = start; k < start + cnt; k++)
        put_idx(b, WASYNC_OP_LOCAL_GET, rw->order[k]);
      put_idx(b, WASYNC_OP_CALL, sv);
      off += bytes;
    }
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

/* A nullable reference to a bottom heap type only ever holds null: it
 * needs no saving (a local restarts as null). */
static bool is_null_only(WasyncValType t) {
  if (!wasync_vt_is_ref(t) || !wasync_vt_nullable(t) || wasync_vt_indexed(t))
    return false;
  uint32_t h = wasync_vt_heap(t);
  return h == WASYNC_HT_NONE || h == WASYNC_HT_NOFUNC ||
         h == WASYNC_HT_NOEXTERN || h == WASYNC_HT_NOEXN;
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
    table += wasync_leb_u_size(lab[j]);
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

/* ---- the frame and the variants ------------------------------------------
 * What finish() works with: the frame (one per function: the union of
 * what every call site needs, see the top of this file) and, per out[]
 * index, what each encoded variant leaves out. */
typedef struct Fin {
  size_t W;           /* words per bitset */
  uint64_t *bits;     /* nsites + 1 bitsets: live after each site, the frame */
  uint64_t *frame;    /* bits + nsites * W */
  uint32_t size;      /* the frame's bytes of linear memory (no call index) */
  bool has_frame;     /* some site exists (else no save or restore code) */
  uint8_t *disp_mark; /* out[]: a dispatch br_table whose base is known */
  uint8_t *elide;     /* out[]: left out of every variant */
  uint8_t *skip;      /* out[]: left out of `fast` (split only) */
  uint8_t *vdrop;     /* out[]: left out of the variant at hand */
  uint32_t *vstk;     /* scratch for drop_empty_blocks */
  uint32_t fast, rewind; /* split: the two new functions */
  /* What a call of the function itself calls in the variant at hand: the
   * function (its trampoline when split), or in `fast` `fast` itself --
   * the state is 0 at every call there, so the trampoline would choose
   * `fast` anyway (measured: the trampoline was about a third of QuickJS's
   * CPU-bound slowdown on Node 20, JS_CallInternal recursing). */
  uint32_t self_callee;
  WasyncBuf b;
  /* size_report: the tally (NULL: none) and the bytes of the function's
   * output bodies so far; `fast` and the trampoline count as SZ_SPLIT. */
  WasyncAsyncifySizes *sizes;
  bool tally_split;
  uint64_t out_bytes;
} Fin;

/* Counts the bytes written to F->b since `from` as category cat. */
static void tally(Fin *F, int cat, size_t from) {
  if (F->sizes)
    F->sizes->bytes[F->tally_split ? SZ_SPLIT : cat] +=
        (int64_t)(F->b.size - from);
}

static void *fin_alloc(RW *rw, size_t n) {
  void *p = rw->al->alloc(rw->al->ctx, n ? n : 1);
  if (!p) rw->oom = true;
  return p;
}

/* The frame: per site, the locals live after it (asyncify_liveness.c) and
 * those its rewind path reads (hot `if` conditions, callee operands,
 * non-null arguments), minus ci, p and locals that can only hold null; the
 * frame is their union (one layout per function: a bigger frame costs
 * unwind-buffer bytes only, while several layouts cost save and restore
 * code -- QuickJS with up to 8 layouts was 2.0x its size, with one 1.64x). */
static bool frame_of_sites(RW *rw, Fin *F) {
  size_t W = F->W;
  if (!wasync_asyncify_liveness(rw->out, rw->nout, PSEUDO_SITE, rw->nlocals,
                                rw->nsites, F->bits, rw->al)) {
    rw->oom = true;
    return false;
  }
  for (uint32_t s = 0; s < rw->nsites; s++) {
    uint64_t *sb = F->bits + (size_t)s * W;
    const Site *site = &rw->sites[s];
    for (uint32_t k = 0; k < site->path_count; k++) {
      uint32_t x = rw->path[site->path_start + k];
      sb[x / 64] |= 1ull << (x % 64);
    }
    for (size_t w = 0; w < W; w++)
      F->frame[w] |= sb[w];
  }
  for (uint32_t x = 0; x < rw->nlocals; x++)
    if (BIT(F->frame, x) && is_null_only(rw->ltypes[x]))
      F->frame[x / 64] &= ~(1ull << (x % 64));
  F->frame[rw->ci / 64] &= ~(1ull << (rw->ci % 64));
  F->frame[rw->p / 64] &= ~(1ull << (rw->p % 64));
  if (rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_SAVE) /* diagnostic */
    memset(F->frame, 0, W * 8);
  F->size = 0;
  for (uint32_t x = 0; x < rw->nlocals; x++)
    if (BIT(F->frame, x)) F->size += vt_bytes(rw->ltypes[x]);
  F->has_frame = rw->nsites > 0;
  return true;
}

/* Dispatches that need no table: one that can only land on piece 0 right
 * after itself does nothing and goes, with piece 0's block (nothing else
 * is inside it); one with a single target whatever the call index becomes
 * global.get state; br_if target.  Also marks the dispatches whose base
 * constant is known (put_dispatch_table may encode them as compares). */
static void simplify_dispatches(RW *rw, Fin *F) {
  for (uint32_t q = 0; q < rw->nseqs; q++) {
    const Seq *sq = &rw->seqs[q];
    if (sq->disp != UINT32_MAX && sq->disp >= 2 &&
        sq->base_at == sq->disp - 2) {
      F->disp_mark[sq->disp] = 1; /* local.get ci; i32.const base; i32.sub */
      if (rw->out[sq->base_at].imm.i32 == 0) /* the table starts at 0 */
        F->elide[sq->base_at] = F->elide[sq->base_at + 1] = 1;
    }
  }
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
      F->elide[sq->p0_open] = F->elide[sq->p0_close] = 1;
      for (uint32_t i = sq->disp_start; i < sq->disp_end; i++)
        F->elide[i] = 1;
      continue;
    }
    /* out[disp_start] is the global.get; its `if` becomes the br_if. */
    WasyncInstr *br = &rw->out[sq->disp_start + 1];
    memset(br, 0, sizeof *br);
    br->op = WASYNC_OP_BR_IF;
    br->imm.index = target - 1;
    for (uint32_t i = sq->disp_start + 2; i < sq->disp_end; i++)
      F->elide[i] = 1;
  }
}

/* Marks in mark[] the guard of each hot if's condition, so that
 * cl = state ? cl : c becomes cl = c: in `fast` (the state is 0 at every
 * hot if there: a rewind runs `rewind`, an unwind leaves at the call), and
 * in every variant for the diagnostic WASYNC_ASYNCIFY_OMIT_CONDS. */
static void mark_cond_guards(RW *rw, uint8_t *mark) {
  for (uint32_t i = 2; i + 2 < rw->nout; i++)
    if (rw->out[i].op == WASYNC_OP_GLOBAL_GET &&
        rw->out[i].imm.index == rw->c->g_state &&
        rw->out[i + 1].op == WASYNC_OP_SELECT &&
        rw->out[i + 2].op == WASYNC_OP_LOCAL_TEE &&
        rw->out[i - 2].op == WASYNC_OP_LOCAL_GET &&
        rw->out[i - 2].imm.index == rw->out[i + 2].imm.index)
      mark[i - 2] = mark[i] = mark[i + 1] = 1;
}

/* The split rewind path (see split_min_sites): the full body goes to a new
 * function, `rewind`, the body without the sequences' dispatches to
 * another, `fast`; the function itself becomes a trampoline to one or the
 * other (put_trampoline: a frame of a few bytes, so a rewound activation
 * costs no more native stack than a normal one, and no tail call is
 * needed). */
static bool prepare_split(RW *rw, Fin *F) {
  WasyncModule *m = rw->m;
  static const uint8_t end_only[] = {0x0B};
  uint32_t type = m->funcs[rw->func].type;
  F->skip = fin_alloc(rw, (size_t)rw->nout + 1);
  if (!F->skip || !wasync_module_add_func(m, type, end_only, 1, &F->rewind) ||
      !wasync_module_add_func(m, type, end_only, 1, &F->fast) ||
      !wasync_asyncify_name_copies(rw->c, rw->func, F->rewind, F->fast)) {
    rw->oom = true;
    return false;
  }
  memset(F->skip, 0, (size_t)rw->nout + 1);
  for (uint32_t q = 0; q < rw->nseqs; q++) {
    const Seq *sq = &rw->seqs[q];
    if (sq->disp == UINT32_MAX) continue;
    for (uint32_t i = sq->disp_start; i < sq->disp_end && i < rw->nout; i++)
      F->skip[i] = 1;
  }
  mark_cond_guards(rw, F->skip);
  return true;
}

/* Diagnostic (WASYNC_ASYNCIFY_OMIT_DISPATCH): every variant leaves the
 * sequences' dispatches out, as `fast` does. */
static void omit_dispatches(RW *rw, Fin *F) {
  for (uint32_t q = 0; q < rw->nseqs; q++) {
    const Seq *sq = &rw->seqs[q];
    if (sq->disp == UINT32_MAX) continue;
    for (uint32_t i = sq->disp_start; i < sq->disp_end && i < rw->nout; i++)
      F->elide[i] = 1;
  }
}

/* Diagnostic (WASYNC_ASYNCIFY_OMIT_CHECKS): every variant leaves out the
 * check after each call, i32.const site; global.get state; br_if; drop. */
static void omit_checks(RW *rw, Fin *F) {
  for (uint32_t i = 2; i + 1 < rw->nout; i++)
    if (rw->out[i].op == PSEUDO_BR_UNWIND &&
        rw->out[i - 2].op == WASYNC_OP_I32_CONST &&
        rw->out[i - 1].op == WASYNC_OP_GLOBAL_GET &&
        rw->out[i + 1].op == WASYNC_OP_DROP)
      F->elide[i - 2] = F->elide[i - 1] = F->elide[i] = F->elide[i + 1] = 1;
}

/* if (state == 2) { pop the frame; restore } */
static bool put_prologue(RW *rw, Fin *F) {
  WasyncAsyncifyCtx *c = rw->c;
  WasyncBuf *b = &F->b;
  size_t from = b->size;
  put_idx(b, WASYNC_OP_GLOBAL_GET, c->g_state);
  put_i32(b, 2);
  put_op(b, WASYNC_OP_I32_EQ);
  put_block(b, WASYNC_OP_IF);
  put_restore(rw, b, F->frame);
  put_op(b, WASYNC_OP_END);
  tally(F, SZ_PROLOGUE, from);
  return !rw->oom;
}

/* Encodes out[i] (none if the variant leaves it out; pseudo-instructions
 * resolved). */
static void put_instr_of(RW *rw, Fin *F, uint32_t i) {
  WasyncBuf *b = &F->b;
  const WasyncInstr *in = &rw->out[i];
  if (F->vdrop[i]) return;
  if (in->op == PSEUDO_BR_UNWIND) {
    put_idx(b, WASYNC_OP_BR_IF, in->imm.pair.b);
    return;
  }
  if (in->op == WASYNC_OP_BR_TABLE && F->disp_mark[i]) {
    put_dispatch_table(rw, b, in, rw->out[i - 2].imm.i32);
    return;
  }
  if (in->op == WASYNC_OP_CALL && in->imm.index == rw->func &&
      F->self_callee != rw->func) {
    put_idx(b, WASYNC_OP_CALL, F->self_callee);
    return;
  }
  if (in->op < WASYNC_OP_COUNT) put(b, in);
}

/* The body.  out[0] (block $unwind) stands for block $save (result i32);
 * a site branches to $save with its call index, and the final `end`
 * closes it:  end $save  save (the index on the stack), then the zeros.
 * (An outer block $exit around it, which nothing targeted, cost 3 bytes
 * a function until the size report showed it.) */
static void put_body(RW *rw, Fin *F) {
  WasyncBuf *b = &F->b;
  for (uint32_t i = 0; i < rw->nout; i++) {
    size_t from = b->size;
    if (i == 0) {
      /* No site (cannot happen, see wasync_asyncify_function): a plain
       * block stands for $save.  Nothing branches past $save's end, so
       * the save code needs no block of its own around it. */
      if (!F->has_frame) put_block(b, WASYNC_OP_BLOCK);
      if (F->has_frame) {
        WasyncInstr blk; /* $save: the call index arrives as its value */
        memset(&blk, 0, sizeof blk);
        blk.op = WASYNC_OP_BLOCK;
        blk.imm.block.kind = WASYNC_BLOCK_VALUE;
        blk.imm.block.value = WASYNC_VT_I32;
        put(b, &blk);
      }
      tally(F, SZ_WRAP, from);
      continue;
    }
    if (i + 1 == rw->nout) { /* the end of $unwind */
      if (F->has_frame) {
        put_op(b, WASYNC_OP_END);
        put_save(rw, b, F->frame, F->size);
      }
      tally(F, SZ_SAVE, from);
      from = b->size;
      if (!F->has_frame) put_op(b, WASYNC_OP_END);
      tally(F, SZ_WRAP, from);
      continue;
    }
    put_instr_of(rw, F, i);
    if (F->sizes) tally(F, rw->ocat[i], from);
  }
}

/* Encodes one variant (0: the function, or `rewind` when split; 1: `fast`,
 * without the dispatches and the prologue) into its function. */
static bool put_variant(RW *rw, Fin *F, uint32_t variant) {
  WasyncModule *m = rw->m;
  WasyncBuf *b = &F->b;
  bool normal = rw->split && variant == 1; /* `fast` */
  for (uint32_t i = 0; i < rw->nout; i++)
    F->vdrop[i] = F->elide[i] | (normal ? F->skip[i] : 0);
  drop_empty_blocks(rw, F->vdrop, F->vstk);
  uint32_t target = !rw->split ? rw->func : normal ? F->fast : F->rewind;
  F->self_callee = normal ? F->fast : rw->func;
  b->size = 0;
  F->tally_split = normal;
  uint32_t ngroups;
  WasyncLocalGroup *groups = put_locals(rw, b, rw->nlocals, &ngroups);
  if (!groups) return false;
  uint32_t expr_start = (uint32_t)b->size;
  tally(F, SZ_LOCALS, 0);
  bool omit_entry = rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_ENTRY;
  if (!normal && F->has_frame && !omit_entry && !put_prologue(rw, F))
    return false;
  put_body(rw, F);
  size_t from = b->size;
  const WasyncSubType *ft = wasync_func_type(m, rw->func);
  for (uint32_t r = 0; r < ft->nresults; r++)
    put_zero(b, ft->results[r]);
  put_op(b, WASYNC_OP_END);
  tally(F, SZ_WRAP, from);
  F->out_bytes += b->size;
  if (F->sizes && rw->split) F->sizes->copies += b->size;
  if (b->oom || rw->oom) {
    rw->oom = true;
    return false;
  }
  if (b->size > UINT32_MAX) {
    wasync_fail(rw->err, WASYNC_ERR_LIMIT, m->funcs[rw->func].code.offset,
                "function too large after asyncify");
    return false;
  }
  if (normal && (rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_TRAMPOLINE) &&
      !set_code(rw, rw->func, b, expr_start, groups, ngroups,
                rw->nlocals - rw->nparams))
    return false; /* diagnostic: the function is `fast` itself */
  return set_code(rw, target, b, expr_start, groups, ngroups,
                  rw->nlocals - rw->nparams);
}

/* The split function's own body: if (state == 2) return rewind(params);
 * fast(params).  It declares the function's original locals, unused, so
 * that a name section naming them stays valid. */
static bool put_trampoline(RW *rw, Fin *F) {
  const WasyncSubType *ft = wasync_func_type(rw->m, rw->func);
  WasyncBuf *b = &F->b;
  b->size = 0;
  uint32_t ngroups;
  WasyncLocalGroup *groups = put_locals(rw, b, rw->norig_locals, &ngroups);
  if (!groups) return false;
  uint32_t expr_start = (uint32_t)b->size;
  if (!(rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_ENTRY)) {
    put_idx(b, WASYNC_OP_GLOBAL_GET, rw->c->g_state);
    put_i32(b, 2);
    put_op(b, WASYNC_OP_I32_EQ);
    put_block(b, WASYNC_OP_IF);
    for (uint32_t x = 0; x < ft->nparams; x++)
      put_idx(b, WASYNC_OP_LOCAL_GET, x);
    put_idx(b, WASYNC_OP_CALL, F->rewind);
    put_op(b, WASYNC_OP_RETURN);
    put_op(b, WASYNC_OP_END);
  }
  for (uint32_t x = 0; x < ft->nparams; x++)
    put_idx(b, WASYNC_OP_LOCAL_GET, x);
  put_idx(b, WASYNC_OP_CALL, F->fast);
  put_op(b, WASYNC_OP_END);
  F->tally_split = true;
  tally(F, SZ_SPLIT, 0);
  F->out_bytes += b->size;
  return set_code(rw, rw->func, b, expr_start, groups, ngroups,
                  rw->norig_locals - rw->nparams);
}

bool wasync_rewrite_finish(RW *rw) {
  const WasyncAllocator *al = rw->al;
  Fin F;
  memset(&F, 0, sizeof F);
  F.W = ((size_t)rw->nlocals + 63) / 64;
  if (F.W == 0) F.W = 1;
  size_t n = (size_t)rw->nout + 1;
  F.bits = fin_alloc(rw, ((size_t)rw->nsites + 1) * F.W * 8);
  F.disp_mark = fin_alloc(rw, n);
  F.elide = fin_alloc(rw, n);
  F.vdrop = fin_alloc(rw, n);
  F.vstk = fin_alloc(rw, n * 4);
  rw->order = fin_alloc(rw, ((size_t)rw->nlocals + 1) * 4);
  wasync_buf_init(&F.b, al);
  F.sizes = rw->c->sizes;
  const WasyncCode *code = &rw->m->funcs[rw->func].code;
  uint64_t in_bytes = code->size, in_expr = code->expr_start;
  bool ok = false;
  if (rw->oom) goto out;
  memset(F.bits, 0, ((size_t)rw->nsites + 1) * F.W * 8);
  F.frame = F.bits + (size_t)rw->nsites * F.W;
  memset(F.disp_mark, 0, n);
  memset(F.elide, 0, n);
  if (!frame_of_sites(rw, &F)) goto out;
  simplify_dispatches(rw, &F);
  if (rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_DISPATCH)
    omit_dispatches(rw, &F);
  if (rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_CHECKS) omit_checks(rw, &F);
  if (rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_CONDS)
    mark_cond_guards(rw, F.elide);
  if (rw->split && !prepare_split(rw, &F)) goto out;
  for (uint32_t variant = 0; variant < (rw->split ? 2u : 1u); variant++)
    if (!put_variant(rw, &F, variant)) goto out;
  if (rw->split && !(rw->c->o->diag_omit & WASYNC_ASYNCIFY_OMIT_TRAMPOLINE) &&
      !put_trampoline(rw, &F))
    goto out;
  if (F.sizes) { /* growth: the input's locals and instructions come off */
    F.sizes->bytes[SZ_LOCALS] -= (int64_t)in_expr;
    F.sizes->bytes[SZ_COPIED] -= (int64_t)(in_bytes - in_expr);
    wasync_asyncify_sizes_func(rw->c, rw->func, in_bytes, F.out_bytes,
                               rw->nsites);
  }
  ok = true;
out:
  wasync_buf_release(&F.b);
  al->free(al->ctx, F.bits);
  al->free(al->ctx, F.disp_mark);
  al->free(al->ctx, F.skip);
  al->free(al->ctx, F.elide);
  al->free(al->ctx, F.vdrop);
  al->free(al->ctx, F.vstk);
  return ok;
}
