/*
 * asyncify_names.c -- names for the functions the pass adds.
 *
 * The pass appends functions to the module: the five runtime functions
 * (asyncify_start_unwind ...), the shared frame functions (push, pop, one
 * save/restore pair per frame shape) and, for the split rewind path, two
 * copies of a function.  Tools that read the "name" custom section give an
 * unnamed function a default name -- Binaryen uses its index -- and such a
 * default can collide with a name the section already holds (Binaryen's
 * own output names unnamed functions by their index at the time, which
 * later passes shift): Binaryen then aborts ("Module::addFunction: 31
 * already exists").  So every added function gets a name here: the pass
 * records a base name as it adds a function (wasync_asyncify_name), and at
 * the end (wasync_asyncify_write_names) each base is made unique against
 * every name in the module by a numeric suffix, and the section's function
 * names subsection (id 1) is rewritten with the old names plus the new
 * ones.  The other subsections (module name, local names, ...) are kept
 * byte for byte; a module without a name section gets one holding only the
 * added functions.  A name section the pass had to drop (the asyncify.*
 * imports were removed, which shifts every function index) stays dropped
 * except for the added names.
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"
#include "buf.h"
#include "reader.h"

bool wasync_asyncify_name(WasyncAsyncifyCtx *c, uint32_t f, const char *base,
                          const char *suffix) {
  WasyncModule *m = c->m;
  if (f < c->nfuncs_before) return true;
  uint32_t k = f - c->nfuncs_before;
  if (k >= c->added_cap) {
    uint32_t cap = c->added_cap ? c->added_cap * 2 : 64;
    while (cap <= k)
      cap *= 2;
    char **n = wasync_arena_array(&m->arena, cap, sizeof *n);
    if (!n) return false;
    if (c->added_cap) memcpy(n, c->added_names, c->added_cap * sizeof *n);
    c->added_names = n;
    c->added_cap = cap;
  }
  size_t bl = strlen(base), sl = suffix ? strlen(suffix) : 0;
  char *s = wasync_arena_alloc(&m->arena, bl + sl + 1);
  if (!s) return false;
  memcpy(s, base, bl);
  if (sl) memcpy(s + bl, suffix, sl);
  s[bl + sl] = '\0';
  c->added_names[k] = s;
  return true;
}

/* NAME$rewind / NAME$fast for the split rewind path's copies of func. */
bool wasync_asyncify_name_copies(WasyncAsyncifyCtx *c, uint32_t func,
                                 uint32_t rewind, uint32_t fast) {
  const WasyncName *names = wasync_module_func_names(c->m);
  char base[256];
  if (names && names[func].bytes && names[func].len < sizeof base) {
    memcpy(base, names[func].bytes, names[func].len);
    base[names[func].len] = '\0';
  } else {
    snprintf(base, sizeof base, "__asyncify_func%u", func);
  }
  return wasync_asyncify_name(c, rewind, base, "$rewind") &&
         wasync_asyncify_name(c, fast, base, "$fast");
}

/* ---- a set of names (open addressing, FNV-1a) ---------------------------- */

typedef struct {
  const uint8_t **bytes;
  uint32_t *lens;
  uint32_t cap; /* a power of two */
} NameSet;

static uint32_t fnv(const uint8_t *p, uint32_t n) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* true if present; inserts when `add` */
static bool set_has(NameSet *s, const uint8_t *p, uint32_t n, bool add) {
  for (uint32_t i = fnv(p, n) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
    if (!s->bytes[i]) {
      if (add) {
        s->bytes[i] = p;
        s->lens[i] = n;
      }
      return false;
    }
    if (s->lens[i] == n && memcmp(s->bytes[i], p, n) == 0) return true;
  }
}

/* ---- writing the section --------------------------------------------------
 */

static bool is_name_section(const WasyncCustom *cs) {
  return cs->name.len == 4 && memcmp(cs->name.bytes, "name", 4) == 0;
}

