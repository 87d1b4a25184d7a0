/*
 * asyncify_frames.c -- shared functions that write and read frames.
 *
 * An instrumented function saves its live locals into linear memory when it
 * unwinds and loads them back when it is rewound.  Written inline, that is a
 * store (local.get p; local.get x; T.store offset) and a load (local.get p;
 * T.load offset; local.set x) per local, 12-14 bytes, in every function --
 * a large share of what the pass adds to a module.
 *
 * Frames are private to the module, so their layout can be chosen to make
 * that code shareable: the saved numeric locals are laid out by class --
 * every i32, then i64, f32, f64, v128, each class in local order -- so the
 * layout of a frame depends only on how many of each class it holds.  The
 * functions of one such count vector (a "shape") do the memory work:
 *
 *   store (ci, i32 x a, i64 x b, f32 x c, f64 x d, v128 x e) -> ()
 *         push the frame (push(size, ci)), store the values if it fits
 *   load  () -> (ci, i32 x a, ..., v128 x e)        (multi-value only)
 *         pop the frame (pop(size)), load the values
 *   save  (p, values...) -> ()   store at p (frames with references, whose
 *         reference-stack pushes stay inline)
 *
 * so a function's save block is a local.get per local and a call (the call
 * index is already on the stack: the branch to $save carries it), and its
 * restore a call and a local.set per local.  Without multi-value a restore
 * reads the frame backward with pop_T() -> T (pos -= sizeof T; the T at
 * pos), one per class: the call index first, then the values from the
 * last to the first, a call and a local.set each; when all are read the
 * frame is popped.  (Before: inline loads off a pointer local, 7-8 bytes a
 * value, and the push/pop calls and pointer juggling in every function:
 * QuickJS 1.464x -> 1.430x its input size, sql.js 1.747x -> 1.662x.)
 * All of these run only while unwinding or rewinding, never on the normal
 * path; they are created on first use and shared by every function with
 * the same shape.  A frame of more than CODEC_MAX values
 * (asyncify_finish.c) is pushed by push and stored by save calls, one per
 * run of CODEC_MAX values (runs of one class are common shapes): a
 * function per large shape would cost more than it saves.
 *
 * push/pop (below) return one value without multi-value: push returns p,
 * or all ones when the frame does not fit (no frame of at least 4 bytes
 * that fits can start there), pop returns p and the caller loads the call
 * index from p + size.
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"
#include "asyncify_emit.h"
#include "module_edit.h"

static const uint8_t class_vt[WASYNC_FRAME_CLASSES] = {
    WASYNC_VT_I32, WASYNC_VT_I64, WASYNC_VT_F32, WASYNC_VT_F64, WASYNC_VT_V128};

int wasync_asyncify_frame_class(WasyncValType t) {
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    if (wasync_vt_code(t) == class_vt[k] && !wasync_vt_is_ref(t)) return k;
  return -1;
}

static uint32_t class_bytes(int k) {
  static const uint8_t bytes[WASYNC_FRAME_CLASSES] = {4, 8, 4, 8, 16};
  return bytes[k];
}

static uint32_t shape_bytes(const uint32_t *counts) {
  uint32_t n = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    n += counts[k] * class_bytes(k);
  return n;
}

static const uint16_t class_load[WASYNC_FRAME_CLASSES] = {
    WASYNC_OP_I32_LOAD, WASYNC_OP_I64_LOAD, WASYNC_OP_F32_LOAD,
    WASYNC_OP_F64_LOAD, WASYNC_OP_V128_LOAD};
static const uint16_t class_store[WASYNC_FRAME_CLASSES] = {
    WASYNC_OP_I32_STORE, WASYNC_OP_I64_STORE, WASYNC_OP_F32_STORE,
    WASYNC_OP_F64_STORE, WASYNC_OP_V128_STORE};

static bool add_with_locals(WasyncAsyncifyCtx *c, uint32_t type,
                            const WasyncValType *locals, uint32_t nlocals,
                            const WasyncBuf *expr, uint32_t *out);

/* Names a codec function BASE_2i32_1f64 after its shape. */
static bool name_codec(WasyncAsyncifyCtx *c, const uint32_t *counts, uint32_t f,
                       const char *base) {
  static const char *const cls[WASYNC_FRAME_CLASSES] = {"i32", "i64", "f32",
                                                        "f64", "v128"};
  char shape[128];
  size_t n = 0;
  shape[0] = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    if (counts[k] && n < sizeof shape)
      n += (size_t)snprintf(shape + n, sizeof shape - n, "_%u%s", counts[k],
                            cls[k]);
  return wasync_asyncify_name(c, f, base, shape);
}

