/*
 * encode.c -- wasync_module_encode(): the module model back to bytes.
 *
 * Order.  Sections are written in the order the input had them
 * (m->sections[]), custom sections where they stood.  A standard section
 * the input lacked but that now has content (a pass added functions,
 * globals, exports...) is inserted at its canonical position: before the
 * first recorded section that must follow it, else before the trailing
 * custom sections.
 *
 * Modes.  What differs between the two is function bodies:
 *
 *   reencode = false  bodies are copied as bytes (a body a pass replaced is
 *                     taken from code.body);
 *   reencode = true   each body is rebuilt from its local groups and its
 *                     instructions, decoded and re-encoded one by one with
 *                     wasync_instr_encode(), and so is every constant
 *                     expression of a section that changed.
 *
 * Byte identity.  Everything is written with minimal LEB128s from a model
 * that keeps the input's encoding choices, so a canonically encoded module
 * comes back byte for byte.  Inputs that spell things non-minimally (the
 * reference interpreter's 5-byte section sizes, Go's padded indices, the
 * spec's LEB128 tests) are kept too:
 *   - section and body size fields keep their input width;
 *   - a non-code section whose content is unchanged -- its "identity hash"
 *     (the section written from the model with byte strings by address)
 *     equals the one taken right after decoding (WasyncSection.canon_hash)
 *     -- is copied from the input, which is also the fast path;
 *   - a re-encoded body that differs from the input's bytes is decoded
 *     again next to the input body; when both give the same locals and
 *     instructions, the input's spelling is kept (the re-encoding still
 *     had to reproduce every instruction, so it still proves the model).
 * A changed section or body is written minimally.
 *
 * Buffering.  A section is written after a 5-byte size placeholder and then
 * shifted down to its final size field, so the output is built in one
 * buffer without copying sections through temporaries.
 */
#include "body_writer.h"
#include "decode.h"
#include "instr.h"
#include "leb128.h"
#include "module.h"
#include "parallel.h"

#include <string.h>

typedef struct Encoder {
  const WasyncModule *m;
  WasyncBuf *b;
  WasyncError *err;
  bool reencode;      /* bodies: instruction by instruction */
  bool canon;         /* constant expressions too */
  bool identity;      /* computing a section's identity hash: byte strings are
                         written as (pointer, size), see write_section() */
  WasyncBuf *scratch; /* for identity hashes */
  const WasyncSection *orig; /* the input section being rewritten, if any */
  WasyncInstrReader ir;
  WasyncInstrReader ir2; /* second stream for body comparisons */
  bool ok;
} Encoder;

static bool enc_fail_from(Encoder *e) {
  e->ok = false;
  return false;
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
  size_t n = wasync_leb_u_size(len);
  if (width > n && width <= 5) n = width; /* keep the input's padding */
  wasync_leb_put_u32_width(b->data + at, (uint32_t)len, n);
  memmove(b->data + at + n, b->data + start, len);
  b->size = at + n + len;
}

/* The width of the size field that ends just before input offset `pos`,
 * or 0 when it cannot be told (leb128.h). */
static size_t leb_width_before(const WasyncModule *m, uint64_t pos) {
  return m->bytes ? wasync_leb_width_before(m->bytes, m->size, pos) : 0;
}

/* Writes a u32 LEB128 at least `width` bytes wide. */
static void write_u32_width(WasyncBuf *b, uint32_t v, size_t width) {
  if (width <= wasync_leb_u_size(v) || width > 5) {
    wasync_buf_u32(b, v);
    return;
  }
  if (!wasync_buf_reserve(b, width)) return;
  b->size =
      (size_t)(wasync_leb_put_u32_width(b->data + b->size, v, width) - b->data);
}

static bool instr_equal(const WasyncInstr *a, const WasyncInstr *b);

/* Writes `in`, decoded from the n input bytes at `bytes`, in its minimal
 * encoding.  With `spelling`, also records whether the output spells each
 * instruction as the input did (0), differently but provably the same --
 * the new bytes decode to an equal instruction -- (1), or not provably the
 * same (-1). */
