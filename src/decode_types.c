/*
 * decode_types.c -- the type section (rec groups, subtypes, composite
 * types), limits, table and global types, and the import section.
 *
 * The type section's count is the number of *rec groups*; a group holds
 * any number of subtypes, so the types array grows as groups are read.
 * Every subtype remembers how it was written (bare composite type, `sub`,
 * `sub final`; inside an explicit `rec` or not) so the encoder can write it
 * back identically.  Type indices inside types are only bounded here (by
 * the final type count, after the section); the validator checks the
 * finer rules (forward references, subtyping).
 */
#include "decode.h"

#include <string.h>

static bool decode_fieldtype(WasyncDecoder *d, WasyncReader *r,
                             WasyncFieldType *out) {
  size_t at = r->pos;
  if (r->pos < r->end &&
      (r->base[r->pos] == WASYNC_VT_I8 || r->base[r->pos] == WASYNC_VT_I16)) {
    out->type = r->base[r->pos++];
  } else if (!wasync_read_valtype(r, NULL, &out->type)) {
    return false;
  }
  (void)at;
  size_t mat = r->pos;
  uint8_t mut;
  if (!wasync_read_u8(r, "mutability", &mut)) return false;
  if (mut > 1)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, mat,
                       "malformed mutability");
  out->mut = mut;
  return true;
}

static bool decode_valtypes(WasyncDecoder *d, WasyncReader *r, uint32_t max,
                            const char *what, uint32_t *n,
                            WasyncValType **out) {
  size_t at = r->pos;
  if (!wasync_read_count(r, what, 1, n)) return false;
  if (!wasync_dec_limit(d, *n, max, what, at)) return false;
  *out = wasync_dec_array(d, *n, sizeof **out, at);
  if (!*out) return false;
  for (uint32_t i = 0; i < *n; i++)
    if (!wasync_read_valtype(r, NULL, &(*out)[i])) return false;
  return true;
}

static bool decode_comptype(WasyncDecoder *d, WasyncReader *r,
                            WasyncSubType *t) {
  size_t at = r->pos;
  uint8_t form;
  if (!wasync_read_u8(r, "type form", &form)) return false;
  t->form = form;
  switch (form) {
  case WASYNC_COMP_FUNC:
    return decode_valtypes(d, r, WASYNC_MAX_PARAMS, "parameters", &t->nparams,
                           &t->params) &&
           decode_valtypes(d, r, WASYNC_MAX_RESULTS, "results", &t->nresults,
                           &t->results);
  case WASYNC_COMP_STRUCT: {
    size_t cat = r->pos;
    if (!wasync_read_count(r, "fields", 2, &t->nfields)) return false;
    if (!wasync_dec_limit(d, t->nfields, WASYNC_MAX_FIELDS, "struct fields",
                          cat))
      return false;
    t->fields = wasync_dec_array(d, t->nfields, sizeof *t->fields, cat);
    if (!t->fields) return false;
    for (uint32_t i = 0; i < t->nfields; i++)
      if (!decode_fieldtype(d, r, &t->fields[i])) return false;
    return true;
  }
  case WASYNC_COMP_ARRAY:
    t->nfields = 1;
    t->fields = wasync_dec_array(d, 1, sizeof *t->fields, at);
    return t->fields && decode_fieldtype(d, r, &t->fields[0]);
  default:
    /* The form is an s7 LEB128: a continuation bit makes it too long. */
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at, "%s",
                       form & 0x80 ? "integer representation too long"
                                   : "malformed definition type");
  }
}

static bool decode_subtype(WasyncDecoder *d, WasyncReader *r,
                           WasyncSubType *t) {
  t->offset = r->pos;
  if (r->pos >= r->end)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, r->pos, "unexpected end");
  uint8_t b = r->base[r->pos];
  t->final = true;
  t->encoding = WASYNC_SUB_BARE;
  if (b == WASYNC_SUB_OPEN || b == WASYNC_SUB_FINAL) {
    r->pos++;
    t->encoding = b;
    t->final = b == WASYNC_SUB_FINAL;
    size_t at = r->pos;
    uint32_t nsupers;
    if (!wasync_read_count(r, "supertypes", 1, &nsupers)) return false;
    if (nsupers > 1)
      return wasync_fail(d->err, WASYNC_ERR_INVALID, at, "multiple supertypes");
    if (nsupers == 1) {
      t->has_super = true;
      size_t sat = r->pos;
      if (!wasync_read_u32(r, "supertype", &t->super)) return false;
      if (t->super >= WASYNC_MAX_TYPES)
        return wasync_fail(d->err, WASYNC_ERR_INVALID, sat, "unknown type %u",
                           t->super);
    }
  }
  return decode_comptype(d, r, t);
}

