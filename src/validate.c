/*
 * validate.c -- module-level validation (wasync_module_validate).
 *
 * Order of the checks, following the spec's module rule:
 *   1. the type section (types.c: forward references, declared supertypes,
 *      and the canonical ids that make equivalence O(1));
 *   2. imports, then functions, tables, memories, globals and tags -- every
 *      type index, every limit, every initializer;
 *   3. exports (known indices, unique names), the start function;
 *   4. element and data segments (table/memory indices, offsets, items);
 *   5. every function body, with the streaming validator of
 *      validate_func.c.
 *
 * Constant expressions are checked with the same function validator: a
 * one-result frame is opened with wasync_funcv_begin_expr() and each
 * decoded instruction is first filtered here (only constant instructions,
 * global.get of an earlier immutable global) and then typed there.
 *
 * `ref.func x` inside a function body needs x to be "declared": referenced
 * somewhere outside function bodies (element segments, exports, global or
 * table initializers).  While checking those, a bitset of such functions is
 * filled and then handed to the function validator.
 */
#include <string.h>

#include "body_writer.h"
#include "instr.h"
#include "leb128.h"
#include "parallel.h"
#include "reader.h"
#include "validate.h"

typedef struct Ctx {
  WasyncModule *m;
  WasyncError *err;
  const WasyncAllocator *al;
  WasyncFuncValidator *v;
  uint8_t *declared;
  WasyncInstrReader ir;
  bool ir_live;
} Ctx;

static bool invalid(Ctx *c, uint64_t at, const char *msg) {
  return wasync_fail(c->err, WASYNC_ERR_INVALID, at, "%s", msg);
}

static bool invalidn(Ctx *c, uint64_t at, const char *msg, uint32_t n) {
  return wasync_fail(c->err, WASYNC_ERR_INVALID, at, "%s %u", msg, (unsigned)n);
}

/* Adds where a constant expression that failed sits ("in global 3") to
 * the error it recorded; returns false. */
static bool in_entity(Ctx *c, const char *entity, uint32_t index) {
  wasync_error_context(c->err, "in %s %u", entity, (unsigned)index);
  return false;
}

/* ---- types ---- */

static bool check_valtype(Ctx *c, WasyncValType t, uint64_t at) {
  if (wasync_vt_is_ref(t) && wasync_vt_indexed(t) &&
      wasync_vt_heap(t) >= c->m->ntypes)
    return invalidn(c, at, "unknown type", wasync_vt_heap(t));
  return true;
}

static bool check_func_type(Ctx *c, uint32_t idx, uint64_t at) {
  if (idx >= c->m->ntypes) return invalidn(c, at, "unknown type", idx);
  if (c->m->types[idx].form != WASYNC_COMP_FUNC)
    return invalid(c, at, "type mismatch");
  return true;
}

/* ---- limits ---- */

static bool check_memory(Ctx *c, const WasyncMemory *mem, uint64_t at) {
  const WasyncLimits *l = &mem->limits;
  uint64_t max_pages = l->is64 ? (1ull << 48) : 65536u;
  if (l->min > max_pages || (l->has_max && l->max > max_pages))
    return invalid(c, at,
                   l->is64 ? "memory size must be at most 2^48 pages"
                           : "memory size must be at most 65536 pages (4GiB)");
  if (l->has_max && l->min > l->max)
    return invalid(c, at, "size minimum must not be greater than maximum");
  if (l->shared && !l->has_max)
    return invalid(c, at, "shared memory must have maximum");
  /* V8's implementation limit (Chromium rejects such modules at compile
   * time): 65536 pages for memory32 (the spec's bound), 262144 (16 GiB) for
   * memory64, for the minimum and the maximum alike. */
  uint64_t v8_pages = l->is64 ? 262144u : 65536u;
  if (l->min > v8_pages)
    return wasync_fail(c->err, WASYNC_ERR_LIMIT, at,
                       "initial memory size (%llu pages) is larger than "
                       "implementation limit (%llu pages)",
                       (unsigned long long)l->min,
                       (unsigned long long)v8_pages);
  if (l->has_max && l->max > v8_pages)
    return wasync_fail(c->err, WASYNC_ERR_LIMIT, at,
                       "maximum memory size (%llu pages) is larger than "
                       "implementation limit (%llu pages)",
                       (unsigned long long)l->max,
                       (unsigned long long)v8_pages);
  return true;
}

