/*
 * decode.c -- wasync_module_decode(): the module header and the section
 * loop.
 *
 * The module is read front to back once.  Each section's id and size are
 * read, the payload is handed to that section's decoder with a reader
 * bounded by the section, and the decoder must consume the payload exactly
 * ("section size mismatch").  Non-custom sections must appear at most once
 * and in the spec's order (type import function table memory tag global
 * export start elem datacount code data); anything else is "unexpected
 * content after last section".  Every section, custom or not, is recorded
 * in m->sections[] in input order, so the encoder can write them back in
 * the same order with custom sections where they stood.
 *
 * All memory comes from the module's arena; a failed decode frees the
 * arena and nothing else needs cleaning.  Errors carry the absolute offset
 * and the spec's wording.  Reads that run into the end of a section's
 * payload report "unexpected end of section or function" like the
 * reference interpreter; running off the end of the file itself is
 * "unexpected end".
 */
#include "decode.h"
#include "parallel.h"

#include <stdio.h>
#include <string.h>

void *wasync_dec_array(WasyncDecoder *d, size_t count, size_t size,
                       uint64_t offset) {
  void *p = wasync_arena_array(&d->m->arena, count, size);
  if (!p) wasync_fail(d->err, WASYNC_ERR_NOMEM, offset, "out of memory");
  return p;
}

bool wasync_dec_grow(WasyncDecoder *d, void **arr, size_t n, size_t new_n,
                     size_t size, uint64_t offset) {
  void *p = wasync_dec_array(d, new_n, size, offset);
  if (!p) return false;
  if (n && *arr) memcpy(p, *arr, n * size);
  *arr = p;
  return true;
}

bool wasync_dec_limit(WasyncDecoder *d, uint64_t count, uint64_t max,
                      const char *what, uint64_t offset) {
  if (count <= max) return true;
  return wasync_fail(d->err, WASYNC_ERR_LIMIT, offset,
                     "too many %s (%llu > %llu)", what,
                     (unsigned long long)count, (unsigned long long)max);
}

/* Position of each section id in the required order (custom: 0). */
static int section_rank(uint8_t id) {
  static const int8_t rank[14] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 11, 6};
  return id < 14 ? rank[id] : -1;
}

static bool record_section(WasyncDecoder *d, uint8_t id, uint64_t offset,
                           uint64_t payload, uint64_t size) {
  WasyncModule *m = d->m;
  if (m->nsections == d->sections_cap) {
    uint32_t cap = d->sections_cap ? d->sections_cap * 2 : 16;
    if (!wasync_dec_grow(d, (void **)&m->sections, m->nsections, cap,
                         sizeof *m->sections, offset))
      return false;
    d->sections_cap = cap;
  }
  WasyncSection *s = &m->sections[m->nsections++];
  s->id = id;
  s->custom = UINT32_MAX;
  s->offset = offset;
  s->payload_offset = payload;
  s->size = size;
  return true;
}

static bool decode_custom_section(WasyncDecoder *d, WasyncReader *r,
                                  uint64_t offset) {
  WasyncModule *m = d->m;
  if (m->ncustoms == d->customs_cap) {
    uint32_t cap = d->customs_cap ? d->customs_cap * 2 : 8;
    if (!wasync_dec_grow(d, (void **)&m->customs, m->ncustoms, cap,
                         sizeof *m->customs, offset))
      return false;
    d->customs_cap = cap;
  }
  WasyncCustom *c = &m->customs[m->ncustoms];
  if (!wasync_read_name(r, "custom section name", &c->name.bytes, &c->name.len))
    return false;
  c->payload = r->base + r->pos;
  c->size = (uint32_t)(r->end - r->pos);
  c->offset = offset;
  r->pos = r->end;
  m->sections[m->nsections - 1].custom = m->ncustoms++;
  return true;
}