/* Stores the values (locals first..first+n-1 of the function being
 * written, in frame order) at p (local p). */
static void put_stores(WasyncBuf *b, const WasyncAsyncifyCtx *c,
                       const uint32_t *counts, uint32_t first, uint32_t p) {
  uint64_t off = 0;
  uint32_t v = first;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    for (uint32_t j = 0; j < counts[k]; j++, v++) {
      put_idx(b, WASYNC_OP_LOCAL_GET, p);
      put_idx(b, WASYNC_OP_LOCAL_GET, v);
      put_mem(b, c, class_store[k], off);
      off += class_bytes(k);
    }
}

static bool make_codec(WasyncAsyncifyCtx *c, const uint32_t *counts, int kind,
                       uint32_t *out) {
  WasyncModule *m = c->m;
  WasyncValType ptr = c->mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
  uint32_t n = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    n += counts[k];
  /* vals: [ptr or ci] then the values */
  WasyncValType *vals = wasync_arena_array(&m->arena, n + 2, sizeof *vals);
  if (!vals) return false;
  vals[0] = kind == WASYNC_CODEC_SAVE ? ptr : WASYNC_VT_I32;
  uint32_t v = 1;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    for (uint32_t j = 0; j < counts[k]; j++)
      vals[v++] = class_vt[k];
  uint32_t type;
  bool ok = kind == WASYNC_CODEC_LOAD
                ? wasync_module_add_type(m, NULL, 0, vals, n + 1, &type)
                : wasync_module_add_type(m, vals, n + 1, NULL, 0, &type);
  if (!ok) return false;
  uint32_t push = 0, pop = 0;
  if (kind != WASYNC_CODEC_SAVE && !wasync_asyncify_frame_stack(c, &push, &pop))
    return false;
  uint32_t size = shape_bytes(counts);
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  const WasyncValType locals[2] = {ptr, WASYNC_VT_I32};
  const char *base = "__asyncify_save";
  if (kind == WASYNC_CODEC_SAVE) { /* (p, values...): store at p */
    put_stores(&b, c, counts, 1, 0);
    put_op(&b, WASYNC_OP_END);
    ok = !b.oom && wasync_module_add_func(m, type, b.data, b.size, out);
  } else if (kind == WASYNC_CODEC_STORE) {
    /* (ci, values...): p = push(size, ci); if it fits, store at p.
     * Locals: n + 1 p, n + 2 fits. */
    uint32_t lp = n + 1, lf = n + 2;
    put_ptr(&b, c->mem64, size);
    put_idx(&b, WASYNC_OP_LOCAL_GET, 0);
    put_idx(&b, WASYNC_OP_CALL, push);
    if (c->multivalue) {
      put_idx(&b, WASYNC_OP_LOCAL_SET, lf);
      put_idx(&b, WASYNC_OP_LOCAL_SET, lp);
      put_idx(&b, WASYNC_OP_LOCAL_GET, lf);
    } else { /* MVP: p, all ones when the frame does not fit */
      put_idx(&b, WASYNC_OP_LOCAL_TEE, lp);
      put_ptr(&b, c->mem64, UINT64_MAX);
      put_op(&b, c->mem64 ? WASYNC_OP_I64_NE : WASYNC_OP_I32_NE);
    }
    put_block(&b, WASYNC_OP_IF);
    put_stores(&b, c, counts, 1, lp);
    put_op(&b, WASYNC_OP_END);
    put_op(&b, WASYNC_OP_END);
    ok = !b.oom && add_with_locals(c, type, locals, 2, &b, out);
    base = "__asyncify_store";
  } else { /* () -> (ci, values...): (p, ci) = pop(size); load from p.
            * Multi-value only.  Locals: 0 p, 1 ci. */
    put_ptr(&b, c->mem64, size);
    put_idx(&b, WASYNC_OP_CALL, pop);
    put_idx(&b, WASYNC_OP_LOCAL_SET, 1);
    put_idx(&b, WASYNC_OP_LOCAL_SET, 0);
    put_idx(&b, WASYNC_OP_LOCAL_GET, 1);
    uint64_t off = 0;
    for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
      for (uint32_t j = 0; j < counts[k]; j++) {
        put_idx(&b, WASYNC_OP_LOCAL_GET, 0);
        put_mem(&b, c, class_load[k], off);
        off += class_bytes(k);
      }
    put_op(&b, WASYNC_OP_END);
    ok = !b.oom && add_with_locals(c, type, locals, 2, &b, out);
    base = "__asyncify_load";
  }
  wasync_buf_release(&b);
  return ok && name_codec(c, counts, *out, base);
}

