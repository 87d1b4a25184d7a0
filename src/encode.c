/*
 * encode.c -- wasync_module_encode(): the module model back to bytes.
 *
 * Sections are written in the order the input had them (m->sections[]),
 * custom sections where they stood.  A standard section the input lacked
 * but that now has content (a pass added functions, globals, exports...) is
 * inserted at its canonical position, before the first recorded section
 * that must follow it.  Every non-custom section is rebuilt from the model
 * (they are small); what differs between the two modes is function bodies
 * and constant expressions:
 *
 *   reencode = false  bodies and expressions are copied as bytes (a body a
 *                     pass replaced is taken from code.body);
 *   reencode = true   each body is rebuilt from its local groups and its
 *                     instructions, decoded and re-encoded one by one, and
 *                     each constant expression likewise.
 *
 * All LEB128s are minimal and the model keeps the input's encoding choices,
 * so a canonically encoded module comes back byte for byte.  A section is
 * written after a 5-byte size placeholder and then shifted down to a
 * minimal size field, so the output is built in one buffer without copying
 * sections through temporaries.
 */
#include "instr.h"
#include "module.h"

#include <string.h>

typedef struct Encoder {
  const WasyncModule *m;
  WasyncBuf *b;
  WasyncError *err;
  bool reencode;
  WasyncInstrReader ir;
  bool ok;
} Encoder;

static bool enc_fail_from(Encoder *e) {
  e->ok = false;
  return false;
}

static size_t leb_u32_size(uint32_t v) {
  size_t n = 1;
  while (v >= 0x80)
    v >>= 7, n++;
  return n;
}

/* Opens a size-prefixed region; returns the placeholder position. */
static size_t open_sized(WasyncBuf *b) {
  return wasync_buf_reserve_u32_5(b);
}

/* Closes a region: replaces the 5-byte placeholder at `at` by the minimal
 * LEB128 of the region's size, shifting the contents down. */
static void close_sized_w(Encoder *e, size_t at, size_t width) {
  WasyncBuf *b = e->b;
  if (b->oom) return;
  size_t start = at + 5;
  size_t len = b->size - start;
  if (len > UINT32_MAX) {
    wasync_fail(e->err, WASYNC_ERR_LIMIT, 0, "section too large");
    e->ok = false;
    return;
  }
  size_t n = leb_u32_size((uint32_t)len);
  if (width > n && width <= 5) n = width; /* keep the input's padding */
  uint32_t v = (uint32_t)len;
  for (size_t i = 0; i < n; i++) {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (i + 1 < n) byte |= 0x80;
    b->data[at + i] = byte;
  }
  memmove(b->data + at + n, b->data + start, len);
  b->size = at + n + len;
}

/* The width of the LEB128 that ends just before input offset `pos` (a
 * size field: every byte but its last has the high bit set, and the byte
 * before it does not), or 0 when it cannot be told. */
static size_t leb_width_before(const WasyncModule *m, uint64_t pos) {
  if (pos == 0 || pos > m->size || (m->bytes[pos - 1] & 0x80)) return 0;
  size_t w = 1;
  while (w < 5 && pos - w > 0 && (m->bytes[pos - w - 1] & 0x80))
    w++;
  return w;
}

/* Writes a u32 LEB128 at least `width` bytes wide. */
static void write_u32_width(WasyncBuf *b, uint32_t v, size_t width) {
  size_t n = leb_u32_size(v);
  if (width <= n || width > 5) {
    wasync_buf_u32(b, v);
    return;
  }
  for (size_t i = 0; i < width; i++) {
    uint8_t byte = v & 0x7F;
    v >>= 7;
    if (i + 1 < width) byte |= 0x80;
    wasync_buf_byte(b, byte);
  }
}