static bool decode_section_payload(WasyncDecoder *d, uint8_t id,
                                   WasyncReader *r) {
  switch (id) {
  case WASYNC_SEC_TYPE: return wasync_decode_type_section(d, r);
  case WASYNC_SEC_IMPORT: return wasync_decode_import_section(d, r);
  case WASYNC_SEC_FUNCTION: return wasync_decode_function_section(d, r);
  case WASYNC_SEC_TABLE: return wasync_decode_table_section(d, r);
  case WASYNC_SEC_MEMORY: return wasync_decode_memory_section(d, r);
  case WASYNC_SEC_GLOBAL: return wasync_decode_global_section(d, r);
  case WASYNC_SEC_EXPORT: return wasync_decode_export_section(d, r);
  case WASYNC_SEC_START: return wasync_decode_start_section(d, r);
  case WASYNC_SEC_ELEM: return wasync_decode_elem_section(d, r);
  case WASYNC_SEC_CODE: return wasync_decode_code_section(d, r);
  case WASYNC_SEC_DATA: return wasync_decode_data_section(d, r);
  case WASYNC_SEC_DATACOUNT: return wasync_decode_datacount_section(d, r);
  case WASYNC_SEC_TAG: return wasync_decode_tag_section(d, r);
  default: return false;
  }
}

/* A read ran into the end of a section (or function body).  The reference
 * interpreter reads on into the following bytes and only then notices the
 * size, so for an integer that straddles the boundary it reports what is
 * wrong with the integer.  To give the same message, the section is read
 * again with its bounds lifted to the end of the module; an integer or
 * length error found that way replaces "unexpected end".  (Only on this
 * error path; the model is discarded anyway.) */
static void reread_past_end(WasyncDecoder *d, uint8_t id, size_t section_at,
                            size_t payload_at) {
  WasyncError saved = *d->err;
  memset(d->err, 0, sizeof *d->err);
  WasyncReader s = {d->bytes, payload_at, d->size, d->err};
  d->lenient_bounds = true;
  bool ok = decode_section_payload(d, id, &s);
  d->lenient_bounds = false;
  (void)section_at;
  if (ok || d->err->code != WASYNC_ERR_MALFORMED ||
      d->err->offset < saved.offset ||
      (!wasync_error_is(d->err, "integer too large") &&
       !wasync_error_is(d->err, "integer representation too long") &&
       !wasync_error_is(d->err, "length out of bounds")))
    *d->err = saved;
}

/* "unexpected end" becomes the spec's words for a cut at a section or
 * body boundary; the context after it is kept. */
static void reword_end_at_boundary(WasyncError *err) {
  static const char end[] = "unexpected end",
                    cut[] = "unexpected end of section or function";
  char *msg = err->message;
  size_t n = strlen(msg), grow = strlen(cut) - strlen(end);
  if (n + grow >= sizeof err->message) n = strlen(end), msg[n] = '\0';
  memmove(msg + strlen(cut), msg + strlen(end), n - strlen(end) + 1);
  memcpy(msg, cut, strlen(cut));
}

static bool decode_header(WasyncDecoder *d, WasyncReader *r) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6D};
  static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
  const uint8_t *p;
  if (r->end < 4)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, r->end, "unexpected end");
  if (!wasync_read_bytes(r, "magic", 4, &p)) return false;
  if (memcmp(p, magic, 4) != 0)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, 0,
                       "magic header not detected");
  if (r->end - r->pos < 4)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, r->end, "unexpected end");
  if (!wasync_read_bytes(r, "version", 4, &p)) return false;
  if (memcmp(p, version, 4) != 0)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, 4,
                       "unknown binary version");
  return true;
}

