/*
 * decode_code.c -- the code section and expression scanning.
 *
 * Function bodies are not materialised: the decoder records each body's
 * bytes and local declarations, then *scans* its instructions once with
 * wasync_instr_decode() (no allocation per instruction; br_table labels and
 * the like go to the shared reader's scratch arrays) to the final `end`,
 * tracking only block nesting depth.  That rejects illegal opcodes, bad
 * immediates and bodies that run past their size at decode time, which is
 * where the spec puts those errors.  Constant expressions are scanned the
 * same way and kept as raw bytes.
 *
 * With the defer_body_checks option (used when validation follows, as in
 * the CLI) the body scan is skipped: the validator decodes every
 * instruction anyway and makes the same checks; only the error order
 * differs, so on any failure wasync_module_validate() (and, if the rest
 * of the module is malformed, wasync_module_decode()) decodes the module
 * again in full and a decode error found that way wins.
 */
#include "decode.h"

#include "fastpath.h"

/* Scans instructions from r->pos until the `end` closing nesting level 0.
 * `body_end` is the limit; running out of bytes there is an error. */
static bool scan_instrs(WasyncDecoder *d, WasyncReader *r, bool is_body) {
  WasyncInstrReader *ir = &d->ir;
  ir->r.base = r->base;
  ir->r.pos = r->pos;
  ir->r.end = r->end;
  ir->r.err = d->err;
  ir->module = d->m;
  uint32_t depth = 0;
  WasyncInstr in;
  for (;;) {
    if (ir->r.pos >= ir->r.end) {
      r->pos = ir->r.pos;
      /* The reference interpreter reads on past the body: a following
       * 0x0B byte ends it (then the size is wrong), anything else is not
       * the END it expects. */
      if (is_body && ir->r.end < d->size)
        return wasync_fail(d->err, WASYNC_ERR_MALFORMED, ir->r.pos, "%s",
                           d->bytes[ir->r.end] == 0x0B ? "section size mismatch"
                                                       : "END opcode expected");
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, ir->r.pos,
                         "unexpected end of section or function");
    }
    {
      /* Plainly well-formed instructions inline (fastpath.h), counting
       * block starts and ends. */
      const uint8_t *base = ir->r.base;
      size_t pos = ir->r.pos, end = ir->r.end, quick;
      for (;;) {
        const uint8_t *p = base + pos;
        if ((quick = wasync_fast_size(p, end - pos, false)) == 0) break;
        uint8_t shape = wasync_op_shape[p[0]];
        if (shape == WASYNC_SHAPE_BLOCK) {
          depth++;
        } else if (shape == WASYNC_SHAPE_END) {
          if (depth == 0) {
            r->pos = ir->r.pos = pos + 1;
            return true;
          }
          depth--;
        }
        pos += quick;
        if (pos >= end) break;
      }
      ir->r.pos = pos;
      if (quick) continue; /* ran to the end: reported above */
    }
    if (!wasync_instr_decode(ir, &in)) {
      r->pos = ir->r.pos;
      return false;
    }
    switch (in.op) {
    case WASYNC_OP_BLOCK:
    case WASYNC_OP_LOOP:
    case WASYNC_OP_IF:
    case WASYNC_OP_TRY:
    case WASYNC_OP_TRY_TABLE: depth++; break;
    case WASYNC_OP_DELEGATE:
      if (depth > 0) depth--; /* closes a try (else: the validator's) */
      break;
    case WASYNC_OP_END:
      if (depth == 0) {
        r->pos = ir->r.pos;
        return true;
      }
      depth--;
      break;
    case WASYNC_OP_MEMORY_INIT:
    case WASYNC_OP_DATA_DROP:
    case WASYNC_OP_ARRAY_NEW_DATA:
    case WASYNC_OP_ARRAY_INIT_DATA: /* a data index in code needs section 12 */
      if (!d->m->has_datacount)
        return wasync_fail(d->err, WASYNC_ERR_MALFORMED, in.offset,
                           "data count section required");
      break;
    default: break;
    }
  }
}