bool wasync_asyncify_frame_codec(WasyncAsyncifyCtx *c, const uint32_t *counts,
                                 int kind, uint32_t *fn) {
  WasyncFrameCodec *fc = NULL;
  for (uint32_t i = 0; i < c->ncodecs && !fc; i++)
    if (memcmp(c->codecs[i].counts, counts, sizeof c->codecs[i].counts) == 0)
      fc = &c->codecs[i];
  if (!fc) {
    if (c->ncodecs == c->codecs_cap) {
      uint32_t cap = c->codecs_cap ? c->codecs_cap * 2 : 16;
      WasyncFrameCodec *n = wasync_arena_array(&c->m->arena, cap, sizeof *n);
      if (!n) return false;
      if (c->ncodecs) memcpy(n, c->codecs, c->ncodecs * sizeof *n);
      c->codecs = n;
      c->codecs_cap = cap;
    }
    fc = &c->codecs[c->ncodecs++];
    memcpy(fc->counts, counts, sizeof fc->counts);
    for (int k = 0; k < WASYNC_CODEC_KINDS; k++)
      fc->fn[k] = UINT32_MAX;
  }
  if (fc->fn[kind] == UINT32_MAX && !make_codec(c, counts, kind, &fc->fn[kind]))
    return false;
  *fn = fc->fn[kind];
  return true;
}

/* pop_T() -> T: pos -= sizeof(T); the T at pos.  Reads a frame backward:
 * the call index first, then the values from the last to the first; once
 * all are read, the frame is popped.  Locals: 0 the new pos. */
bool wasync_asyncify_frame_pop_class(WasyncAsyncifyCtx *c, int k,
                                     uint32_t *fn) {
  if (c->pop_class[k]) {
    *fn = c->pop_class[k] - 1;
    return true;
  }
  WasyncModule *m = c->m;
  bool m64 = c->mem64;
  WasyncValType ptr = m64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
  WasyncValType res = class_vt[k];
  uint32_t type, f;
  if (!wasync_module_add_type(m, NULL, 0, &res, 1, &type)) return false;
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_mem(&b, c, m64 ? WASYNC_OP_I64_LOAD : WASYNC_OP_I32_LOAD, 0);
  put_ptr(&b, m64, class_bytes(k));
  put_op(&b, m64 ? WASYNC_OP_I64_SUB : WASYNC_OP_I32_SUB);
  put_idx(&b, WASYNC_OP_LOCAL_TEE, 0);
  put_mem(&b, c, m64 ? WASYNC_OP_I64_STORE : WASYNC_OP_I32_STORE, 0);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 0);
  put_mem(&b, c, class_load[k], 0);
  put_op(&b, WASYNC_OP_END);
  bool ok = !b.oom && add_with_locals(c, type, &ptr, 1, &b, &f);
  wasync_buf_release(&b);
  static const char *const names[WASYNC_FRAME_CLASSES] = {
      "__asyncify_pop_i32", "__asyncify_pop_i64", "__asyncify_pop_f32",
      "__asyncify_pop_f64", "__asyncify_pop_v128"};
  if (!ok || !wasync_asyncify_name(c, f, names[k], NULL)) return false;
  c->pop_class[k] = f + 1;
  *fn = f;
  return true;
}