bool wasync_asyncify_write_names(WasyncAsyncifyCtx *c) {
  WasyncModule *m = c->m;
  uint32_t nf = m->nfuncs, first = nf - c->nadded;
  if (c->nadded == 0) return true;
  const WasyncName *old = wasync_module_func_names(m);
  /* The name section in force (not dropped), if any. */
  WasyncCustom *sec = NULL;
  for (uint32_t i = 0; i < m->nsections && !sec; i++)
    if (m->sections[i].id == WASYNC_SEC_CUSTOM &&
        m->sections[i].custom < m->ncustoms &&
        is_name_section(&m->customs[m->sections[i].custom]))
      sec = &m->customs[m->sections[i].custom];
  if (!sec) old = NULL;

  NameSet set;
  set.cap = 64;
  while (set.cap < 2 * nf + 2)
    set.cap *= 2;
  set.bytes = wasync_arena_array(&m->arena, set.cap, sizeof *set.bytes);
  set.lens = wasync_arena_array(&m->arena, set.cap, sizeof *set.lens);
  WasyncName *names = wasync_arena_array(&m->arena, nf, sizeof *names);
  if (!set.bytes || !set.lens || !names) return false;
  for (uint32_t f = 0; f < first; f++)
    if (old && old[f].bytes) {
      names[f] = old[f];
      set_has(&set, old[f].bytes, old[f].len, true);
    }
  for (uint32_t f = first; f < nf; f++) {
    const char *base = f - first < c->added_cap && c->added_names[f - first]
                           ? c->added_names[f - first]
                           : NULL;
    char fallback[32];
    if (!base) { /* an export name, else a generic one */
      for (uint32_t e = 0; e < m->nexports && !base; e++)
        if (m->exports[e].kind == WASYNC_EXTERN_FUNC &&
            m->exports[e].index == f && m->exports[e].name.len < 200) {
          char *s = wasync_arena_alloc(&m->arena, m->exports[e].name.len + 1);
          if (!s) return false;
          memcpy(s, m->exports[e].name.bytes, m->exports[e].name.len);
          s[m->exports[e].name.len] = '\0';
          base = s;
        }
      if (!base) {
        snprintf(fallback, sizeof fallback, "__asyncify_fn");
        base = fallback;
      }
    }
    size_t bl = strlen(base);
    char *s = wasync_arena_alloc(&m->arena, bl + 12);
    if (!s) return false;
    memcpy(s, base, bl + 1);
    for (uint32_t k = 1;
         set_has(&set, (const uint8_t *)s, (uint32_t)strlen(s), false); k++)
      snprintf(s + bl, 12, "_%u", k);
    names[f].bytes = (const uint8_t *)s;
    names[f].len = (uint32_t)strlen(s);
    set_has(&set, names[f].bytes, names[f].len, true);
  }

  /* The new payload: subsection 0 as it was, 1 from names[], the rest as
   * they were (subsections stand in id order). */
  WasyncBuf b, sub;
  wasync_buf_init(&b, m->arena.allocator);
  wasync_buf_init(&sub, m->arena.allocator);
  uint32_t count = 0;
  for (uint32_t f = 0; f < nf; f++)
    if (names[f].bytes) count++;
  wasync_buf_u32(&sub, count);
  for (uint32_t f = 0; f < nf; f++)
    if (names[f].bytes) {
      wasync_buf_u32(&sub, f);
      wasync_buf_name(&sub, names[f].bytes, names[f].len);
    }
  bool wrote = false;
  if (sec) {
    WasyncError err;
    memset(&err, 0, sizeof err);
    WasyncReader r = {sec->payload, 0, sec->size, &err};
    while (r.pos < r.end) {
      size_t start = r.pos;
      uint8_t id;
      uint32_t size;
      if (!wasync_read_u8(&r, "subsection id", &id) ||
          !wasync_read_u32(&r, "subsection size", &size) ||
          size > r.end - r.pos)
        break; /* a malformed tail is dropped */
      if (id >= 1 && !wrote) {
        wasync_buf_byte(&b, 1);
        wasync_buf_u32(&b, (uint32_t)sub.size);
        wasync_buf_bytes(&b, sub.data, sub.size);
        wrote = true;
      }
      if (id != 1)
        wasync_buf_bytes(&b, sec->payload + start, r.pos - start + size);
      r.pos += size;
    }
  }
  if (!wrote) {
    wasync_buf_byte(&b, 1);
    wasync_buf_u32(&b, (uint32_t)sub.size);
    wasync_buf_bytes(&b, sub.data, sub.size);
  }
  bool ok = !b.oom && !sub.oom;
  uint8_t *payload = ok ? wasync_arena_alloc(&m->arena, b.size) : NULL;
  if (payload) memcpy(payload, b.data, b.size);
  size_t size = b.size;
  wasync_buf_release(&b);
  wasync_buf_release(&sub);
  if (!payload) return false;
  if (!sec) { /* a new custom section at the end */
    WasyncCustom *customs =
        wasync_arena_array(&m->arena, m->ncustoms + 1, sizeof *customs);
    WasyncSection *sections =
        wasync_arena_array(&m->arena, m->nsections + 1, sizeof *sections);
    if (!customs || !sections) return false;
    if (m->ncustoms) memcpy(customs, m->customs, m->ncustoms * sizeof *customs);
    if (m->nsections)
      memcpy(sections, m->sections, m->nsections * sizeof *sections);
    sec = &customs[m->ncustoms];
    memset(sec, 0, sizeof *sec);
    sec->name.bytes = (const uint8_t *)"name";
    sec->name.len = 4;
    WasyncSection *s = &sections[m->nsections];
    memset(s, 0, sizeof *s);
    s->id = WASYNC_SEC_CUSTOM;
    s->custom = m->ncustoms;
    s->payload_offset = 1;
    m->customs = customs;
    m->sections = sections;
    m->ncustoms++;
    m->nsections++;
  }
  sec->payload = payload;
  sec->size = (uint32_t)size;
  m->func_names = names;
  m->func_names_done = true;
  return true;
}