static bool check_table_type(Ctx *c, const WasyncTable *t, uint64_t at) {
  const WasyncLimits *l = &t->limits;
  if (!check_valtype(c, t->type, at)) return false;
  if (l->shared) return invalid(c, at, "tables cannot be shared");
  if (!l->is64 && (l->min > UINT32_MAX || (l->has_max && l->max > UINT32_MAX)))
    return invalid(c, at, "table size must be at most 2^32-1");
  if (l->has_max && l->min > l->max)
    return invalid(c, at, "size minimum must not be greater than maximum");
  /* V8's implementation limit on a table's initial size. */
  if (l->min > 10000000u)
    return wasync_fail(c->err, WASYNC_ERR_LIMIT, at,
                       "initial table size (%llu elements) is larger than "
                       "implementation limit (10000000 elements)",
                       (unsigned long long)l->min);
  return true;
}

/* ---- constant expressions ---- */

static bool is_constant_op(uint16_t op) {
  switch (op) {
  case WASYNC_OP_I32_CONST:
  case WASYNC_OP_I64_CONST:
  case WASYNC_OP_F32_CONST:
  case WASYNC_OP_F64_CONST:
  case WASYNC_OP_V128_CONST:
  case WASYNC_OP_I32_ADD:
  case WASYNC_OP_I32_SUB:
  case WASYNC_OP_I32_MUL:
  case WASYNC_OP_I64_ADD:
  case WASYNC_OP_I64_SUB:
  case WASYNC_OP_I64_MUL:
  case WASYNC_OP_REF_NULL:
  case WASYNC_OP_REF_FUNC:
  case WASYNC_OP_GLOBAL_GET:
  case WASYNC_OP_STRUCT_NEW:
  case WASYNC_OP_STRUCT_NEW_DEFAULT:
  case WASYNC_OP_ARRAY_NEW:
  case WASYNC_OP_ARRAY_NEW_DEFAULT:
  case WASYNC_OP_ARRAY_NEW_FIXED:
  case WASYNC_OP_REF_I31:
  case WASYNC_OP_ANY_CONVERT_EXTERN:
  case WASYNC_OP_EXTERN_CONVERT_ANY:
  case WASYNC_OP_END: return true;
  default: return false;
  }
}

static void declare(Ctx *c, uint32_t func) {
  if (func < c->m->nfuncs)
    c->declared[func >> 3] |= (uint8_t)(1u << (func & 7));
}

/* Checks `e` produces one value of `type`; global.get may name globals
 * [0, nglobals) that are immutable. */
static bool const_expr(Ctx *c, const WasyncExpr *e, WasyncValType type,
                       uint32_t nglobals) {
  const WasyncModule *m = c->m;
  const uint8_t *base = e->bytes;
  size_t pos = 0, end = e->size;
  if (m->bytes && e->offset <= m->size && e->size <= m->size - e->offset &&
      e->bytes == m->bytes + e->offset) {
    base = m->bytes;
    pos = (size_t)e->offset;
    end = pos + e->size;
  }
  /* The commonest expressions in one step: `ref.func x` (element
   * segments), `i32.const n` and `i64.const n`, each with a short LEB128
   * (valid for its width) and the right type; everything else, including
   * every error, takes the general path below. */
  if (end - pos >= 3) {
    const uint8_t *p = base + pos;
    size_t n = end - pos, k;
    uint32_t x;
    if (p[0] == 0xD2 && (k = wasync_leb_short_u32(p + 1, n - 1, 4, &x)) != 0 &&
        k + 2 == n && p[k + 1] == 0x0B) {
      if (x < m->nfuncs &&
          wasync_valtype_sub(m, wasync_vt_ref_index(false, m->funcs[x].type),
                             type)) {
        declare(c, x);
        return true;
      }
    } else if ((p[0] == 0x41 || p[0] == 0x42) &&
               (k = wasync_leb_short_len(p + 1, n - 1, p[0] == 0x42 ? 9 : 4)) !=
                   0 &&
               k + 2 == n && p[k + 1] == 0x0B) {
      if (p[0] == 0x41 && type == WASYNC_VT_I32) return true;
      if (p[0] == 0x42 && type == WASYNC_VT_I64) return true;
    }
  }
  if (c->ir_live) {
    c->ir.r.base = base; /* reuse the scratch arrays */
    c->ir.r.pos = pos;
    c->ir.r.end = end;
  } else {
    wasync_instr_reader_init(&c->ir, m, base, pos, end, c->err);
    c->ir_live = true;
  }
  if (!wasync_funcv_begin_expr(c->v, type, e->offset)) return false;
  WasyncInstr in;
  while (!wasync_funcv_done(c->v)) {
    if (c->ir.r.pos >= c->ir.r.end)
      return wasync_fail(c->err, WASYNC_ERR_MALFORMED, c->ir.r.pos,
                         "unexpected end");
    if (!wasync_instr_decode(&c->ir, &in)) return false;
    if (!is_constant_op(in.op))
      return invalid(c, in.offset, "constant expression required");
    if (in.op == WASYNC_OP_GLOBAL_GET) {
      if (in.imm.index >= nglobals)
        return invalidn(c, in.offset, "unknown global", in.imm.index);
      if (m->globals[in.imm.index].mut)
        return invalid(c, in.offset, "constant expression required");
    } else if (in.op == WASYNC_OP_REF_FUNC) {
      declare(c, in.imm.index);
    }
    if (!wasync_funcv_step(c->v, &in)) return false;
  }
  if (c->ir.r.pos != c->ir.r.end)
    return invalid(c, c->ir.r.pos, "constant expression required");
  return true;
}