static void encode_compare(Encoder *e, const WasyncInstr *in,
                           const uint8_t *bytes, size_t n, int *spelling) {
  WasyncBuf *b = e->b;
  size_t out_at = b->size;
  wasync_instr_encode(b, in);
  if (!spelling || *spelling < 0 || b->oom) return;
  if (b->size - out_at == n) { /* instructions are short: no memcmp call */
    const uint8_t *x = b->data + out_at;
    size_t k = 0;
    while (k < n && x[k] == bytes[k])
      k++;
    if (k == n) return;
  }
  WasyncError scratch = {0};
  WasyncInstrReader *ir2 = &e->ir2;
  WasyncInstr again;
  ir2->r.base = b->data + out_at;
  ir2->r.pos = 0;
  ir2->r.end = b->size - out_at;
  ir2->r.err = &scratch;
  *spelling = wasync_instr_decode(ir2, &again) && ir2->r.pos == ir2->r.end &&
                      instr_equal(in, &again)
                  ? 1
                  : -1;
}

/* Re-encodes the instructions in bytes[0, size) one by one; `spelling` as
 * for encode_compare(). */
static bool reencode_instrs(Encoder *e, const uint8_t *bytes, size_t size,
                            uint64_t offset, int *spelling) {
  WasyncInstrReader *ir = &e->ir;
  ir->r.base = bytes;
  ir->r.pos = 0;
  ir->r.end = size;
  ir->r.err = e->err;
  WasyncInstr in;
  WasyncBuf *b = e->b;
  /* Runs of common instructions are re-encoded inline (their minimal
   * encodings are the input bytes); the rest one by one, comparing. */
  for (;;) {
    wasync_instrs_copy_minimal(ir, b);
    if (ir->r.pos >= size || b->oom) break;
    size_t in_at = ir->r.pos;
    if (!wasync_instr_decode(ir, &in)) {
      e->err->offset += offset;
      return enc_fail_from(e);
    }
    encode_compare(e, &in, bytes + in_at, ir->r.pos - in_at, spelling);
  }
  return true;
}

/* In identity mode a byte string stands for itself by address: input
 * bytes never change, and a replaced string has a new address. */
static void write_identity(WasyncBuf *b, const uint8_t *p, uint32_t size) {
  uintptr_t v = (uintptr_t)p;
  wasync_buf_bytes(b, &v, sizeof v);
  wasync_buf_u32(b, size);
}

static void write_expr(Encoder *e, const WasyncExpr *x) {
  if (!e->ok) return;
  if (e->identity)
    write_identity(e->b, x->bytes, x->size);
  else if (e->canon)
    reencode_instrs(e, x->bytes, x->size, x->offset, NULL);
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
  if (e->identity) {
    write_identity(b, s->bytes, s->size);
    return;
  }
  wasync_buf_u32(b, s->size);
  wasync_buf_bytes(b, s->bytes, s->size);
}

/* The identity of the data segments (what write_data() writes in identity
 * mode, byte strings by address) mixed straight into a 64-bit hash: the
 * data section's identity without a buffer the size of the section. */
static inline uint64_t mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0x9E3779B97F4A7C15ull;
  return h ^ (h >> 31);
}

static uint64_t data_identity(const WasyncModule *m) {
  uint64_t h = 0x243F6A8885A308D3ull;
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const WasyncData *s = &m->datas[i];
    h = mix(h, s->flags);
    if (s->flags == 2) h = mix(h, s->memory);
    if (s->flags != 1) {
      h = mix(h, (uintptr_t)s->offset_expr.bytes);
      h = mix(h, s->offset_expr.size);
    }
    h = mix(h, (uintptr_t)s->bytes);
    h = mix(h, s->size);
  }
  return h;
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