/* ---- pushing and popping frames ------------------------------------------
 *   push(size, ci) -> (p, fits)   p = data.pos; fits = end >= p &&
 *                                 end - p >= size + 4; if fits, the call
 *                                 index goes to p + size; data.pos = p +
 *                                 size + 4 in every case (the overflow
 *                                 contract: pos - end is the shortfall)
 *   pop(size) -> (p, ci)          ci = load(data.pos - 4); p = data.pos -
 *                                 4 - size; data.pos = p
 * (size and p: i32, or i64 on memory64.)  Every instrumented function with
 * one frame layout calls them instead of carrying ~40 bytes of each. */

static bool add_with_locals(WasyncAsyncifyCtx *c, uint32_t type,
                            const WasyncValType *locals, uint32_t nlocals,
                            const WasyncBuf *expr, uint32_t *out) {
  WasyncModule *m = c->m;
  if (!wasync_module_add_func(m, type, expr->data, expr->size, out))
    return false;
  /* add_func declared no locals: rewrite the entry with them. */
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  wasync_buf_u32(&b, nlocals);
  WasyncLocalGroup *groups =
      wasync_arena_array(&m->arena, nlocals + 1, sizeof *groups);
  for (uint32_t i = 0; i < nlocals; i++) {
    wasync_buf_u32(&b, 1);
    wasync_write_valtype(&b, locals[i]);
    if (groups) {
      groups[i].count = 1;
      groups[i].type = locals[i];
    }
  }
  uint32_t expr_start = (uint32_t)b.size;
  wasync_buf_bytes(&b, expr->data, expr->size);
  uint8_t *body =
      (b.oom || !groups) ? NULL : wasync_arena_alloc(&m->arena, b.size);
  if (body) {
    memcpy(body, b.data, b.size);
    WasyncCode *code = &m->funcs[*out].code;
    code->body = body;
    code->size = (uint32_t)b.size;
    code->expr_start = expr_start;
    code->nlocal_groups = nlocals;
    code->local_groups = groups;
    code->nlocals = nlocals;
  }
  wasync_buf_release(&b);
  return body != NULL;
}

