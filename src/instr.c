/*
 * instr.c -- one instruction in and out of the binary format, plus value,
 * reference, heap and block types.
 *
 * wasync_instr_decode() reads the opcode (one byte, or a prefix byte and a
 * u32 LEB128 code), looks it up in the opcodes.def table and reads the
 * immediates its IMMEDIATE column names.  Variable-length immediates
 * (br_table labels, select types, try_table catches) land in scratch
 * arrays owned by the WasyncInstrReader and reused for every instruction,
 * so decoding a body allocates nothing per instruction.
 *
 * wasync_instr_encode() writes the same instruction back with minimal
 * LEB128s; since everything the encoding leaves open (memarg memory flag,
 * nullability shorthand) is kept in the WasyncInstr, a canonical input is
 * reproduced exactly.
 *
 * Heap types are s33: negative values are abstract heap types (their code
 * byte is the low 7 bits), non-negative ones type indices, which must name
 * a declared type ("unknown type").
 */
#include "instr.h"

#include "fastpath.h"
#include "opcodes.h"

#include <string.h>

/* ---- types ----------------------------------------------------------- */

static bool is_abstract_heap(uint8_t code) {
  return code >= 0x69 && code <= 0x74;
}

static bool heap_from_s33(WasyncReader *r, const WasyncModule *m, size_t at,
                          int64_t v, bool nullable, WasyncValType *out) {
  if (v < 0) {
    uint8_t code = (uint8_t)(v & 0x7F);
    if (v < -64 || !is_abstract_heap(code))
      return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                         "malformed heap type");
    *out = wasync_vt_ref_abstract(nullable, code);
    return true;
  }
  if ((m && (uint64_t)v >= m->ntypes) || (uint64_t)v >= WASYNC_MAX_TYPES)
    return wasync_fail(r->err, WASYNC_ERR_INVALID, at, "unknown type %llu",
                       (unsigned long long)v);
  *out = wasync_vt_ref_index(nullable, (uint32_t)v);
  return true;
}

bool wasync_read_heaptype(WasyncReader *r, const WasyncModule *m, bool nullable,
                          WasyncValType *out) {
  size_t at = r->pos;
  int64_t v;
  if (!wasync_read_s33(r, "heap type", &v)) return false;
  return heap_from_s33(r, m, at, v, nullable, out);
}

/* Reads a value type whose first byte is already known to be `b` (and
 * consumed). */
static bool valtype_from_byte(WasyncReader *r, const WasyncModule *m, size_t at,
                              uint8_t b, WasyncValType *out, const char *bad) {
  switch (b) {
  case 0x7F:
  case 0x7E:
  case 0x7D:
  case 0x7C:
  case 0x7B: *out = b; return true;
  case 0x63: return wasync_read_heaptype(r, m, true, out);
  case 0x64: return wasync_read_heaptype(r, m, false, out);
  default:
    if (is_abstract_heap(b)) {
      *out = wasync_vt_ref_abstract(true, b);
      return true;
    }
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at, "%s", bad);
  }
}

bool wasync_read_valtype(WasyncReader *r, const WasyncModule *m,
                         WasyncValType *out) {
  size_t at = r->pos;
  uint8_t b;
  if (!wasync_read_u8(r, "value type", &b)) return false;
  return valtype_from_byte(r, m, at, b, out, "malformed value type");
}

bool wasync_read_reftype(WasyncReader *r, const WasyncModule *m,
                         WasyncValType *out) {
  size_t at = r->pos;
  uint8_t b;
  if (!wasync_read_u8(r, "reference type", &b)) return false;
  if (b >= 0x7B && b <= 0x7F)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                       "malformed reference type");
  return valtype_from_byte(r, m, at, b, out, "malformed reference type");
}