/* Block types equal (only the fields their kind uses). */
static bool block_equal(const WasyncBlockType *a, const WasyncBlockType *b) {
  if (a->kind != b->kind) return false;
  if (a->kind == WASYNC_BLOCK_VALUE) return a->value == b->value;
  if (a->kind == WASYNC_BLOCK_INDEX) return a->index == b->index;
  return true;
}

/* Immediates equal (only the fields the immediate kind sets; the scratch
 * arrays of two readers compared by content). */
static bool instr_equal(const WasyncInstr *a, const WasyncInstr *b) {
  if (a->op != b->op) return false;
  WasyncImmKind kind = (WasyncImmKind)wasync_op_info[a->op].imm;
  switch (kind) {
  case WASYNC_IMM_NONE:
  case WASYNC_IMM_FENCE: return true;
  case WASYNC_IMM_BLOCK: return block_equal(&a->imm.block, &b->imm.block);
  case WASYNC_IMM_BR_TABLE:
    return a->imm.br_table.count == b->imm.br_table.count &&
           a->imm.br_table.default_label == b->imm.br_table.default_label &&
           (a->imm.br_table.count == 0 ||
            memcmp(a->imm.br_table.labels, b->imm.br_table.labels,
                   a->imm.br_table.count * sizeof(uint32_t)) == 0);
  case WASYNC_IMM_MEMARG:
  case WASYNC_IMM_MEMARG_LANE:
    return a->imm.memarg.align == b->imm.memarg.align &&
           a->imm.memarg.memory == b->imm.memarg.memory &&
           a->imm.memarg.offset == b->imm.memarg.offset &&
           a->imm.memarg.has_memory == b->imm.memarg.has_memory &&
           (kind != WASYNC_IMM_MEMARG_LANE ||
            a->imm.memarg.lane == b->imm.memarg.lane);
  case WASYNC_IMM_I64: return a->imm.i64 == b->imm.i64;
  case WASYNC_IMM_F64: return a->imm.f64 == b->imm.f64;
  case WASYNC_IMM_V128:
  case WASYNC_IMM_SHUFFLE:
    return memcmp(a->imm.bytes16, b->imm.bytes16, 16) == 0;
  case WASYNC_IMM_LANE: return a->imm.lane == b->imm.lane;
  case WASYNC_IMM_SELECT_T:
    return a->imm.select.count == b->imm.select.count &&
           (a->imm.select.count == 0 ||
            memcmp(a->imm.select.types, b->imm.select.types,
                   a->imm.select.count * sizeof(WasyncValType)) == 0);
  case WASYNC_IMM_HEAPTYPE: return a->imm.ref == b->imm.ref;
  case WASYNC_IMM_BR_ON_CAST:
    return a->imm.br_on_cast.flags == b->imm.br_on_cast.flags &&
           a->imm.br_on_cast.label == b->imm.br_on_cast.label &&
           a->imm.br_on_cast.from == b->imm.br_on_cast.from &&
           a->imm.br_on_cast.to == b->imm.br_on_cast.to;
  case WASYNC_IMM_TRY_TABLE:
    if (a->imm.try_table.count != b->imm.try_table.count ||
        !block_equal(&a->imm.try_table.block, &b->imm.try_table.block))
      return false;
    for (uint32_t i = 0; i < a->imm.try_table.count; i++) {
      const WasyncCatch *x = &a->imm.try_table.catches[i];
      const WasyncCatch *y = &b->imm.try_table.catches[i];
      if (x->kind != y->kind || x->label != y->label ||
          (x->kind <= WASYNC_CATCH_REF && x->tag != y->tag))
        return false;
    }
    return true;
  case WASYNC_IMM_I32:
  case WASYNC_IMM_F32:
  case WASYNC_IMM_LABEL:
  case WASYNC_IMM_FUNC:
  case WASYNC_IMM_TYPE:
  case WASYNC_IMM_LOCAL:
  case WASYNC_IMM_GLOBAL:
  case WASYNC_IMM_TABLE:
  case WASYNC_IMM_TAG:
  case WASYNC_IMM_ELEM:
  case WASYNC_IMM_DATA:
  case WASYNC_IMM_MEM: return a->imm.index == b->imm.index;
  default:
    return a->imm.pair.a == b->imm.pair.a && a->imm.pair.b == b->imm.pair.b;
  }
}

