/*
 * decode_sections.c -- the module sections between imports and code:
 * function, table, memory, global, export, start, element, data, data
 * count and tag.  Each defined entity is appended after the imported ones
 * of its kind (index spaces put imports first).  Constant expressions are
 * scanned to their `end` (decode_code.c) and kept as raw bytes.
 */
#include "decode.h"

/* Reads a section's entry count and makes room for `n` defined entities
 * after the `nimported` ones in *arr. */
static bool begin_defs(WasyncDecoder *d, WasyncReader *r, size_t min_size,
                       uint32_t max, const char *count_what, const char *what,
                       void **arr, uint32_t nimported, size_t item,
                       uint32_t *n) {
  size_t at = r->pos;
  if (!wasync_read_count(r, count_what, min_size, n)) return false;
  if (!wasync_dec_limit(d, (uint64_t)*n + nimported, max, what, at))
    return false;
  return wasync_dec_grow(d, arr, nimported, (size_t)nimported + *n, item, at);
}

bool wasync_decode_function_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  uint32_t n;
  if (!begin_defs(d, r, 1, WASYNC_MAX_FUNCS, "function count", "functions",
                  (void **)&m->funcs, m->nfunc_imports, sizeof *m->funcs, &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    WasyncFunc *f = &m->funcs[m->nfunc_imports + i];
    if (!wasync_read_u32(r, "type index", &f->type)) return false;
    f->import = UINT32_MAX;
  }
  m->nfuncs = m->nfunc_imports + n;
  d->has_func_section = true;
  d->nfunc_decls = n;
  return true;
}

static bool decode_table(WasyncDecoder *d, WasyncReader *r, WasyncTable *t) {
  t->import = UINT32_MAX;
  if (r->pos < r->end && r->base[r->pos] == 0x40) {
    r->pos++;
    size_t at = r->pos;
    uint8_t z;
    if (!wasync_read_u8(r, "reserved byte", &z)) return false;
    if (z != 0)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                         "malformed table type");
    t->has_init = true;
    return wasync_decode_tabletype(d, r, t) &&
           wasync_decode_expr(d, r, &t->init);
  }
  return wasync_decode_tabletype(d, r, t);
}

bool wasync_decode_table_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  uint32_t n;
  if (!begin_defs(d, r, 1, WASYNC_MAX_TABLES, "table count", "tables",
                  (void **)&m->tables, m->ntable_imports, sizeof *m->tables,
                  &n))
    return false;
  for (uint32_t i = 0; i < n; i++)
    if (!decode_table(d, r, &m->tables[m->ntable_imports + i])) return false;
  m->ntables = m->ntable_imports + n;
  return true;
}

bool wasync_decode_memory_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  uint32_t n;
  if (!begin_defs(d, r, 1, WASYNC_MAX_MEMORIES, "memory count", "memories",
                  (void **)&m->memories, m->nmemory_imports,
                  sizeof *m->memories, &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    WasyncMemory *mem = &m->memories[m->nmemory_imports + i];
    mem->import = UINT32_MAX;
    if (!wasync_decode_limits(d, r, &mem->limits)) return false;
  }
  m->nmemories = m->nmemory_imports + n;
  return true;
}

bool wasync_decode_global_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  uint32_t n;
  if (!begin_defs(d, r, 1, WASYNC_MAX_GLOBALS, "global count", "globals",
                  (void **)&m->globals, m->nglobal_imports, sizeof *m->globals,
                  &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    WasyncGlobal *g = &m->globals[m->nglobal_imports + i];
    g->import = UINT32_MAX;
    if (!wasync_decode_globaltype(d, r, g) ||
        !wasync_decode_expr(d, r, &g->init))
      return false;
  }
  m->nglobals = m->nglobal_imports + n;
  return true;
}

bool wasync_decode_export_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t n;
  if (!wasync_read_count(r, "export count", 1, &n)) return false;
  if (!wasync_dec_limit(d, n, WASYNC_MAX_EXPORTS, "exports", at)) return false;
  m->exports = wasync_dec_array(d, n, sizeof *m->exports, at);
  if (!m->exports) return false;
  for (uint32_t i = 0; i < n; i++) {
    WasyncExport *e = &m->exports[i];
    e->offset = r->pos;
    if (!wasync_read_name(r, "export name", &e->name.bytes, &e->name.len))
      return false;
    size_t kat = r->pos;
    uint8_t kind;
    if (!wasync_read_u8(r, "export kind", &kind)) return false;
    if (kind > WASYNC_EXTERN_TAG)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, kat,
                         "malformed export kind");
    e->kind = kind;
    if (!wasync_read_u32(r, "export index", &e->index)) return false;
  }
  m->nexports = n;
  return true;
}

bool wasync_decode_start_section(WasyncDecoder *d, WasyncReader *r) {
  d->m->has_start = true;
  return wasync_read_u32(r, "start function", &d->m->start);
}

static bool decode_elemkind(WasyncDecoder *d, WasyncReader *r) {
  size_t at = r->pos;
  uint8_t k;
  if (!wasync_read_u8(r, "element kind", &k)) return false;
  if (k != 0)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed element kind");
  return true;
}