bool wasync_read_blocktype(WasyncReader *r, const WasyncModule *m,
                           WasyncBlockType *out) {
  size_t at = r->pos;
  if (r->pos >= r->end)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, r->pos, "unexpected end");
  uint8_t b = r->base[r->pos];
  if (b == 0x40) {
    r->pos++;
    out->kind = WASYNC_BLOCK_EMPTY;
    return true;
  }
  if ((b & 0xC0) == 0x40) { /* a one-byte negative s33: a value type */
    r->pos++;
    out->kind = WASYNC_BLOCK_VALUE;
    return valtype_from_byte(r, m, at, b, &out->value, "malformed value type");
  }
  int64_t v;
  if (!wasync_read_s33(r, "block type", &v)) return false;
  if (v < 0)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                       "malformed value type");
  if ((m && (uint64_t)v >= m->ntypes) || (uint64_t)v >= WASYNC_MAX_TYPES)
    return wasync_fail(r->err, WASYNC_ERR_INVALID, at, "unknown type %llu",
                       (unsigned long long)v);
  out->kind = WASYNC_BLOCK_INDEX;
  out->index = (uint32_t)v;
  return true;
}

void wasync_write_heaptype(WasyncBuf *b, WasyncValType ref) {
  if (wasync_vt_indexed(ref))
    wasync_buf_s64(b, (int64_t)wasync_vt_heap(ref));
  else
    wasync_buf_byte(b, (uint8_t)wasync_vt_heap(ref));
}

void wasync_write_valtype(WasyncBuf *b, WasyncValType t) {
  if (!wasync_vt_is_ref(t)) {
    wasync_buf_byte(b, (uint8_t)t);
    return;
  }
  if (wasync_vt_nullable(t) && !wasync_vt_indexed(t)) {
    wasync_buf_byte(b, (uint8_t)wasync_vt_heap(t)); /* shorthand */
    return;
  }
  wasync_buf_byte(b, wasync_vt_nullable(t) ? 0x63 : 0x64);
  wasync_write_heaptype(b, t);
}

void wasync_write_blocktype(WasyncBuf *b, const WasyncBlockType *bt) {
  switch (bt->kind) {
  case WASYNC_BLOCK_EMPTY: wasync_buf_byte(b, 0x40); break;
  case WASYNC_BLOCK_VALUE: wasync_write_valtype(b, bt->value); break;
  default: wasync_buf_s64(b, (int64_t)bt->index); break;
  }
}

/* ---- the instruction reader ------------------------------------------ */

void wasync_instr_reader_init(WasyncInstrReader *ir, const WasyncModule *m,
                              const uint8_t *base, size_t pos, size_t end,
                              WasyncError *err) {
  memset(ir, 0, sizeof *ir);
  ir->r.base = base;
  ir->r.pos = pos;
  ir->r.end = end;
  ir->r.err = err;
  ir->module = m;
  ir->allocator = m ? m->arena.allocator : wasync_default_allocator();
}

void wasync_instr_reader_release(WasyncInstrReader *ir) {
  const WasyncAllocator *a = ir->allocator;
  if (ir->labels) a->free(a->ctx, ir->labels);
  if (ir->types) a->free(a->ctx, ir->types);
  if (ir->catches) a->free(a->ctx, ir->catches);
  ir->labels = NULL;
  ir->types = NULL;
  ir->catches = NULL;
  ir->labels_cap = ir->types_cap = ir->catches_cap = 0;
}

/* Grows a scratch array to hold n items. */
static bool scratch(WasyncInstrReader *ir, void **arr, uint32_t *cap,
                    uint32_t n, size_t item) {
  if (n <= *cap) return true;
  uint32_t c = *cap ? *cap : 16;
  while (c < n)
    c = c > UINT32_MAX / 2 ? n : c * 2;
  void *p = ir->allocator->realloc(ir->allocator->ctx, *arr, (size_t)c * item);
  if (!p)
    return wasync_fail(ir->r.err, WASYNC_ERR_NOMEM, ir->r.pos, "out of memory");
  *arr = p;
  *cap = c;
  return true;
}

/* u32 LEB128 with the one-byte case inline (most indices are small);
 * `what` names it in an error. */