/* After re-encoding an input body at [at, b->size): when the input spelled
 * the same locals and instructions differently (non-minimal LEB128s), its
 * own bytes are kept -- an encoding choice like any other.  The check is
 * on decoded instructions (`spelling`, see reencode_instrs), so the
 * re-encoding still proves the model. */
static void keep_input_spelling(Encoder *e, const WasyncCode *c, size_t at,
                                size_t expr_at, int spelling) {
  WasyncBuf *b = e->b;
  if (b->oom || spelling < 0) return;
  bool same_locals = expr_at - at == c->expr_start &&
                     memcmp(b->data + at, c->body, c->expr_start) == 0;
  if (spelling == 0 && same_locals) return; /* already the input's bytes */
  if (!same_locals) {
    WasyncReader r = {c->body, 0, c->expr_start, NULL};
    uint32_t ng, cnt;
    WasyncValType t;
    if (!wasync_read_u32(&r, "locals", &ng) || ng != c->nlocal_groups) return;
    for (uint32_t i = 0; i < ng; i++)
      if (!wasync_read_u32(&r, "count", &cnt) ||
          !wasync_read_valtype(&r, e->m, &t) ||
          cnt != c->local_groups[i].count || t != c->local_groups[i].type)
        return;
  }
  b->size = at;
  wasync_buf_bytes(b, c->body, c->size);
}

static void write_code(Encoder *e, const WasyncCode *c) {
  WasyncBuf *b = e->b;
  if (e->reencode && !c->replaced && c->reencoded) {
    /* re-encoded while it was validated (body_writer.h) */
    wasync_buf_bytes(b, c->reencoded, c->reencoded_size);
    return;
  }
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
  size_t expr_at = b->size;
  int spelling = 0;
  if (!reencode_instrs(e, c->body + start, c->size - start, c->offset + start,
                       c->replaced ? NULL : &spelling))
    return;
  if (!c->replaced) keep_input_spelling(e, c, at + 5, expr_at, spelling);
  close_sized_w(e, at, width);
}

/* ---- re-encoding a body while it is validated (body_writer.h) ---- */

struct WasyncBodyWriter {
  Encoder e;
  WasyncError err; /* errors are not reported: the body is just not kept */
  const WasyncCode *c;
  size_t at, expr_at, width;
  int spelling;
};

WasyncBodyWriter *wasync_body_writer_new(const WasyncModule *m,
                                         WasyncBuf *out) {
  const WasyncAllocator *a = m->arena.allocator;
  WasyncBodyWriter *w = a->alloc(a->ctx, sizeof *w);
  if (!w) return NULL;
  memset(w, 0, sizeof *w);
  w->e.m = m;
  w->e.b = out;
  w->e.err = &w->err;
  w->e.reencode = w->e.canon = true;
  w->e.ok = true;
  wasync_instr_reader_init(&w->e.ir, m, m->bytes, 0, 0, &w->err);
  wasync_instr_reader_init(&w->e.ir2, m, m->bytes, 0, 0, &w->err);
  return w;
}

void wasync_body_writer_free(WasyncBodyWriter *w) {
  if (!w) return;
  const WasyncAllocator *a = w->e.m->arena.allocator;
  wasync_instr_reader_release(&w->e.ir);
  wasync_instr_reader_release(&w->e.ir2);
  a->free(a->ctx, w);
}

void wasync_body_writer_begin(WasyncBodyWriter *w, const WasyncCode *c) {
  Encoder *e = &w->e;
  WasyncBuf *b = e->b;
  w->c = c;
  w->width = leb_width_before(e->m, c->offset);
  w->at = open_sized(b);
  wasync_buf_u32(b, c->nlocal_groups);
  for (uint32_t i = 0; i < c->nlocal_groups; i++) {
    wasync_buf_u32(b, c->local_groups[i].count);
    wasync_write_valtype(b, c->local_groups[i].type);
  }
  w->expr_at = b->size;
  w->spelling = 0;
}