/* Re-encodes the instructions in bytes[0, size) one by one. */
static bool reencode_instrs(Encoder *e, const uint8_t *bytes, size_t size,
                            uint64_t offset) {
  WasyncInstrReader *ir = &e->ir;
  ir->r.base = bytes;
  ir->r.pos = 0;
  ir->r.end = size;
  ir->r.err = e->err;
  WasyncInstr in;
  while (ir->r.pos < size) {
    if (!wasync_instr_decode(ir, &in)) {
      e->err->offset += offset;
      return enc_fail_from(e);
    }
    wasync_instr_encode(e->b, &in);
  }
  return true;
}

static void write_expr(Encoder *e, const WasyncExpr *x) {
  if (!e->ok) return;
  if (e->reencode)
    reencode_instrs(e, x->bytes, x->size, x->offset);
  else
    wasync_buf_bytes(e->b, x->bytes, x->size);
}

static void write_limits(WasyncBuf *b, const WasyncLimits *l) {
  uint8_t flags =
      (uint8_t)((l->has_max ? 1 : 0) | (l->shared ? 2 : 0) | (l->is64 ? 4 : 0));
  wasync_buf_byte(b, flags);
  wasync_buf_u64(b, l->min);
  if (l->has_max) wasync_buf_u64(b, l->max);
}

static void write_field(WasyncBuf *b, const WasyncFieldType *f) {
  if (f->type == WASYNC_VT_I8 || f->type == WASYNC_VT_I16)
    wasync_buf_byte(b, (uint8_t)f->type);
  else
    wasync_write_valtype(b, f->type);
  wasync_buf_byte(b, f->mut ? 1 : 0);
}

static void write_subtype(WasyncBuf *b, const WasyncSubType *t) {
  bool bare = t->encoding == WASYNC_SUB_BARE && t->final && !t->has_super;
  if (!bare) {
    wasync_buf_byte(b, t->final ? WASYNC_SUB_FINAL : WASYNC_SUB_OPEN);
    wasync_buf_u32(b, t->has_super ? 1 : 0);
    if (t->has_super) wasync_buf_u32(b, t->super);
  }
  wasync_buf_byte(b, t->form);
  switch (t->form) {
  case WASYNC_COMP_FUNC:
    wasync_buf_u32(b, t->nparams);
    for (uint32_t i = 0; i < t->nparams; i++)
      wasync_write_valtype(b, t->params[i]);
    wasync_buf_u32(b, t->nresults);
    for (uint32_t i = 0; i < t->nresults; i++)
      wasync_write_valtype(b, t->results[i]);
    break;
  case WASYNC_COMP_STRUCT:
    wasync_buf_u32(b, t->nfields);
    for (uint32_t i = 0; i < t->nfields; i++)
      write_field(b, &t->fields[i]);
    break;
  default: write_field(b, &t->fields[0]); break;
  }
}

static void write_types(Encoder *e) {
  const WasyncModule *m = e->m;
  uint32_t ngroups = 0;
  for (uint32_t i = 0; i < m->ntypes;) {
    uint32_t n = m->types[i].rec_explicit && m->types[i].rec_size
                     ? m->types[i].rec_size
                     : 1;
    ngroups++;
    i += n;
  }
  wasync_buf_u32(e->b, ngroups);
  for (uint32_t i = 0; i < m->ntypes;) {
    const WasyncSubType *t = &m->types[i];
    if (t->rec_explicit && t->rec_size) {
      uint32_t n = t->rec_size;
      if (n > m->ntypes - i) n = m->ntypes - i;
      wasync_buf_byte(e->b, 0x4E);
      wasync_buf_u32(e->b, n);
      for (uint32_t k = 0; k < n; k++)
        write_subtype(e->b, &m->types[i + k]);
      i += n;
    } else {
      write_subtype(e->b, t);
      i++;
    }
  }
}

static void write_globaltype(WasyncBuf *b, const WasyncGlobal *g) {
  wasync_write_valtype(b, g->type);
  wasync_buf_byte(b, g->mut ? 1 : 0);
}