static inline bool read_idx(WasyncReader *r, const char *what, uint32_t *out) {
  if (r->pos < r->end && r->base[r->pos] < 0x80) {
    *out = r->base[r->pos++];
    return true;
  }
  return wasync_read_u32(r, what, out);
}

/* What the index immediates are, for errors: one index, or a pair. */
static const char *const index_what[] = {
    [WASYNC_IMM_LABEL] = "label",         [WASYNC_IMM_FUNC] = "function index",
    [WASYNC_IMM_TYPE] = "type index",     [WASYNC_IMM_LOCAL] = "local index",
    [WASYNC_IMM_GLOBAL] = "global index", [WASYNC_IMM_TABLE] = "table index",
    [WASYNC_IMM_TAG] = "tag index",       [WASYNC_IMM_ELEM] = "element index",
    [WASYNC_IMM_DATA] = "data index",     [WASYNC_IMM_MEM] = "memory index",
};
static const char *const pair_what[][2] = {
    [WASYNC_IMM_CALL_INDIRECT] = {"type index", "table index"},
    [WASYNC_IMM_MEMORY_INIT] = {"data index", "memory index"},
    [WASYNC_IMM_MEMORY_COPY] = {"memory index", "memory index"},
    [WASYNC_IMM_TABLE_INIT] = {"element index", "table index"},
    [WASYNC_IMM_TABLE_COPY] = {"table index", "table index"},
    [WASYNC_IMM_TYPE_FIELD] = {"type index", "field index"},
    [WASYNC_IMM_TYPE_N] = {"type index", "length"},
    [WASYNC_IMM_TYPE_DATA] = {"type index", "data index"},
    [WASYNC_IMM_TYPE_ELEM] = {"type index", "element index"},
    [WASYNC_IMM_TYPE_TYPE] = {"type index", "type index"},
};

/* The offset is a u64 for a 64-bit memory (or when the memory is not
 * known), a u32 otherwise. */
static bool read_memarg(WasyncReader *r, const WasyncModule *m,
                        WasyncMemArg *ma) {
  size_t at = r->pos;
  uint32_t flags;
  if (!read_idx(r, "memarg flags", &flags)) return false;
  ma->has_memory = false;
  ma->memory = 0;
  if (flags >= 128)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                       "malformed memop flags");
  if (flags >= 64) {
    ma->has_memory = true;
    flags -= 64;
    if (!wasync_read_u32(r, "memory index", &ma->memory)) return false;
  }
  ma->align = flags;
  if (r->pos < r->end && r->base[r->pos] < 0x80) {
    ma->offset = r->base[r->pos++];
    return true;
  }
  if (m && ma->memory < m->nmemories && !m->memories[ma->memory].limits.is64) {
    uint32_t off;
    if (!wasync_read_u32_of_u64(r, "offset", &off)) return false;
    ma->offset = off;
    return true;
  }
  return wasync_read_u64(r, "offset", &ma->offset);
}

static bool read_pair(WasyncReader *r, WasyncImmKind kind, WasyncInstr *out) {
  return read_idx(r, pair_what[kind][0], &out->imm.pair.a) &&
         read_idx(r, pair_what[kind][1], &out->imm.pair.b);
}