/* ---- exports ---- */

static uint64_t name_hash(const WasyncName *n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (uint32_t i = 0; i < n->len; i++)
    h = (h ^ n->bytes[i]) * 0x100000001B3ull;
  return h;
}

static bool check_exports(Ctx *c) {
  const WasyncModule *m = c->m;
  for (uint32_t i = 0; i < m->nexports; i++) {
    const WasyncExport *x = &m->exports[i];
    uint32_t limit = 0;
    const char *what = "unknown export kind";
    switch (x->kind) {
    case WASYNC_EXTERN_FUNC:
      limit = m->nfuncs, what = "unknown function";
      break;
    case WASYNC_EXTERN_TABLE: limit = m->ntables, what = "unknown table"; break;
    case WASYNC_EXTERN_MEMORY:
      limit = m->nmemories, what = "unknown memory";
      break;
    case WASYNC_EXTERN_GLOBAL:
      limit = m->nglobals, what = "unknown global";
      break;
    case WASYNC_EXTERN_TAG: limit = m->ntags, what = "unknown tag"; break;
    default: break;
    }
    if (x->index >= limit) return invalidn(c, x->offset, what, x->index);
    if (x->kind == WASYNC_EXTERN_FUNC) declare(c, x->index);
  }
  if (m->nexports < 2) return true;
  /* Unique names: open-addressed hash set of export indices. */
  size_t cap = 16;
  while (cap < (size_t)m->nexports * 2)
    cap <<= 1;
  uint32_t *slots = c->al->alloc(c->al->ctx, cap * sizeof *slots);
  if (!slots) return wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  memset(slots, 0xFF, cap * sizeof *slots);
  bool ok = true;
  for (uint32_t i = 0; i < m->nexports && ok; i++) {
    const WasyncName *n = &m->exports[i].name;
    size_t s = (size_t)name_hash(n) & (cap - 1);
    while (slots[s] != UINT32_MAX) {
      const WasyncName *o = &m->exports[slots[s]].name;
      if (o->len == n->len &&
          (n->len == 0 || !memcmp(o->bytes, n->bytes, n->len))) {
        ok = invalid(c, m->exports[i].offset, "duplicate export name");
        break;
      }
      s = (s + 1) & (cap - 1);
    }
    slots[s] = i;
  }
  c->al->free(c->al->ctx, slots);
  return ok;
}

/* ---- the module ---- */

/* Where an entity without its own offset is reported: its import, else the
 * start of the section defining it. */
static uint64_t entity_offset(const WasyncModule *m, uint32_t import,
                              uint8_t section) {
  if (import != UINT32_MAX && import < m->nimports)
    return m->imports[import].offset;
  for (uint32_t i = 0; i < m->nsections; i++)
    if (m->sections[i].id == section) return m->sections[i].payload_offset;
  return 0;
}