static bool decode_elem(WasyncDecoder *d, WasyncReader *r, WasyncElem *e) {
  e->offset = r->pos;
  size_t at = r->pos;
  uint32_t flags;
  if (!wasync_read_u32(r, "segment flags", &flags)) return false;
  if (flags > 7)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed elements segment kind");
  e->flags = (uint8_t)flags;
  e->mode = (flags & 1)
                ? ((flags & 2) ? WASYNC_SEG_DECLARATIVE : WASYNC_SEG_PASSIVE)
                : WASYNC_SEG_ACTIVE;
  e->table = 0;
  if (e->mode == WASYNC_SEG_ACTIVE) {
    if ((flags & 2) && !wasync_read_u32(r, "table index", &e->table))
      return false;
    if (!wasync_decode_expr(d, r, &e->offset_expr)) return false;
  }
  bool exprs = (flags & 4) != 0;
  e->type = wasync_vt_ref_abstract(true, WASYNC_HT_FUNC);
  if (flags & 3) { /* explicit element kind / reference type */
    if (exprs) {
      if (!wasync_read_reftype(r, d->m, &e->type)) return false;
    } else if (!decode_elemkind(d, r)) {
      return false;
    }
  }
  size_t cat = r->pos;
  if (!wasync_read_count(r, "element count", 1, &e->count)) return false;
  if (!wasync_dec_limit(d, e->count, WASYNC_MAX_ELEM_ENTRIES,
                        "element segment entries", cat))
    return false;
  if (exprs) {
    e->exprs = wasync_dec_array(d, e->count, sizeof *e->exprs, cat);
    if (!e->exprs) return false;
    for (uint32_t i = 0; i < e->count; i++)
      if (!wasync_decode_expr(d, r, &e->exprs[i])) return false;
  } else {
    e->funcs = wasync_dec_array(d, e->count, sizeof *e->funcs, cat);
    if (!e->funcs) return false;
    for (uint32_t i = 0; i < e->count; i++)
      if (!wasync_read_u32(r, "function index", &e->funcs[i])) return false;
  }
  return true;
}

bool wasync_decode_elem_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t n;
  if (!wasync_read_count(r, "segment count", 1, &n)) return false;
  if (!wasync_dec_limit(d, n, WASYNC_MAX_ELEMS, "element segments", at))
    return false;
  m->elems = wasync_dec_array(d, n, sizeof *m->elems, at);
  if (!m->elems) return false;
  for (uint32_t i = 0; i < n; i++)
    if (!decode_elem(d, r, &m->elems[i])) return false;
  m->nelems = n;
  return true;
}

static bool decode_data(WasyncDecoder *d, WasyncReader *r, WasyncData *s) {
  s->offset = r->pos;
  size_t at = r->pos;
  uint32_t flags;
  if (!wasync_read_u32(r, "segment flags", &flags)) return false;
  if (flags > 2)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed data segment kind");
  s->flags = (uint8_t)flags;
  s->mode = flags == 1 ? WASYNC_SEG_PASSIVE : WASYNC_SEG_ACTIVE;
  s->memory = 0;
  if (flags == 2 && !wasync_read_u32(r, "memory index", &s->memory))
    return false;
  if (flags != 1 && !wasync_decode_expr(d, r, &s->offset_expr)) return false;
  size_t lat = r->pos;
  if (!wasync_read_u32(r, "data size", &s->size)) return false;
  if (s->size > r->end - r->pos)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, lat, "unexpected end");
  s->bytes = r->base + r->pos;
  r->pos += s->size;
  return true;
}

bool wasync_decode_data_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t n;
  if (!wasync_read_count(r, "segment count", 1, &n)) return false;
  if (!wasync_dec_limit(d, n, WASYNC_MAX_DATAS, "data segments", at))
    return false;
  if (m->has_datacount && m->datacount != n)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "data count and data section have inconsistent "
                       "lengths");
  m->datas = wasync_dec_array(d, n, sizeof *m->datas, at);
  if (!m->datas) return false;
  for (uint32_t i = 0; i < n; i++)
    if (!decode_data(d, r, &m->datas[i])) return false;
  m->ndatas = n;
  d->has_data_section = true;
  return true;
}

bool wasync_decode_datacount_section(WasyncDecoder *d, WasyncReader *r) {
  size_t at = r->pos;
  if (!wasync_read_u32(r, "data count", &d->m->datacount)) return false;
  if (!wasync_dec_limit(d, d->m->datacount, WASYNC_MAX_DATAS, "data segments",
                        at))
    return false;
  d->m->has_datacount = true;
  return true;
}

bool wasync_decode_tag_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  uint32_t n;
  if (!begin_defs(d, r, 1, WASYNC_MAX_TAGS, "tag count", "tags",
                  (void **)&m->tags, m->ntag_imports, sizeof *m->tags, &n))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    WasyncTag *t = &m->tags[m->ntag_imports + i];
    t->import = UINT32_MAX;
    if (!wasync_read_u8(r, "tag attribute", &t->attribute) ||
        !wasync_read_u32(r, "type index", &t->type))
      return false;
  }
  m->ntags = m->ntag_imports + n;
  return true;
}