/* The general path of wasync_instr_decode(): any instruction, and every
 * error.  Kept out of line so the fast path stays small. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static bool
decode_general(WasyncInstrReader *ir, WasyncInstr *out) {
  WasyncReader *r = &ir->r;
  if (r->pos >= r->end)
    return wasync_fail(r->err, WASYNC_ERR_MALFORMED, r->pos,
                       "unexpected end (reading opcode)");
  uint8_t b = r->base[r->pos++];
  WasyncOp op;
  if (wasync_op_is_prefix(b)) {
    uint32_t code;
    if (!wasync_read_u32(r, "opcode", &code)) return false;
    if (!wasync_op_lookup(b, code, &op))
      return wasync_fail(r->err, WASYNC_ERR_MALFORMED, out->offset,
                         "illegal opcode %02x %x", b, code);
  } else {
    uint16_t v = wasync_op_by_code[b];
    if (v == 0)
      return wasync_fail(r->err, WASYNC_ERR_MALFORMED, out->offset,
                         "illegal opcode %02x", b);
    op = (WasyncOp)(v - 1);
  }
  out->op = (uint16_t)op;
  const WasyncModule *m = ir->module;
  switch ((WasyncImmKind)wasync_op_info[op].imm) {
  case WASYNC_IMM_NONE: return true;
  case WASYNC_IMM_BLOCK: return wasync_read_blocktype(r, m, &out->imm.block);
  case WASYNC_IMM_LABEL:
  case WASYNC_IMM_FUNC:
  case WASYNC_IMM_TYPE:
  case WASYNC_IMM_LOCAL:
  case WASYNC_IMM_GLOBAL:
  case WASYNC_IMM_TABLE:
  case WASYNC_IMM_TAG:
  case WASYNC_IMM_ELEM:
  case WASYNC_IMM_DATA:
  case WASYNC_IMM_MEM:
    return read_idx(r, index_what[wasync_op_info[op].imm], &out->imm.index);
  case WASYNC_IMM_BR_TABLE: {
    uint32_t n;
    if (!wasync_read_count(r, "label count", 1, &n)) return false;
    if (!scratch(ir, (void **)&ir->labels, &ir->labels_cap, n,
                 sizeof *ir->labels))
      return false;
    for (uint32_t i = 0; i < n; i++)
      if (!read_idx(r, "label", &ir->labels[i])) return false;
    out->imm.br_table.count = n;
    out->imm.br_table.labels = ir->labels;
    return wasync_read_u32(r, "label", &out->imm.br_table.default_label);
  }
  case WASYNC_IMM_CALL_INDIRECT:
  case WASYNC_IMM_MEMORY_INIT:
  case WASYNC_IMM_MEMORY_COPY:
  case WASYNC_IMM_TABLE_INIT:
  case WASYNC_IMM_TABLE_COPY:
  case WASYNC_IMM_TYPE_FIELD:
  case WASYNC_IMM_TYPE_N:
  case WASYNC_IMM_TYPE_DATA:
  case WASYNC_IMM_TYPE_ELEM:
  case WASYNC_IMM_TYPE_TYPE:
    return read_pair(r, (WasyncImmKind)wasync_op_info[op].imm, out);
  case WASYNC_IMM_MEMARG: return read_memarg(r, m, &out->imm.memarg);
  case WASYNC_IMM_MEMARG_LANE:
    return read_memarg(r, m, &out->imm.memarg) &&
           wasync_read_u8(r, "lane", &out->imm.memarg.lane);
  case WASYNC_IMM_I32:
    if (r->pos < r->end && r->base[r->pos] < 0x80) {
      uint8_t v = r->base[r->pos++];
      out->imm.i32 = (v & 0x40) ? (int32_t)v - 0x80 : (int32_t)v;
      return true;
    }
    return wasync_read_s32(r, "i32 constant", &out->imm.i32);
  case WASYNC_IMM_I64: return wasync_read_s64(r, "i64 constant", &out->imm.i64);
  case WASYNC_IMM_F32: return wasync_read_f32(r, "f32 constant", &out->imm.f32);
  case WASYNC_IMM_F64: return wasync_read_f64(r, "f64 constant", &out->imm.f64);
  case WASYNC_IMM_V128:
  case WASYNC_IMM_SHUFFLE: {
    const uint8_t *p;
    if (!wasync_read_bytes(r, "v128 immediate", 16, &p)) return false;
    memcpy(out->imm.bytes16, p, 16);
    return true;
  }
  case WASYNC_IMM_LANE: return wasync_read_u8(r, "lane", &out->imm.lane);
  case WASYNC_IMM_SELECT_T: {
    uint32_t n;
    if (!wasync_read_count(r, "type count", 1, &n)) return false;
    if (!scratch(ir, (void **)&ir->types, &ir->types_cap, n, sizeof *ir->types))
      return false;
    for (uint32_t i = 0; i < n; i++)
      if (!wasync_read_valtype(r, m, &ir->types[i])) return false;
    out->imm.select.count = n;
    out->imm.select.types = ir->types;
    return true;
  }
  case WASYNC_IMM_HEAPTYPE: {
    bool nullable = op == WASYNC_OP_REF_NULL || op == WASYNC_OP_REF_TEST_NULL ||
                    op == WASYNC_OP_REF_CAST_NULL;
    return wasync_read_heaptype(r, m, nullable, &out->imm.ref);
  }
  case WASYNC_IMM_BR_ON_CAST: {
    size_t at = r->pos;
    uint8_t flags;
    if (!wasync_read_u8(r, "cast flags", &flags)) return false;
    if (flags > 3)
      return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                         "malformed cast flags");
    out->imm.br_on_cast.flags = flags;
    return wasync_read_u32(r, "label", &out->imm.br_on_cast.label) &&
           wasync_read_heaptype(r, m, flags & 1, &out->imm.br_on_cast.from) &&
           wasync_read_heaptype(r, m, (flags & 2) != 0,
                                &out->imm.br_on_cast.to);
  }
  case WASYNC_IMM_TRY_TABLE: {
    if (!wasync_read_blocktype(r, m, &out->imm.try_table.block)) return false;
    uint32_t n;
    if (!wasync_read_count(r, "catch count", 2, &n)) return false;
    if (!scratch(ir, (void **)&ir->catches, &ir->catches_cap, n,
                 sizeof *ir->catches))
      return false;
    for (uint32_t i = 0; i < n; i++) {
      WasyncCatch *c = &ir->catches[i];
      size_t at = r->pos;
      if (!wasync_read_u8(r, "catch kind", &c->kind)) return false;
      if (c->kind > 3)
        return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                           "malformed catch clause");
      c->tag = 0;
      if (c->kind == WASYNC_CATCH || c->kind == WASYNC_CATCH_REF)
        if (!wasync_read_u32(r, "tag index", &c->tag)) return false;
      if (!wasync_read_u32(r, "label", &c->label)) return false;
    }
    out->imm.try_table.count = n;
    out->imm.try_table.catches = ir->catches;
    return true;
  }
  case WASYNC_IMM_FENCE: {
    size_t at = r->pos;
    uint8_t z;
    if (!wasync_read_u8(r, "fence", &z)) return false;
    if (z != 0)
      return wasync_fail(r->err, WASYNC_ERR_MALFORMED, at,
                         "zero byte expected");
    return true;
  }
  }
  return true;
}

bool wasync_instr_decode(WasyncInstrReader *ir, WasyncInstr *out) {
  if (wasync_instr_decode_fast(ir, out)) return true;
  return decode_general(ir, out);
}

/* ---- encoding ----------------------------------------------------------- */