static bool check_entities(Ctx *c) {
  WasyncModule *m = c->m;
  for (uint32_t i = 0; i < m->nfuncs; i++) {
    const WasyncFunc *f = &m->funcs[i];
    uint64_t at = f->import != UINT32_MAX && f->import < m->nimports
                      ? m->imports[f->import].offset
                      : f->code.offset;
    if (!check_func_type(c, f->type, at)) return false;
  }
  for (uint32_t i = 0; i < m->ntables; i++) {
    const WasyncTable *t = &m->tables[i];
    uint64_t at = t->has_init ? t->init.offset
                              : entity_offset(m, t->import, WASYNC_SEC_TABLE);
    if (!check_table_type(c, t, at)) return false;
    if (t->has_init) {
      if (!const_expr(c, &t->init, t->type, m->nglobal_imports))
        return in_entity(c, "table", i);
    } else if (t->import == UINT32_MAX && wasync_vt_is_ref(t->type) &&
               !wasync_vt_nullable(t->type)) {
      return invalid(c, at, "type mismatch");
    }
  }
  for (uint32_t i = 0; i < m->nmemories; i++) {
    const WasyncMemory *mem = &m->memories[i];
    uint64_t at = entity_offset(m, mem->import, WASYNC_SEC_MEMORY);
    if (!check_memory(c, mem, at)) return false;
  }
  for (uint32_t i = 0; i < m->ntags; i++) {
    const WasyncTag *t = &m->tags[i];
    uint64_t at = entity_offset(m, t->import, WASYNC_SEC_TAG);
    if (t->attribute != 0)
      return wasync_fail(c->err, WASYNC_ERR_MALFORMED, at,
                         "malformed tag attribute");
    if (!check_func_type(c, t->type, at)) return false;
    if (m->types[t->type].nresults != 0)
      return invalid(c, at, "non-empty tag result type");
  }
  for (uint32_t i = 0; i < m->nglobals; i++) {
    const WasyncGlobal *g = &m->globals[i];
    bool imported = g->import != UINT32_MAX;
    uint64_t at = imported && g->import < m->nimports
                      ? m->imports[g->import].offset
                      : g->init.offset;
    if (!check_valtype(c, g->type, at)) return false;
    if (!imported && !const_expr(c, &g->init, g->type, i))
      return in_entity(c, "global", i);
  }
  return true;
}

static bool check_start(Ctx *c) {
  const WasyncModule *m = c->m;
  if (!m->has_start) return true;
  uint64_t at = entity_offset(m, UINT32_MAX, WASYNC_SEC_START);
  if (m->start >= m->nfuncs)
    return invalidn(c, at, "unknown function", m->start);
  const WasyncSubType *t = wasync_func_type(m, m->start);
  if (t->nparams || t->nresults) return invalid(c, at, "start function");
  return true;
}

static bool check_elems(Ctx *c) {
  const WasyncModule *m = c->m;
  for (uint32_t i = 0; i < m->nelems; i++) {
    const WasyncElem *e = &m->elems[i];
    if (!check_valtype(c, e->type, e->offset)) return false;
    if (e->mode == WASYNC_SEG_ACTIVE) {
      if (e->table >= m->ntables)
        return invalidn(c, e->offset, "unknown table", e->table);
      const WasyncTable *t = &m->tables[e->table];
      if (!wasync_valtype_sub(m, wasync_elem_type(e), t->type))
        return invalid(c, e->offset, "type mismatch");
      if (!const_expr(c, &e->offset_expr,
                      t->limits.is64 ? WASYNC_VT_I64 : WASYNC_VT_I32,
                      m->nglobals))
        return in_entity(c, "element segment", i);
    }
    if (e->funcs) {
      for (uint32_t k = 0; k < e->count; k++) {
        if (e->funcs[k] >= m->nfuncs)
          return invalidn(c, e->offset, "unknown function", e->funcs[k]);
        declare(c, e->funcs[k]);
        if (!wasync_valtype_sub(
                m, wasync_vt_ref_index(false, m->funcs[e->funcs[k]].type),
                e->type))
          return invalid(c, e->offset, "type mismatch");
      }
    } else if (e->exprs) {
      for (uint32_t k = 0; k < e->count; k++)
        if (!const_expr(c, &e->exprs[k], e->type, m->nglobals))
          return in_entity(c, "element segment", i);
    }
  }
  return true;
}