void wasync_body_writer_instr(WasyncBodyWriter *w, const WasyncInstr *in,
                              const uint8_t *bytes, size_t n) {
  encode_compare(&w->e, in, bytes, n, &w->spelling);
}

bool wasync_body_writer_end(WasyncBodyWriter *w) {
  Encoder *e = &w->e;
  keep_input_spelling(e, w->c, w->at + 5, w->expr_at, w->spelling);
  close_sized_w(e, w->at, w->width);
  return e->ok && !e->b->oom;
}

/* ---- bodies on several threads (parallel.h) ---- */

/* Bodies in chunks: each chunk is written into a buffer of its own, and
 * the buffers are appended in order afterwards.  A worker (thread) has its
 * own Encoder, copied from the caller's before any chunk starts, with its
 * own readers and error; after its first failure (its lowest) its later
 * chunks are skipped. */
typedef struct CodeChunk {
  WasyncBuf buf;
  bool ok; /* written (else failed or skipped) */
  unsigned worker;
} CodeChunk;

typedef struct CodeWorker {
  Encoder e;
  WasyncError err;
  bool live, failed;
} CodeWorker;

typedef struct CodeChunks {
  const Encoder *proto;
  const uint32_t *bounds;
  CodeChunk chunks[WASYNC_MAX_CHUNKS];
  CodeWorker workers[WASYNC_MAX_THREADS];
} CodeChunks;

static void write_chunk(void *ctx, unsigned k, unsigned worker) {
  CodeChunks *r = ctx;
  CodeWorker *wk = &r->workers[worker];
  CodeChunk *ch = &r->chunks[k];
  const WasyncModule *m = r->proto->m;
  ch->worker = worker;
  if (wk->failed) return;
  Encoder *e = &wk->e;
  if (!wk->live) {
    *e = *r->proto;
    e->err = &wk->err;
    wasync_instr_reader_init(&e->ir, m, m->bytes, 0, 0, e->err);
    wasync_instr_reader_init(&e->ir2, m, m->bytes, 0, 0, e->err);
    wk->live = true;
  }
  size_t bytes = 64;
  for (uint32_t f = r->bounds[k]; f < r->bounds[k + 1]; f++)
    bytes += m->funcs[f].code.size + 5u;
  wasync_buf_init(&ch->buf, m->arena.allocator);
  wasync_buf_reserve(&ch->buf, bytes);
  e->b = &ch->buf;
  for (uint32_t f = r->bounds[k]; f < r->bounds[k + 1] && e->ok; f++)
    write_code(e, &m->funcs[f].code);
  ch->ok = e->ok;
  if (!e->ok) wk->failed = true;
}

static void write_bodies(Encoder *e) {
  const WasyncModule *m = e->m;
  uint32_t bounds[WASYNC_MAX_CHUNKS + 1];
  unsigned threads = 1, n = 1;
  /* Copied bodies (and bodies re-encoded while validating) are
   * memcpy-bound: one thread. */
  bool work = false;
  for (uint32_t i = m->nfunc_imports; i < m->nfuncs && !work; i++)
    work = m->funcs[i].code.replaced || !m->funcs[i].code.reencoded;
  if (e->reencode && !e->identity && work)
    n = wasync_split_bodies(m, bounds, &threads);
  if (threads == 1) {
    for (uint32_t i = m->nfunc_imports; i < m->nfuncs && e->ok; i++)
      write_code(e, &m->funcs[i].code);
    return;
  }
  CodeChunks *r = m->arena.allocator->alloc(m->arena.allocator->ctx, sizeof *r);
  if (!r) {
    wasync_fail(e->err, WASYNC_ERR_NOMEM, 0, "out of memory");
    e->ok = false;
    return;
  }
  memset(r, 0, sizeof *r);
  r->proto = e;
  r->bounds = bounds;
  wasync_parallel_run(threads, n, write_chunk, r);
  for (unsigned k = 0; k < n; k++) {
    CodeChunk *ch = &r->chunks[k];
    if (e->ok && !ch->ok) { /* the first chunk not written failed */
      *e->err = r->workers[ch->worker].err;
      e->ok = false;
    }
    if (e->ok && ch->buf.oom) e->b->oom = true;
    if (e->ok) wasync_buf_bytes(e->b, ch->buf.data, ch->buf.size);
    if (ch->buf.allocator) wasync_buf_release(&ch->buf);
  }
  for (unsigned i = 0; i < threads; i++) {
    if (!r->workers[i].live) continue;
    wasync_instr_reader_release(&r->workers[i].e.ir);
    wasync_instr_reader_release(&r->workers[i].e.ir2);
  }
  m->arena.allocator->free(m->arena.allocator->ctx, r);
}