static void write_memarg(WasyncBuf *b, const WasyncMemArg *ma) {
  if (ma->has_memory || ma->memory != 0) {
    wasync_buf_u32(b, ma->align | 64u);
    wasync_buf_u32(b, ma->memory);
  } else {
    wasync_buf_u32(b, ma->align);
  }
  wasync_buf_u64(b, ma->offset);
}

/* The common instructions, written straight into reserved space (at most
 * 1 + 5 + 20 + 1 bytes each); false for the kinds the general path takes. */
static bool encode_fast(WasyncBuf *b, const WasyncInstr *in,
                        const WasyncOpInfo *info) {
  switch ((WasyncImmKind)info->imm) {
  case WASYNC_IMM_NONE:
  case WASYNC_IMM_LABEL:
  case WASYNC_IMM_FUNC:
  case WASYNC_IMM_TYPE:
  case WASYNC_IMM_LOCAL:
  case WASYNC_IMM_GLOBAL:
  case WASYNC_IMM_TABLE:
  case WASYNC_IMM_MEM:
  case WASYNC_IMM_CALL_INDIRECT:
  case WASYNC_IMM_MEMARG:
  case WASYNC_IMM_I32:
  case WASYNC_IMM_I64:
  case WASYNC_IMM_F32:
  case WASYNC_IMM_F64: break;
  default: return false;
  }
  if (!wasync_buf_reserve(b, 32)) return true; /* oom: dropped */
  uint8_t *p = b->data + b->size;
  if (info->prefix) {
    *p++ = info->prefix;
    p = wasync_leb_put_u(p, info->code);
  } else {
    *p++ = (uint8_t)info->code;
  }
  switch ((WasyncImmKind)info->imm) {
  case WASYNC_IMM_NONE: break;
  case WASYNC_IMM_CALL_INDIRECT:
    p = wasync_leb_put_u(p, in->imm.pair.a);
    p = wasync_leb_put_u(p, in->imm.pair.b);
    break;
  case WASYNC_IMM_MEMARG: {
    const WasyncMemArg *ma = &in->imm.memarg;
    if (ma->has_memory || ma->memory != 0) {
      p = wasync_leb_put_u(p, ma->align | 64u);
      p = wasync_leb_put_u(p, ma->memory);
    } else {
      p = wasync_leb_put_u(p, ma->align);
    }
    p = wasync_leb_put_u(p, ma->offset);
    break;
  }
  case WASYNC_IMM_I32: p = wasync_leb_put_s(p, in->imm.i32); break;
  case WASYNC_IMM_I64: p = wasync_leb_put_s(p, in->imm.i64); break;
  case WASYNC_IMM_F32:
    for (int i = 0; i < 4; i++)
      *p++ = (uint8_t)(in->imm.f32 >> (8 * i));
    break;
  case WASYNC_IMM_F64:
    for (int i = 0; i < 8; i++)
      *p++ = (uint8_t)(in->imm.f64 >> (8 * i));
    break;
  default: p = wasync_leb_put_u(p, in->imm.index); break;
  }
  b->size = (size_t)(p - b->data);
  return true;
}