bool wasync_asyncify_frame_stack(WasyncAsyncifyCtx *c, uint32_t *push,
                                 uint32_t *pop) {
  if (c->frame_push) {
    *push = c->frame_push - 1;
    *pop = c->frame_pop - 1;
    return true;
  }
  WasyncModule *m = c->m;
  bool m64 = c->mem64;
  WasyncValType ptr = m64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
  uint16_t ld = m64 ? WASYNC_OP_I64_LOAD : WASYNC_OP_I32_LOAD;
  uint16_t st = m64 ? WASYNC_OP_I64_STORE : WASYNC_OP_I32_STORE;
  uint16_t add = m64 ? WASYNC_OP_I64_ADD : WASYNC_OP_I32_ADD;
  uint16_t sub = m64 ? WASYNC_OP_I64_SUB : WASYNC_OP_I32_SUB;
  uint16_t geu = m64 ? WASYNC_OP_I64_GE_U : WASYNC_OP_I32_GE_U;
  uint64_t psz = m64 ? 8 : 4;
  const WasyncValType push_params[2] = {ptr, WASYNC_VT_I32};
  const WasyncValType pair[2] = {ptr, WASYNC_VT_I32};
  /* MVP: one result, p (push: all ones when the frame does not fit) */
  bool mv = c->multivalue;
  uint32_t push_type, pop_type;
  if (!wasync_module_add_type(m, push_params, 2, pair, mv ? 2 : 1,
                              &push_type) ||
      !wasync_module_add_type(m, &ptr, 1, pair, mv ? 2 : 1, &pop_type))
    return false;
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  /* push: params 0 size, 1 ci; locals 2 p, 3 fits */
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_mem(&b, c, ld, 0);
  put_idx(&b, WASYNC_OP_LOCAL_SET, 2);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_mem(&b, c, ld, psz);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  put_op(&b, sub);
  put_op(&b, WASYNC_OP_LOCAL_GET);
  put_ptr(&b, m64, 4);
  put_op(&b, add);
  put_op(&b, geu);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_mem(&b, c, ld, psz);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  put_op(&b, geu);
  put_op(&b, WASYNC_OP_I32_AND);
  put_idx(&b, WASYNC_OP_LOCAL_TEE, 3);
  put_block(&b, WASYNC_OP_IF);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  put_op(&b, WASYNC_OP_LOCAL_GET);
  put_op(&b, add);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 1);
  put_mem(&b, c, WASYNC_OP_I32_STORE, 0);
  put_op(&b, WASYNC_OP_END);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  put_op(&b, WASYNC_OP_LOCAL_GET);
  put_op(&b, add);
  put_ptr(&b, m64, 4);
  put_op(&b, add);
  put_mem(&b, c, st, 0);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  if (mv) {
    put_idx(&b, WASYNC_OP_LOCAL_GET, 3);
  } else { /* fits ? p : -1 */
    put_ptr(&b, m64, UINT64_MAX);
    put_idx(&b, WASYNC_OP_LOCAL_GET, 3);
    put_op(&b, WASYNC_OP_SELECT);
  }
  put_op(&b, WASYNC_OP_END);
  const WasyncValType push_locals[2] = {ptr, WASYNC_VT_I32};
  uint32_t fpush, fpop;
  bool ok = !b.oom && add_with_locals(c, push_type, push_locals, 2, &b, &fpush);
  /* pop: param 0 size; locals 1 p, 2 ci */
  b.size = 0;
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_mem(&b, c, ld, 0);
  put_ptr(&b, m64, 4);
  put_op(&b, sub);
  put_idx(&b, WASYNC_OP_LOCAL_TEE, 1);
  put_mem(&b, c, WASYNC_OP_I32_LOAD, 0);
  put_idx(&b, WASYNC_OP_LOCAL_SET, 2);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 1);
  put_op(&b, WASYNC_OP_LOCAL_GET);
  put_op(&b, sub);
  put_idx(&b, WASYNC_OP_LOCAL_SET, 1);
  put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 1);
  put_mem(&b, c, st, 0);
  put_idx(&b, WASYNC_OP_LOCAL_GET, 1);
  if (mv) put_idx(&b, WASYNC_OP_LOCAL_GET, 2);
  put_op(&b, WASYNC_OP_END);
  const WasyncValType pop_locals[2] = {ptr, WASYNC_VT_I32};
  ok = ok && !b.oom && add_with_locals(c, pop_type, pop_locals, 2, &b, &fpop);
  wasync_buf_release(&b);
  if (!ok) return false;
  if (!wasync_asyncify_name(c, fpush, "__asyncify_frame_push", NULL) ||
      !wasync_asyncify_name(c, fpop, "__asyncify_frame_pop", NULL))
    return false;
  c->frame_push = fpush + 1;
  c->frame_pop = fpop + 1;
  *push = fpush;
  *pop = fpop;
  return true;
}
