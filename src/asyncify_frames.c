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
 */
#include <string.h>

#include "asyncify.h"

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

static void put(WasyncBuf *b, uint16_t op, uint32_t index) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.index = index;
  wasync_instr_encode(b, &in);
}

static void put_mem(WasyncBuf *b, const WasyncAsyncifyCtx *c, uint16_t op,
                    uint64_t offset) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.memarg.offset = offset;
  in.imm.memarg.memory = c->memory;
  in.imm.memarg.has_memory = c->memory != 0;
  wasync_instr_encode(b, &in);
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
  uint32_t save_type, restore_type;
  if (!wasync_asyncify_functype(m, vals, n + 1, NULL, 0, &save_type) ||
      !wasync_asyncify_functype(m, vals, 1, vals + 1, n, &restore_type))
    return false;

  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  uint64_t off = 0;
  v = 1;
  for (int k = 0; k < WASYNC_FRAME_CLASSES; k++)
    for (uint32_t j = 0; j < counts[k]; j++, v++) {
      put(&b, WASYNC_OP_LOCAL_GET, 0);
      put(&b, WASYNC_OP_LOCAL_GET, v);
      put_mem(&b, c, stores[k], off);
      off += class_bytes(k);
    }
  put(&b, WASYNC_OP_END, 0);
  bool ok =
      !b.oom && wasync_asyncify_add_func(m, save_type, b.data, b.size, save);
  b.size = 0;
  off = 0;
  for (int k = 0; k < WASYNC_FRAME_CLASSES && ok; k++)
    for (uint32_t j = 0; j < counts[k]; j++) {
      put(&b, WASYNC_OP_LOCAL_GET, 0);
      put_mem(&b, c, loads[k], off);
      off += class_bytes(k);
    }
  put(&b, WASYNC_OP_END, 0);
  ok = ok && !b.oom &&
       wasync_asyncify_add_func(m, restore_type, b.data, b.size, restore);
  wasync_buf_release(&b);
  return ok;
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