void wasync_instr_encode(WasyncBuf *b, const WasyncInstr *in) {
  const WasyncOpInfo *info = &wasync_op_info[in->op];
  if (encode_fast(b, in, info)) return;
  wasync_buf_byte(b, info->prefix ? info->prefix : (uint8_t)info->code);
  if (info->prefix) wasync_buf_u32(b, info->code);
  switch ((WasyncImmKind)info->imm) {
  case WASYNC_IMM_NONE: break;
  case WASYNC_IMM_BLOCK: wasync_write_blocktype(b, &in->imm.block); break;
  case WASYNC_IMM_LABEL:
  case WASYNC_IMM_FUNC:
  case WASYNC_IMM_TYPE:
  case WASYNC_IMM_LOCAL:
  case WASYNC_IMM_GLOBAL:
  case WASYNC_IMM_TABLE:
  case WASYNC_IMM_TAG:
  case WASYNC_IMM_ELEM:
  case WASYNC_IMM_DATA:
  case WASYNC_IMM_MEM: wasync_buf_u32(b, in->imm.index); break;
  case WASYNC_IMM_BR_TABLE: {
    uint32_t n = in->imm.br_table.count;
    if (!wasync_buf_reserve(b, ((size_t)n + 2) * 5)) break;
    uint8_t *p = wasync_leb_put_u(b->data + b->size, n);
    for (uint32_t i = 0; i < n; i++)
      p = wasync_leb_put_u(p, in->imm.br_table.labels[i]);
    p = wasync_leb_put_u(p, in->imm.br_table.default_label);
    b->size = (size_t)(p - b->data);
    break;
  }
  case WASYNC_IMM_CALL_INDIRECT:
  case WASYNC_IMM_MEMORY_INIT:
  case WASYNC_IMM_MEMORY_COPY:
  case WASYNC_IMM_TABLE_INIT:
  case WASYNC_IMM_TABLE_COPY:
  case WASYNC_IMM_TYPE_FIELD:
  case WASYNC_IMM_TYPE_N:
  case WASYNC_IMM_TYPE_DATA:
  case WASYNC_IMM_TYPE_ELEM:
  case WASYNC_IMM_TYPE_TYPE:
    wasync_buf_u32(b, in->imm.pair.a);
    wasync_buf_u32(b, in->imm.pair.b);
    break;
  case WASYNC_IMM_MEMARG: write_memarg(b, &in->imm.memarg); break;
  case WASYNC_IMM_MEMARG_LANE:
    write_memarg(b, &in->imm.memarg);
    wasync_buf_byte(b, in->imm.memarg.lane);
    break;
  case WASYNC_IMM_I32: wasync_buf_s32(b, in->imm.i32); break;
  case WASYNC_IMM_I64: wasync_buf_s64(b, in->imm.i64); break;
  case WASYNC_IMM_F32: wasync_buf_f32(b, in->imm.f32); break;
  case WASYNC_IMM_F64: wasync_buf_f64(b, in->imm.f64); break;
  case WASYNC_IMM_V128:
  case WASYNC_IMM_SHUFFLE: wasync_buf_bytes(b, in->imm.bytes16, 16); break;
  case WASYNC_IMM_LANE: wasync_buf_byte(b, in->imm.lane); break;
  case WASYNC_IMM_SELECT_T:
    wasync_buf_u32(b, in->imm.select.count);
    for (uint32_t i = 0; i < in->imm.select.count; i++)
      wasync_write_valtype(b, in->imm.select.types[i]);
    break;
  case WASYNC_IMM_HEAPTYPE: wasync_write_heaptype(b, in->imm.ref); break;
  case WASYNC_IMM_BR_ON_CAST:
    wasync_buf_byte(b, in->imm.br_on_cast.flags);
    wasync_buf_u32(b, in->imm.br_on_cast.label);
    wasync_write_heaptype(b, in->imm.br_on_cast.from);
    wasync_write_heaptype(b, in->imm.br_on_cast.to);
    break;
  case WASYNC_IMM_TRY_TABLE:
    wasync_write_blocktype(b, &in->imm.try_table.block);
    wasync_buf_u32(b, in->imm.try_table.count);
    for (uint32_t i = 0; i < in->imm.try_table.count; i++) {
      const WasyncCatch *c = &in->imm.try_table.catches[i];
      wasync_buf_byte(b, c->kind);
      if (c->kind == WASYNC_CATCH || c->kind == WASYNC_CATCH_REF)
        wasync_buf_u32(b, c->tag);
      wasync_buf_u32(b, c->label);
    }
    break;
  case WASYNC_IMM_FENCE: wasync_buf_byte(b, 0); break;
  }
}