bool wasync_decode_expr(WasyncDecoder *d, WasyncReader *r, WasyncExpr *out) {
  size_t start = r->pos;
  /* The commonest expression (data and element offsets), `i32.const n
   * end` with a short n, in one step; anything else is scanned. */
  const uint8_t *p = r->base + start;
  size_t left = r->end - start, n;
  if (left >= 3 && p[0] == 0x41 &&
      (n = wasync_leb_short_len(p + 1, left - 1, 4)) != 0 && n + 1 < left &&
      p[n + 1] == 0x0B) {
    r->pos = start + n + 2;
  } else if (!scan_instrs(d, r, false)) {
    return false;
  }
  out->bytes = r->base + start;
  out->size = (uint32_t)(r->pos - start);
  out->offset = start;
  return true;
}

static bool decode_locals(WasyncDecoder *d, WasyncReader *r, WasyncCode *c) {
  size_t at = r->pos;
  uint32_t ngroups;
  if (!wasync_read_count(r, "local group count", 2, &ngroups)) return false;
  c->nlocal_groups = ngroups;
  c->local_groups = NULL;
  if (ngroups) {
    c->local_groups = wasync_dec_array(d, ngroups, sizeof *c->local_groups, at);
    if (!c->local_groups) return false;
  }
  uint64_t total = 0;
  for (uint32_t i = 0; i < ngroups; i++) {
    size_t gat = r->pos;
    WasyncLocalGroup *g = &c->local_groups[i];
    if (!wasync_read_u32(r, "local count", &g->count)) return false;
    total += g->count;
    if (total > UINT32_MAX)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, gat, "too many locals");
    if (!wasync_read_valtype(r, d->m, &g->type)) return false;
  }
  /* The spec's limit (2^32 - 1) first, then V8's. */
  if (total > WASYNC_MAX_LOCALS)
    return wasync_fail(d->err, WASYNC_ERR_LIMIT, at,
                       "too many locals (%llu > %u)", (unsigned long long)total,
                       WASYNC_MAX_LOCALS);
  c->nlocals = total;
  return true;
}

static bool decode_code(WasyncDecoder *d, WasyncReader *r, WasyncCode *c) {
  size_t at = r->pos;
  uint32_t size;
  if (!wasync_read_u32(r, "body size", &size)) return false;
  if (size > r->end - r->pos)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                       "unexpected end of section or function");
  if (!wasync_dec_limit(d, size, WASYNC_MAX_BODY_SIZE, "function body size",
                        at))
    return false;
  WasyncReader body = {r->base, r->pos, r->pos + size, d->err};
  if (d->lenient_bounds) body.end = r->end;
  c->body = r->base + r->pos;
  c->size = size;
  c->offset = r->pos;
  c->replaced = false;
  if (!decode_locals(d, &body, c)) {
    r->pos = body.pos;
    return false;
  }
  c->expr_start = (uint32_t)(body.pos - c->offset);
  if (d->defer_bodies) { /* the validator's (see wasync.h) */
    r->pos = body.end;
    return true;
  }
  if (!scan_instrs(d, &body, true)) return false;
  if (body.pos != body.end)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, body.pos,
                       "section size mismatch");
  r->pos = body.end;
  return true;
}

bool wasync_decode_code_section(WasyncDecoder *d, WasyncReader *r) {
  WasyncModule *m = d->m;
  size_t at = r->pos;
  uint32_t n;
  if (!wasync_read_count(r, "function count", 1, &n)) return false;
  (void)at;
  /* A count that disagrees with the function section is reported after
   * the last section (section order errors come first); surplus bodies
   * are still checked. */
  if (n != d->nfunc_decls) d->code_count_mismatch = true;
  WasyncCode extra;
  for (uint32_t i = 0; i < n; i++) {
    WasyncCode *c =
        i < d->nfunc_decls ? &m->funcs[m->nfunc_imports + i].code : &extra;
    if (!decode_code(d, r, c)) {
      wasync_error_context(d->err, "in function %u", m->nfunc_imports + i);
      return false;
    }
  }
  d->has_code_section = true;
  return true;
}