/* Appends room for `extra` types; *cap tracks the arena array's size. */
static bool reserve_types(WasyncDecoder *d, uint32_t *cap, uint32_t extra,
                          uint64_t at) {
  WasyncModule *m = d->m;
  uint64_t need = (uint64_t)m->ntypes + extra;
  if (!wasync_dec_limit(d, need, WASYNC_MAX_TYPES, "types", at)) return false;
  if (need <= *cap) return true;
  uint64_t c = *cap ? (uint64_t)*cap * 2 : 16;
  if (c < need) c = need;
  if (c > WASYNC_MAX_TYPES) c = WASYNC_MAX_TYPES;
  if (!wasync_dec_grow(d, (void **)&m->types, m->ntypes, (size_t)c,
                       sizeof *m->types, at))
    return false;
  *cap = (uint32_t)c;
  return true;
}

static bool check_ref(WasyncDecoder *d, WasyncValType t, uint64_t at) {
  if (wasync_vt_is_ref(t) && wasync_vt_indexed(t) &&
      wasync_vt_heap(t) >= d->m->ntypes)
    return wasync_fail(d->err, WASYNC_ERR_INVALID, at, "unknown type %u",
                       wasync_vt_heap(t));
  return true;
}

/* After the section: every type index used inside a type must exist. */
static bool check_type_refs(WasyncDecoder *d) {
  WasyncModule *m = d->m;
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const WasyncSubType *t = &m->types[i];
    if (t->has_super && t->super >= m->ntypes)
      return wasync_fail(d->err, WASYNC_ERR_INVALID, t->offset,
                         "unknown type %u", t->super);
    for (uint32_t k = 0; k < t->nparams; k++)
      if (!check_ref(d, t->params[k], t->offset)) return false;
    for (uint32_t k = 0; k < t->nresults; k++)
      if (!check_ref(d, t->results[k], t->offset)) return false;
    for (uint32_t k = 0; k < t->nfields; k++)
      if (!check_ref(d, t->fields[k].type, t->offset)) return false;
  }
  return true;
}

bool wasync_decode_type_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t ngroups, cap = 0;
  if (!wasync_read_count(r, "type count", 1, &ngroups)) return false;
  if (!wasync_dec_limit(d, ngroups, WASYNC_MAX_TYPES, "types", at))
    return false;
  if (!reserve_types(d, &cap, ngroups, at)) return false;
  for (uint32_t g = 0; g < ngroups; g++) {
    size_t gat = r->pos;
    if (r->pos < r->end && r->base[r->pos] == 0x4E) {
      r->pos++;
      uint32_t n;
      size_t nat = r->pos;
      if (!wasync_read_count(r, "rec group size", 1, &n)) return false;
      if (!reserve_types(d, &cap, n, nat)) return false;
      uint32_t start = m->ntypes;
      for (uint32_t k = 0; k < n; k++) {
        WasyncSubType *t = &m->types[m->ntypes];
        memset(t, 0, sizeof *t);
        if (!decode_subtype(d, r, t)) return false;
        t->rec_start = start;
        t->rec_size = n;
        t->rec_explicit = true;
        m->ntypes++;
      }
      (void)gat;
    } else {
      if (!reserve_types(d, &cap, 1, gat)) return false;
      WasyncSubType *t = &m->types[m->ntypes];
      memset(t, 0, sizeof *t);
      if (!decode_subtype(d, r, t)) return false;
      t->rec_start = m->ntypes;
      t->rec_size = 1;
      t->rec_explicit = false;
      m->ntypes++;
    }
  }
  return check_type_refs(d);
}

bool wasync_decode_limits(WasyncDecoder *d, WasyncReader *r,
                          WasyncLimits *out) {
  size_t at = r->pos;
  uint8_t flags;
  if (!wasync_read_u8(r, "limits flags", &flags)) return false;
  if (flags > 7)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed limits flags");
  out->flags = flags;
  out->has_max = flags & 1;
  out->shared = (flags & 2) != 0;
  out->is64 = (flags & 4) != 0;
  /* Bounds are u64 for a 64-bit address type, u32 otherwise (as in Wasm
   * 2.0 and V8; the 3.0 reference interpreter reads u64 and leaves the range
   * to validation, which only changes the message for oversized LEBs). */
  if (out->is64) {
    if (!wasync_read_u64(r, "minimum", &out->min)) return false;
    return !out->has_max || wasync_read_u64(r, "maximum", &out->max);
  }
  uint32_t v;
  if (!wasync_read_u32_of_u64(r, "minimum", &v)) return false;
  out->min = v;
  if (out->has_max) {
    if (!wasync_read_u32_of_u64(r, "maximum", &v)) return false;
    out->max = v;
  }
  return true;
}