static bool check_datas(Ctx *c) {
  const WasyncModule *m = c->m;
  if (m->has_datacount && m->datacount != m->ndatas)
    return wasync_fail(c->err, WASYNC_ERR_MALFORMED, 0,
                       "data count and data section have inconsistent "
                       "lengths");
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const WasyncData *d = &m->datas[i];
    if (d->mode != WASYNC_SEG_ACTIVE) continue;
    if (d->memory >= m->nmemories)
      return invalidn(c, d->offset, "unknown memory", d->memory);
    const WasyncMemory *mem = &m->memories[d->memory];
    if (!const_expr(c, &d->offset_expr,
                    mem->limits.is64 ? WASYNC_VT_I64 : WASYNC_VT_I32,
                    m->nglobals))
      return in_entity(c, "data segment", i);
  }
  return true;
}

/* Function bodies in chunks (parallel.h).  A worker (thread) keeps its
 * validator from chunk to chunk: worker 0, the calling thread, uses the
 * caller's validator and error; the others make their own on first use, on
 * their thread.  A worker takes chunks in increasing order, so its first
 * failure is its lowest; after it, its later chunks do not matter and are
 * skipped.  With m->reencode_in_validate each chunk also re-encodes its
 * bodies into a buffer of its own (body_writer.h). */
typedef struct BodyChunk {
  bool ok;      /* every body valid */
  bool failed;  /* a body failed (else, when not ok: skipped) */
  bool encoded; /* every body re-encoded */
  unsigned worker;
  WasyncBuf buf;
} BodyChunk;

typedef struct BodyWorker {
  WasyncFuncValidator *v;
  WasyncError err; /* workers other than 0 */
  bool failed;
} BodyWorker;

typedef struct BodyChunks {
  Ctx *c;
  const uint32_t *bounds;
  BodyChunk *chunks;
  BodyWorker *workers;
} BodyChunks;

static bool check_chunk_bodies(Ctx *c, WasyncFuncValidator *v, uint32_t lo,
                               uint32_t hi, BodyChunk *ch) {
  WasyncModule *m = c->m;
  WasyncBuf *out = &ch->buf;
  WasyncBodyWriter *w = NULL;
  if (m->reencode_in_validate) {
    wasync_buf_init(out, m->arena.allocator);
    w = wasync_body_writer_new(m, out);
  }
  bool ok = true, encoded = w != NULL;
  for (uint32_t f = lo; ok && f < hi; f++) {
    if (!w) {
      ok = wasync_func_validate(v, f);
      continue;
    }
    WasyncCode *code = &m->funcs[f].code;
    size_t at = out->size;
    ok = wasync_func_validate_reencode(v, f, w, out);
    if (!ok || code->replaced) {
      encoded = encoded && code->replaced;
      continue;
    }
    encoded = encoded && wasync_body_writer_end(w);
    if (!encoded) continue;
    /* Usually the entry comes out as the input spelled it: then it is not
     * kept twice, the input's bytes stand for it. */
    size_t len = out->size - at;
    uint64_t in_end = code->offset + code->size;
    code->reencoded_size = (uint32_t)len;
    if (len <= in_end &&
        memcmp(m->bytes + in_end - len, out->data + at, len) == 0) {
      code->reencoded = m->bytes + in_end - len;
      out->size = at;
    } else {
      code->reencoded = NULL; /* in out, at: */
      code->reencoded_at = at;
    }
  }
  wasync_body_writer_free(w);
  ch->encoded = encoded && !out->oom;
  return ok;
}

static void check_chunk(void *ctx, unsigned k, unsigned worker) {
  BodyChunks *r = ctx;
  Ctx *c = r->c;
  BodyWorker *wk = &r->workers[worker];
  BodyChunk *ch = &r->chunks[k];
  ch->worker = worker;
  if (wk->failed) return; /* skipped */
  if (!wk->v) {
    wk->v = worker == 0 ? c->v : wasync_funcv_new(c->m, &wk->err);
    if (!wk->v) {
      wk->failed = ch->failed = true;
      return;
    }
    wasync_funcv_set_declared(wk->v, c->declared);
  }
  ch->ok = check_chunk_bodies(c, wk->v, r->bounds[k], r->bounds[k + 1], ch);
  if (!ch->ok) wk->failed = ch->failed = true;
}