/* Width of the input section's leading count when the count is unchanged
 * (0: minimal). */
static size_t count_width(const Encoder *e) {
  const WasyncModule *m = e->m;
  if (!e->orig || e->orig->size == 0) return 0;
  WasyncReader r = {m->bytes, (size_t)e->orig->payload_offset,
                    (size_t)(e->orig->payload_offset + e->orig->size), NULL};
  uint32_t n;
  if (!wasync_read_u32(&r, "count", &n) || n != m->nfuncs - m->nfunc_imports)
    return 0;
  return r.pos - (size_t)e->orig->payload_offset;
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
    write_u32_width(b, m->nfuncs - m->nfunc_imports, count_width(e));
    write_bodies(e);
    break;
  case WASYNC_SEC_DATA:
    wasync_buf_u32(b, m->ndatas);
    if (e->identity) { /* often 100000 segments: their fields, mixed */
      uint64_t h = data_identity(m);
      wasync_buf_bytes(b, &h, sizeof h);
      break;
    }
    for (uint32_t i = 0; i < m->ndatas; i++)
      write_data(e, &m->datas[i]);
    break;
  default: break;
  }
}

/* `orig`: the section as it stood in the input (NULL for a new one); its
 * size field's width is kept (some producers pad it to 5 bytes). */
/* A 64-bit hash of a byte string (word at a time; not cryptographic). */
static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = (h ^ w) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
  }
  for (; n > 0; p++, n--)
    h = (h ^ *p) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 32;
  return h | 1; /* 0 means "no hash" */
}

/* A hash of what a section says (its entities, with byte strings by
 * address), or 0 when it cannot be computed. */
static uint64_t identity_hash(Encoder *e, uint8_t id) {
  WasyncBuf *out = e->b;
  e->b = e->scratch;
  e->b->size = 0;
  e->identity = true;
  write_section_payload(e, id);
  e->identity = false;
  uint64_t h = e->b->oom ? 0 : hash_bytes(e->b->data, e->b->size);
  if (e->b->oom) {
    wasync_fail(e->err, WASYNC_ERR_NOMEM, 0, "out of memory");
    e->ok = false;
  }
  e->b = out;
  return h;
}

/* Writes a section from the model -- unless it is one of the input's
 * sections and says the same as right after decoding (its identity hash
 * equals WasyncSection.canon_hash): then the input's bytes are copied,
 * which keeps every encoding choice they made (non-minimal LEB128s, empty
 * rec groups, ...) and is faster too.  Code sections are handled body by
 * body (write_code). */
static void write_section(Encoder *e, uint8_t id, const WasyncSection *orig) {
  WasyncBuf *b = e->b;
  wasync_buf_byte(b, id);
  size_t at = open_sized(b);
  e->orig = orig;
  if (orig && orig->canon_hash && id != WASYNC_SEC_CODE &&
      identity_hash(e, id) == orig->canon_hash)
    wasync_buf_bytes(b, e->m->bytes + orig->payload_offset, orig->size);
  else if (e->ok)
    write_section_payload(e, id);
  e->orig = NULL;
  close_sized_w(e, at,
                orig ? (size_t)(orig->payload_offset - orig->offset - 1) : 0);
}