/* ---- decode + encode in one loop ---------------------------------------- */

void wasync_instrs_copy_minimal(WasyncInstrReader *ir, WasyncBuf *out) {
  WasyncReader *r = &ir->r;
  const uint8_t *base = r->base;
  size_t end = r->end;
  for (;;) {
    if (r->pos >= end || !wasync_buf_reserve(out, 64)) return;
    size_t pos = r->pos, o = out->size, room = out->cap - 32;
    uint8_t *d = out->data;
    while (pos < end && o < room) {
      const uint8_t *p = base + pos;
      size_t left = end - pos, n = wasync_fast_size(p, left, true);
      if (n == 0) break;
      if (left >= 16) { /* one fixed-size move (n <= 10; room has 32) */
        memcpy(d + o, p, 16);
      } else {
        for (size_t i = 0; i < n; i++)
          d[o + i] = p[i];
      }
      o += n;
      pos += n;
    }
    out->size = o;
    r->pos = pos;
    if (o < room) return; /* stopped at an instruction the caller decodes */
  }
}

bool wasync_instrs_reencode(WasyncInstrReader *ir, WasyncBuf *out) {
  WasyncInstr in;
  for (;;) {
    wasync_instrs_copy_minimal(ir, out);
    if (ir->r.pos >= ir->r.end || out->oom) return true;
    if (!wasync_instr_decode(ir, &in)) return false;
    wasync_instr_encode(out, &in);
  }
}