static void write_imports(Encoder *e) {
  const WasyncModule *m = e->m;
  WasyncBuf *b = e->b;
  wasync_buf_u32(b, m->nimports);
  for (uint32_t i = 0; i < m->nimports; i++) {
    const WasyncImport *imp = &m->imports[i];
    wasync_buf_name(b, imp->module.bytes, imp->module.len);
    wasync_buf_name(b, imp->field.bytes, imp->field.len);
    wasync_buf_byte(b, imp->kind);
    switch (imp->kind) {
    case WASYNC_EXTERN_FUNC:
      wasync_buf_u32(b, m->funcs[imp->index].type);
      break;
    case WASYNC_EXTERN_TABLE:
      wasync_write_valtype(b, m->tables[imp->index].type);
      write_limits(b, &m->tables[imp->index].limits);
      break;
    case WASYNC_EXTERN_MEMORY:
      write_limits(b, &m->memories[imp->index].limits);
      break;
    case WASYNC_EXTERN_GLOBAL:
      write_globaltype(b, &m->globals[imp->index]);
      break;
    default:
      wasync_buf_byte(b, m->tags[imp->index].attribute);
      wasync_buf_u32(b, m->tags[imp->index].type);
      break;
    }
  }
}

static void write_elem(Encoder *e, const WasyncElem *s) {
  WasyncBuf *b = e->b;
  uint8_t flags = s->flags;
  wasync_buf_u32(b, flags);
  if (s->mode == WASYNC_SEG_ACTIVE) {
    if (flags & 2) wasync_buf_u32(b, s->table);
    write_expr(e, &s->offset_expr);
  }
  bool exprs = (flags & 4) != 0;
  if (flags & 3) {
    if (exprs)
      wasync_write_valtype(b, s->type);
    else
      wasync_buf_byte(b, 0x00);
  }
  wasync_buf_u32(b, s->count);
  for (uint32_t i = 0; i < s->count; i++) {
    if (exprs)
      write_expr(e, &s->exprs[i]);
    else
      wasync_buf_u32(b, s->funcs[i]);
  }
}

static void write_data(Encoder *e, const WasyncData *s) {
  WasyncBuf *b = e->b;
  wasync_buf_u32(b, s->flags);
  if (s->flags == 2) wasync_buf_u32(b, s->memory);
  if (s->flags != 1) write_expr(e, &s->offset_expr);
  wasync_buf_u32(b, s->size);
  wasync_buf_bytes(b, s->bytes, s->size);
}

/* Parses the local declarations at the start of a replaced body. */
static bool body_expr_start(Encoder *e, const WasyncCode *c, size_t *start) {
  WasyncReader r = {c->body, 0, c->size, e->err};
  uint32_t n;
  if (!wasync_read_u32(&r, "local groups", &n)) return enc_fail_from(e);
  for (uint32_t i = 0; i < n; i++) {
    uint32_t cnt;
    WasyncValType t;
    if (!wasync_read_u32(&r, "local count", &cnt) ||
        !wasync_read_valtype(&r, e->m, &t))
      return enc_fail_from(e);
  }
  *start = r.pos;
  return true;
}

static void write_code(Encoder *e, const WasyncCode *c) {
  WasyncBuf *b = e->b;
  size_t width = c->replaced ? 0 : leb_width_before(e->m, c->offset);
  if (!e->reencode) {
    write_u32_width(b, c->size, width);
    wasync_buf_bytes(b, c->body, c->size);
    return;
  }
  size_t at = open_sized(b);
  size_t start = c->expr_start;
  if (c->replaced) {
    /* Locals as the pass wrote them; the instructions are re-encoded. */
    if (!body_expr_start(e, c, &start)) return;
    wasync_buf_bytes(b, c->body, start);
  } else {
    wasync_buf_u32(b, c->nlocal_groups);
    for (uint32_t i = 0; i < c->nlocal_groups; i++) {
      wasync_buf_u32(b, c->local_groups[i].count);
      wasync_write_valtype(b, c->local_groups[i].type);
    }
  }
  reencode_instrs(e, c->body + start, c->size - start, c->offset + start);
  close_sized_w(e, at, width);
}