static void write_custom(Encoder *e, const WasyncCustom *c,
                         const WasyncSection *orig) {
  const WasyncModule *m = e->m;
  wasync_buf_byte(e->b, 0);
  size_t at = open_sized(e->b);
  const uint8_t *end = m->bytes + orig->payload_offset + orig->size;
  if (c->payload + c->size == end && c->name.bytes >= m->bytes &&
      c->name.bytes < end && c->payload >= m->bytes) {
    /* unchanged: the input's bytes (its name length spelling included) */
    wasync_buf_bytes(e->b, m->bytes + orig->payload_offset, orig->size);
  } else {
    wasync_buf_name(e->b, c->name.bytes, c->name.len);
    wasync_buf_bytes(e->b, c->payload, c->size);
  }
  close_sized_w(e, at, (size_t)(orig->payload_offset - orig->offset - 1));
}

bool wasync_encode_note_sections(WasyncModule *m, WasyncError *err) {
  WasyncBuf scratch;
  wasync_buf_init(&scratch, m->arena.allocator);
  Encoder e = {0};
  e.m = m;
  e.b = &scratch;
  e.scratch = &scratch;
  e.err = err;
  e.ok = true;
  for (uint32_t i = 0; i < m->nsections && e.ok; i++) {
    WasyncSection *s = &m->sections[i];
    if (s->id == WASYNC_SEC_CUSTOM || s->id == WASYNC_SEC_CODE) continue;
    s->canon_hash = identity_hash(&e, s->id);
  }
  wasync_buf_release(&scratch);
  return e.ok;
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
  e.canon = e.reencode;
  e.ok = true;
  wasync_instr_reader_init(&e.ir, m, m->bytes, 0, 0, err);
  wasync_instr_reader_init(&e.ir2, m, m->bytes, 0, 0, err);
  WasyncBuf scratch;
  wasync_buf_init(&scratch, m->arena.allocator);
  e.scratch = &scratch;
  /* The output is usually about the input's size. */
  wasync_buf_reserve(&b, m->size + 64);
  static const uint8_t header[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  wasync_buf_bytes(&b, header, 8);

  bool present[14] = {false}, done[14] = {false};
  for (uint32_t i = 0; i < m->nsections; i++)
    if (m->sections[i].id < 14) present[m->sections[i].id] = true;
  /* New sections that sort after every recorded one go before the
   * trailing custom sections (where "name" and friends usually stand). */
  uint32_t trailing = m->nsections;
  while (trailing > 0 && m->sections[trailing - 1].id == WASYNC_SEC_CUSTOM)
    trailing--;
  int next = 0; /* index into section_order of the next candidate to add */
  for (uint32_t i = 0; i <= m->nsections && e.ok && !b.oom; i++) {
    const WasyncSection *s = i < m->nsections ? &m->sections[i] : NULL;
    bool custom = s && s->id == WASYNC_SEC_CUSTOM;
    if (custom && i < trailing) {
      if (s->custom < m->ncustoms) write_custom(&e, &m->customs[s->custom], s);
      continue;
    }
    int upto = s && !custom ? order_index(s->id) : 13;
    if (upto < 0) continue;
    for (; next < upto; next++) {
      uint8_t id = section_order[next];
      if (!present[id] && !done[id] && has_content(m, id)) {
        write_section(&e, id, NULL);
        done[id] = true;
      }
    }
    if (custom) {
      if (s->custom < m->ncustoms) write_custom(&e, &m->customs[s->custom], s);
    } else if (s && !done[s->id]) {
      write_section(&e, s->id, s);
      done[s->id] = true;
    }
  }
  wasync_instr_reader_release(&e.ir);
  wasync_instr_reader_release(&e.ir2);
  wasync_buf_release(&scratch);
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