static bool decode_module(WasyncDecoder *d) {
  WasyncModule *m = d->m;
  WasyncReader r = {d->bytes, 0, d->size, d->err};
  if (!decode_header(d, &r)) return false;
  int last_rank = 0;
  while (r.pos < r.end) {
    size_t at = r.pos;
    uint8_t id = r.base[r.pos++];
    int rank = section_rank(id);
    if (rank < 0)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                         "malformed section id");
    uint32_t size;
    size_t size_at = r.pos;
    if (!wasync_read_u32(&r, "section size", &size)) return false;
    if (size > r.end - r.pos)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, size_at,
                         "length out of bounds");
    if (rank != 0) {
      if (rank <= last_rank)
        return wasync_fail(d->err, WASYNC_ERR_MALFORMED, at,
                           "unexpected content after last section");
      last_rank = rank;
    }
    if (!record_section(d, id, at, r.pos, size)) return false;
    WasyncReader s = {r.base, r.pos, r.pos + size, d->err};
    bool ok = id == WASYNC_SEC_CUSTOM ? decode_custom_section(d, &s, at)
                                      : decode_section_payload(d, id, &s);
    if (!ok) {
      if (id != WASYNC_SEC_CUSTOM && d->err->code == WASYNC_ERR_MALFORMED) {
        if (wasync_error_is(d->err, "unexpected end")) {
          reword_end_at_boundary(d->err);
          reread_past_end(d, id, at, r.pos);
        } else if (wasync_error_is(d->err, "integer representation too long")) {
          /* a u32-in-u64 field cut by the boundary (see reader.h) */
          reread_past_end(d, id, at, r.pos);
        }
      }
      return false;
    }
    if (s.pos != s.end)
      return wasync_fail(d->err, WASYNC_ERR_MALFORMED, s.pos,
                         "section size mismatch");
    r.pos = s.end;
  }
  if (d->code_count_mismatch ||
      (d->has_func_section && d->nfunc_decls && !d->has_code_section))
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, r.pos,
                       "function and code section have inconsistent lengths");
  if (m->has_datacount && !d->has_data_section && m->datacount != 0)
    return wasync_fail(d->err, WASYNC_ERR_MALFORMED, r.pos,
                       "data count and data section have inconsistent "
                       "lengths");
  return true;
}

WasyncModule *wasync_module_decode(const uint8_t *bytes, size_t size,
                                   const WasyncDecodeOptions *options,
                                   WasyncError *err) {
  WasyncError local_err;
  if (!err) err = &local_err;
  memset(err, 0, sizeof *err);
  const WasyncAllocator *a = options && options->allocator
                                 ? options->allocator
                                 : wasync_default_allocator();
  if (!bytes && size) {
    wasync_fail(err, WASYNC_ERR_ARGUMENT, 0, "no input");
    return NULL;
  }
  WasyncArena arena;
  wasync_arena_init(&arena, a);
  WasyncModule *m = wasync_arena_alloc(&arena, sizeof *m);
  if (!m) {
    wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    return NULL;
  }
  m->arena = arena;
  const uint8_t *caller_bytes = bytes;
  if (options && options->copy_input && size) {
    uint8_t *copy = wasync_arena_alloc(&m->arena, size);
    if (!copy) {
      wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
      WasyncArena tmp = m->arena;
      wasync_arena_free(&tmp);
      return NULL;
    }
    memcpy(copy, bytes, size);
    bytes = copy;
  }
  m->bytes = bytes;
  m->size = size;
  WasyncDecoder d;
  memset(&d, 0, sizeof d);
  d.m = m;
  d.err = err;
  d.bytes = bytes;
  d.size = size;
  d.defer_bodies = options && options->defer_body_checks;
  wasync_instr_reader_init(&d.ir, m, bytes, 0, size, err);
  bool ok = decode_module(&d);
  wasync_instr_reader_release(&d.ir);
  if (ok) ok = wasync_encode_note_sections(m, err);
  if (!ok) {
    WasyncArena tmp = m->arena;
    wasync_arena_free(&tmp);
    if (d.defer_bodies && err->code != WASYNC_ERR_NOMEM) {
      /* An unscanned body may hold an earlier error: decode fully. */
      WasyncDecodeOptions full = *options;
      full.defer_body_checks = false;
      full.copy_input = false; /* only for this check */
      WasyncModule *again =
          wasync_module_decode(caller_bytes, size, &full, err);
      if (again) { /* cannot happen: a full decode checks more */
        wasync_module_free(again);
        wasync_fail(err, WASYNC_ERR_MALFORMED, 0, "internal decode mismatch");
      }
    }
    return NULL;
  }
  m->bodies_unchecked = d.defer_bodies;
  m->threads = options ? options->threads : 0;
  m->reencode_in_validate = options && options->reencode_in_validate;
  m->thread_min_bytes = options && options->thread_min_bytes
                            ? options->thread_min_bytes
                            : WASYNC_THREAD_MIN_BYTES;
  return m;
}

void wasync_module_free(WasyncModule *m) {
  if (!m) return;
  const WasyncAllocator *a = m->arena.allocator;
  for (unsigned i = 0; i < WASYNC_MAX_CHUNKS; i++)
    if (m->reencoded_bufs[i]) a->free(a->ctx, m->reencoded_bufs[i]);
  WasyncArena tmp = m->arena; /* m itself lives in the arena */
  wasync_arena_free(&tmp);
}