static void write_section_payload(Encoder *e, uint8_t id) {
  const WasyncModule *m = e->m;
  WasyncBuf *b = e->b;
  switch (id) {
  case WASYNC_SEC_TYPE: write_types(e); break;
  case WASYNC_SEC_IMPORT: write_imports(e); break;
  case WASYNC_SEC_FUNCTION:
    wasync_buf_u32(b, m->nfuncs - m->nfunc_imports);
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++)
      wasync_buf_u32(b, m->funcs[i].type);
    break;
  case WASYNC_SEC_TABLE:
    wasync_buf_u32(b, m->ntables - m->ntable_imports);
    for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
      const WasyncTable *t = &m->tables[i];
      if (t->has_init) {
        wasync_buf_byte(b, 0x40);
        wasync_buf_byte(b, 0x00);
      }
      wasync_write_valtype(b, t->type);
      write_limits(b, &t->limits);
      if (t->has_init) write_expr(e, &t->init);
    }
    break;
  case WASYNC_SEC_MEMORY:
    wasync_buf_u32(b, m->nmemories - m->nmemory_imports);
    for (uint32_t i = m->nmemory_imports; i < m->nmemories; i++)
      write_limits(b, &m->memories[i].limits);
    break;
  case WASYNC_SEC_TAG:
    wasync_buf_u32(b, m->ntags - m->ntag_imports);
    for (uint32_t i = m->ntag_imports; i < m->ntags; i++) {
      wasync_buf_byte(b, m->tags[i].attribute);
      wasync_buf_u32(b, m->tags[i].type);
    }
    break;
  case WASYNC_SEC_GLOBAL:
    wasync_buf_u32(b, m->nglobals - m->nglobal_imports);
    for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
      write_globaltype(b, &m->globals[i]);
      write_expr(e, &m->globals[i].init);
    }
    break;
  case WASYNC_SEC_EXPORT:
    wasync_buf_u32(b, m->nexports);
    for (uint32_t i = 0; i < m->nexports; i++) {
      const WasyncExport *x = &m->exports[i];
      wasync_buf_name(b, x->name.bytes, x->name.len);
      wasync_buf_byte(b, x->kind);
      wasync_buf_u32(b, x->index);
    }
    break;
  case WASYNC_SEC_START: wasync_buf_u32(b, m->start); break;
  case WASYNC_SEC_ELEM:
    wasync_buf_u32(b, m->nelems);
    for (uint32_t i = 0; i < m->nelems; i++)
      write_elem(e, &m->elems[i]);
    break;
  case WASYNC_SEC_DATACOUNT: wasync_buf_u32(b, m->ndatas); break;
  case WASYNC_SEC_CODE:
    wasync_buf_u32(b, m->nfuncs - m->nfunc_imports);
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs && e->ok; i++)
      write_code(e, &m->funcs[i].code);
    break;
  case WASYNC_SEC_DATA:
    wasync_buf_u32(b, m->ndatas);
    for (uint32_t i = 0; i < m->ndatas; i++)
      write_data(e, &m->datas[i]);
    break;
  default: break;
  }
}

/* `orig`: the section as it stood in the input (NULL for a new one); its
 * size field's width is kept (some producers pad it to 5 bytes). */
static void write_section(Encoder *e, uint8_t id, const WasyncSection *orig) {
  wasync_buf_byte(e->b, id);
  size_t at = open_sized(e->b);
  write_section_payload(e, id);
  close_sized_w(e, at,
                orig ? (size_t)(orig->payload_offset - orig->offset - 1) : 0);
}

static void write_custom(Encoder *e, const WasyncCustom *c,
                         const WasyncSection *orig) {
  wasync_buf_byte(e->b, 0);
  size_t at = open_sized(e->b);
  wasync_buf_name(e->b, c->name.bytes, c->name.len);
  wasync_buf_bytes(e->b, c->payload, c->size);
  close_sized_w(e, at, (size_t)(orig->payload_offset - orig->offset - 1));
}