static bool check_bodies(Ctx *c) {
  WasyncModule *m = c->m;
  uint32_t bounds[WASYNC_MAX_CHUNKS + 1];
  unsigned threads, n = wasync_split_bodies(m, bounds, &threads);
  BodyChunk one_chunk;
  BodyWorker one_worker;
  BodyChunks r;
  r.c = c;
  r.bounds = bounds;
  r.chunks = &one_chunk;
  r.workers = &one_worker;
  if (n > 1) {
    r.chunks = c->al->alloc(c->al->ctx, n * sizeof *r.chunks);
    r.workers = c->al->alloc(c->al->ctx, threads * sizeof *r.workers);
  }
  bool ran = r.chunks && r.workers, ok = ran;
  if (!ran) {
    wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  } else {
    memset(r.chunks, 0, n * sizeof *r.chunks);
    memset(r.workers, 0, threads * sizeof *r.workers);
    wasync_parallel_run(threads, n, check_chunk, &r);
    /* The first chunk that is not ok failed (a skipped chunk comes after
     * its worker's failure) and holds the lowest failing function. */
    for (unsigned k = 0; k < n && ok; k++) {
      if (r.chunks[k].ok) continue;
      ok = false;
      if (r.chunks[k].worker != 0) *c->err = r.workers[r.chunks[k].worker].err;
    }
    for (unsigned i = 1; i < threads; i++)
      wasync_funcv_free(r.workers[i].v);
  }
  for (unsigned k = 0; ran && k < n && m->reencode_in_validate; k++) {
    WasyncBuf *buf = &r.chunks[k].buf;
    bool keep = ok && r.chunks[k].encoded && !m->reencoded_bufs[k];
    for (uint32_t f = bounds[k]; f < bounds[k + 1]; f++) {
      WasyncCode *code = &m->funcs[f].code;
      if (code->replaced) continue;
      if (!keep)
        code->reencoded = NULL;
      else if (!code->reencoded)
        code->reencoded = buf->data + code->reencoded_at;
    }
    if (keep && buf->size)
      m->reencoded_bufs[k] = buf->data; /* the module owns it now */
    else if (buf->allocator)
      wasync_buf_release(buf);
  }
  if (r.chunks && r.chunks != &one_chunk) c->al->free(c->al->ctx, r.chunks);
  if (r.workers && r.workers != &one_worker) c->al->free(c->al->ctx, r.workers);
  return ok;
}

bool wasync_module_validate(WasyncModule *m, WasyncError *err) {
  if (m->validated) return true;
  Ctx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.err = err;
  c.al = m->arena.allocator ? m->arena.allocator : wasync_default_allocator();
  if (!wasync_types_prepare(m, err)) return false;
  c.v = wasync_funcv_new(m, err);
  if (!c.v) return false;
  size_t nbytes = ((size_t)m->nfuncs + 7) / 8;
  c.declared = c.al->alloc(c.al->ctx, nbytes ? nbytes : 1);
  bool ok = c.declared != NULL;
  if (!ok)
    wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  else
    memset(c.declared, 0, nbytes ? nbytes : 1);
  ok = ok && check_entities(&c) && check_exports(&c) && check_start(&c) &&
       check_elems(&c) && check_datas(&c) && check_bodies(&c);
  if (c.ir_live) wasync_instr_reader_release(&c.ir);
  wasync_funcv_free(c.v);
  if (c.declared) c.al->free(c.al->ctx, c.declared);
  if (ok) m->validated = true;
  if (ok) m->bodies_unchecked = false;
  if (!ok && m->bodies_unchecked && err->code != WASYNC_ERR_NOMEM) {
    /* Decoded without scanning the bodies (defer_body_checks): a decode
     * error anywhere in them comes before any validation error. */
    WasyncError verr = *err;
    WasyncDecodeOptions full = {.allocator = m->arena.allocator};
    WasyncModule *again = wasync_module_decode(m->bytes, m->size, &full, err);
    if (again) {
      wasync_module_free(again);
      *err = verr;
    } else if (err->code == WASYNC_ERR_NOMEM) {
      *err = verr;
    }
  }
  return ok;
}