bool wasync_decode_tabletype(WasyncDecoder *d, WasyncReader *r,
                             WasyncTable *out) {
  return wasync_read_reftype(r, d->m, &out->type) &&
         wasync_decode_limits(d, r, &out->limits);
}

bool wasync_decode_globaltype(WasyncDecoder *d, WasyncReader *r,
                              WasyncGlobal *out) {
  if (!wasync_read_valtype(r, d->m, &out->type)) return false;
  size_t at = r->pos;
  uint8_t mut;
  if (!wasync_read_u8(r, "mutability", &mut)) return false;
  if (mut > 1)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed mutability");
  out->mut = mut;
  return true;
}

static bool decode_name(WasyncReader *r, WasyncName *out) {
  return wasync_read_name(r, "name", &out->bytes, &out->len);
}

/* One decoded import description, kept until all imports are read. */
typedef struct ImportDesc {
  uint32_t type; /* func / tag type index */
  uint8_t attribute;
  WasyncTable table;
  WasyncMemory memory;
  WasyncGlobal global;
} ImportDesc;

static bool decode_import(WasyncDecoder *d, WasyncReader *r, WasyncImport *imp,
                          ImportDesc *desc) {
  imp->offset = r->pos;
  if (!decode_name(r, &imp->module) || !decode_name(r, &imp->field))
    return false;
  size_t at = r->pos;
  uint8_t kind;
  if (!wasync_read_u8(r, "import kind", &kind)) return false;
  imp->kind = kind;
  switch (kind) {
  case WASYNC_EXTERN_FUNC: return wasync_read_u32(r, "type index", &desc->type);
  case WASYNC_EXTERN_TABLE: return wasync_decode_tabletype(d, r, &desc->table);
  case WASYNC_EXTERN_MEMORY:
    return wasync_decode_limits(d, r, &desc->memory.limits);
  case WASYNC_EXTERN_GLOBAL:
    return wasync_decode_globaltype(d, r, &desc->global);
  case WASYNC_EXTERN_TAG:
    return wasync_read_u8(r, "tag attribute", &desc->attribute) &&
           wasync_read_u32(r, "type index", &desc->type);
  default:
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "malformed import kind");
  }
}

bool wasync_decode_import_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t n;
  if (!wasync_read_count(r, "import count", 1, &n)) return false;
  if (!wasync_dec_limit(d, n, WASYNC_MAX_IMPORTS, "imports", at)) return false;
  m->imports = wasync_dec_array(d, n, sizeof *m->imports, at);
  ImportDesc *descs = wasync_dec_array(d, n, sizeof *descs, at);
  if (!m->imports || !descs) return false;
  m->nimports = n;
  uint32_t counts[5] = {0, 0, 0, 0, 0};
  for (uint32_t i = 0; i < n; i++) {
    if (!decode_import(d, r, &m->imports[i], &descs[i])) return false;
    m->imports[i].index = counts[m->imports[i].kind]++;
  }
  m->funcs = wasync_dec_array(d, counts[0], sizeof *m->funcs, at);
  m->tables = wasync_dec_array(d, counts[1], sizeof *m->tables, at);
  m->memories = wasync_dec_array(d, counts[2], sizeof *m->memories, at);
  m->globals = wasync_dec_array(d, counts[3], sizeof *m->globals, at);
  m->tags = wasync_dec_array(d, counts[4], sizeof *m->tags, at);
  if (!m->funcs || !m->tables || !m->memories || !m->globals || !m->tags)
    return false;
  m->nfuncs = m->nfunc_imports = counts[0];
  m->ntables = m->ntable_imports = counts[1];
  m->nmemories = m->nmemory_imports = counts[2];
  m->nglobals = m->nglobal_imports = counts[3];
  m->ntags = m->ntag_imports = counts[4];
  for (uint32_t i = 0; i < n; i++) {
    const WasyncImport *imp = &m->imports[i];
    const ImportDesc *desc = &descs[i];
    switch (imp->kind) {
    case WASYNC_EXTERN_FUNC:
      m->funcs[imp->index].type = desc->type;
      m->funcs[imp->index].import = i;
      break;
    case WASYNC_EXTERN_TABLE:
      m->tables[imp->index] = desc->table;
      m->tables[imp->index].import = i;
      break;
    case WASYNC_EXTERN_MEMORY:
      m->memories[imp->index] = desc->memory;
      m->memories[imp->index].import = i;
      break;
    case WASYNC_EXTERN_GLOBAL:
      m->globals[imp->index] = desc->global;
      m->globals[imp->index].import = i;
      break;
    default:
      m->tags[imp->index].attribute = desc->attribute;
      m->tags[imp->index].type = desc->type;
      m->tags[imp->index].import = i;
      break;
    }
  }
  return true;
}