/* Standard sections in the required order. */
static const uint8_t section_order[13] = {
    WASYNC_SEC_TYPE,   WASYNC_SEC_IMPORT,    WASYNC_SEC_FUNCTION,
    WASYNC_SEC_TABLE,  WASYNC_SEC_MEMORY,    WASYNC_SEC_TAG,
    WASYNC_SEC_GLOBAL, WASYNC_SEC_EXPORT,    WASYNC_SEC_START,
    WASYNC_SEC_ELEM,   WASYNC_SEC_DATACOUNT, WASYNC_SEC_CODE,
    WASYNC_SEC_DATA};

static bool has_content(const WasyncModule *m, uint8_t id) {
  switch (id) {
  case WASYNC_SEC_TYPE: return m->ntypes > 0;
  case WASYNC_SEC_IMPORT: return m->nimports > 0;
  case WASYNC_SEC_FUNCTION:
  case WASYNC_SEC_CODE: return m->nfuncs > m->nfunc_imports;
  case WASYNC_SEC_TABLE: return m->ntables > m->ntable_imports;
  case WASYNC_SEC_MEMORY: return m->nmemories > m->nmemory_imports;
  case WASYNC_SEC_TAG: return m->ntags > m->ntag_imports;
  case WASYNC_SEC_GLOBAL: return m->nglobals > m->nglobal_imports;
  case WASYNC_SEC_EXPORT: return m->nexports > 0;
  case WASYNC_SEC_START: return m->has_start;
  case WASYNC_SEC_ELEM: return m->nelems > 0;
  case WASYNC_SEC_DATACOUNT: return m->has_datacount;
  case WASYNC_SEC_DATA: return m->ndatas > 0;
  default: return false;
  }
}

static int order_index(uint8_t id) {
  for (int i = 0; i < 13; i++)
    if (section_order[i] == id) return i;
  return -1;
}

bool wasync_module_encode(const WasyncModule *m,
                          const WasyncEncodeOptions *options, uint8_t **out,
                          size_t *out_size, WasyncError *err) {
  WasyncError local_err;
  if (!err) err = &local_err;
  memset(err, 0, sizeof *err);
  *out = NULL;
  *out_size = 0;
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  Encoder e = {0};
  e.m = m;
  e.b = &b;
  e.err = err;
  e.reencode = options && options->reencode;
  e.ok = true;
  wasync_instr_reader_init(&e.ir, m, m->bytes, 0, 0, err);
  /* The output is usually about the input's size. */
  wasync_buf_reserve(&b, m->size + 64);
  static const uint8_t header[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  wasync_buf_bytes(&b, header, 8);

  bool present[14] = {false}, done[14] = {false};
  for (uint32_t i = 0; i < m->nsections; i++)
    if (m->sections[i].id < 14) present[m->sections[i].id] = true;
  int next = 0; /* index into section_order of the next candidate to add */
  for (uint32_t i = 0; i <= m->nsections && e.ok && !b.oom; i++) {
    const WasyncSection *s = i < m->nsections ? &m->sections[i] : NULL;
    if (s && s->id == WASYNC_SEC_CUSTOM) {
      if (s->custom < m->ncustoms) write_custom(&e, &m->customs[s->custom], s);
      continue;
    }
    int upto = s ? order_index(s->id) : 13;
    if (upto < 0) continue;
    for (; next < upto; next++) {
      uint8_t id = section_order[next];
      if (!present[id] && !done[id] && has_content(m, id)) {
        write_section(&e, id, NULL);
        done[id] = true;
      }
    }
    if (s && !done[s->id]) {
      write_section(&e, s->id, s);
      done[s->id] = true;
    }
  }
  wasync_instr_reader_release(&e.ir);
  if (b.oom && e.ok) {
    wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    e.ok = false;
  }
  if (!e.ok) {
    wasync_buf_release(&b);
    return false;
  }
  *out = b.data;
  *out_size = b.size;
  return true;
}

void wasync_buffer_free(const WasyncModule *m, uint8_t *buffer) {
  if (!buffer) return;
  const WasyncAllocator *a =
      m ? m->arena.allocator : wasync_default_allocator();
  a->free(a->ctx, buffer);
}
