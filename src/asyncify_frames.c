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
 * layout of a frame depends only on how many of each class it holds.  One
 * pair of functions per such count vector does the memory work:
 *
 *   save    (p, i32 x a, i64 x b, f32 x c, f64 x d, v128 x e) -> ()
 *   restore (p) -> (i32 x a, i64 x b, f32 x c, f64 x d, v128 x e)
 *
 * (p: i32, or i64 on memory64), and a function's save becomes local.get p,
 * a local.get per local and a call; its restore a call and a local.set per
 * local (multi-value results).  Both run only while unwinding or
 * rewinding, never on the normal path.  The pairs are created on first use
 * and shared by every function with the same counts.
 *
 * Multi-value is used only where the output may use it (see
 * asyncify_features.c).  Without it a shape has only its save function
 * (restores are inline loads), and push/pop return one value: push returns
 * p, or all ones when the frame does not fit (no frame of at least 4 bytes
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

/* __asyncify_save_2i32_1f64 / __asyncify_restore_2i32_1f64 */
static bool name_pair(WasyncAsyncifyCtx *c, const uint32_t *counts,
                      uint32_t save, uint32_t restore) {
  static const char *const cls[WASYNC_FRAME_CLASSES] = {"i32", "i64", "f32",
                                                        "f64", "v128"};
  char shape[128];
  size_t n = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    if (counts[k] && n < sizeof shape)
      n += (size_t)snprintf(shape + n, sizeof shape - n, "_%u%s", counts[k],
                            cls[k]);
  return wasync_asyncify_name(c, save, "__asyncify_save", shape) &&
         (restore == UINT32_MAX ||
          wasync_asyncify_name(c, restore, "__asyncify_restore", shape));
}

static bool make_pair(WasyncAsyncifyCtx *c, const uint32_t *counts,
                      uint32_t *save, uint32_t *restore) {
  static const uint16_t loads[WASYNC_FRAME_CLASSES] = {
      WASYNC_OP_I32_LOAD, WASYNC_OP_I64_LOAD, WASYNC_OP_F32_LOAD,
      WASYNC_OP_F64_LOAD, WASYNC_OP_V128_LOAD};
  static const uint16_t stores[WASYNC_FRAME_CLASSES] = {
      WASYNC_OP_I32_STORE, WASYNC_OP_I64_STORE, WASYNC_OP_F32_STORE,
      WASYNC_OP_F64_STORE, WASYNC_OP_V128_STORE};
  WasyncModule *m = c->m;
  uint32_t n = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    n += counts[k];
  WasyncValType *vals = wasync_arena_array(&m->arena, n + 2, sizeof *vals);
  if (!vals) return false;
  vals[0] = c->mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
  uint32_t v = 1;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    for (uint32_t j = 0; j < counts[k]; j++)
      vals[v++] = class_vt[k];
  uint32_t save_type, restore_type = 0;
  if (!wasync_module_add_type(m, vals, n + 1, NULL, 0, &save_type) ||
      (c->multivalue &&
       !wasync_module_add_type(m, vals, 1, vals + 1, n, &restore_type)))
    return false;

  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  uint64_t off = 0;
  v = 1;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    for (uint32_t j = 0; j < counts[k]; j++, v++) {
      put_op(&b, WASYNC_OP_LOCAL_GET);
      put_idx(&b, WASYNC_OP_LOCAL_GET, v);
      put_mem(&b, c, stores[k], off);
      off += class_bytes(k);
    }
  put_op(&b, WASYNC_OP_END);
  bool ok =
      !b.oom && wasync_module_add_func(m, save_type, b.data, b.size, save);
  *restore = UINT32_MAX; /* MVP: restores are written inline */
  if (!c->multivalue) {
    wasync_buf_release(&b);
    return ok && name_pair(c, counts, *save, *restore);
  }
  b.size = 0;
  off = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES && ok; k++)
    for (uint32_t j = 0; j < counts[k]; j++) {
      put_op(&b, WASYNC_OP_LOCAL_GET);
      put_mem(&b, c, loads[k], off);
      off += class_bytes(k);
    }
  put_op(&b, WASYNC_OP_END);
  ok = ok && !b.oom &&
       wasync_module_add_func(m, restore_type, b.data, b.size, restore);
  wasync_buf_release(&b);
  return ok && name_pair(c, counts, *save, *restore);
}

bool wasync_asyncify_frame_codec(WasyncAsyncifyCtx *c, const uint32_t *counts,
                                 uint32_t *save, uint32_t *restore) {
  for (uint32_t i = 0; i < c->ncodecs; i++)
    if (memcmp(c->codecs[i].counts, counts, sizeof c->codecs[i].counts) == 0) {
      *save = c->codecs[i].save;
      *restore = c->codecs[i].restore;
      return true;
    }
  if (c->ncodecs == c->codecs_cap) {
    uint32_t cap = c->codecs_cap ? c->codecs_cap * 2 : 16;
    WasyncFrameCodec *n = wasync_arena_array(&c->m->arena, cap, sizeof *n);
    if (!n) return false;
    if (c->ncodecs) memcpy(n, c->codecs, c->ncodecs * sizeof *n);
    c->codecs = n;
    c->codecs_cap = cap;
  }
  WasyncFrameCodec *fc = &c->codecs[c->ncodecs];
  memcpy(fc->counts, counts, sizeof fc->counts);
  if (!make_pair(c, counts, &fc->save, &fc->restore)) return false;
  c->ncodecs++;
  *save = fc->save;
  *restore = fc->restore;
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
