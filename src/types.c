/*
 * types.c -- the type machinery: subtyping, iso-recursive equivalence, and
 * the validity of the type section.
 *
 * Idea.  With GC, two type indices denote the same type when their
 * recursion groups are structurally identical: same number of types, and
 * type by type the same composite form, finality, supertype and field or
 * parameter types, where a reference *into* the group is compared by its
 * position in the group and a reference *out of* the group by equivalence of
 * the referenced (earlier) type.  Since a group can only refer to itself and
 * to earlier groups, equivalence can be decided once per module, group by
 * group in index order: each group is hashed (internal references as
 * relative positions, external ones as the canonical id already computed for
 * the referenced type) and looked up in a hash table of the groups seen so
 * far; a structurally equal earlier group lends its canonical ids.  The
 * canonical id of a type is the index of the first type equivalent to it,
 * stored in m->type_canon, so wasync_type_equiv() is one comparison.
 *
 * Subtyping of concrete types follows the declared supertype chain: a <= b
 * iff some type on a's chain (a itself included) is equivalent to b.  The
 * abstract heap types form three small lattices:
 *   none <= i31, struct, array <= eq <= any     (concrete structs/arrays too)
 *   nofunc <= (concrete function types) <= func
 *   noextern <= extern,  noexn <= exn
 * The validator's "bottom" heap type (code 0, only produced by popping from
 * an unreachable stack) is below everything.
 *
 * Data layout.  m->type_canon is an arena array with one id per type.  The
 * hash table is temporary (module allocator) and freed before returning.
 */
#include <stdio.h>
#include <string.h>

#include "wasync_limits.h"
#include "reader.h"
#include "validate.h"

/* ---- abstract heap types ---- */

static bool abstract_sub(uint32_t a, uint32_t b) {
  if (a == b || a == 0) return true;
  switch (a) {
  case WASYNC_HT_NONE:
    return b == WASYNC_HT_ANY || b == WASYNC_HT_EQ || b == WASYNC_HT_I31 ||
           b == WASYNC_HT_STRUCT || b == WASYNC_HT_ARRAY;
  case WASYNC_HT_I31:
  case WASYNC_HT_STRUCT:
  case WASYNC_HT_ARRAY: return b == WASYNC_HT_EQ || b == WASYNC_HT_ANY;
  case WASYNC_HT_EQ: return b == WASYNC_HT_ANY;
  case WASYNC_HT_NOFUNC: return b == WASYNC_HT_FUNC;
  case WASYNC_HT_NOEXTERN: return b == WASYNC_HT_EXTERN;
  case WASYNC_HT_NOEXN: return b == WASYNC_HT_EXN;
  default: return false;
  }
}

uint32_t wasync_heap_top(const WasyncModule *m, WasyncValType ref) {
  uint32_t h = wasync_vt_heap(ref);
  if (wasync_vt_indexed(ref)) {
    if (h >= m->ntypes) return WASYNC_HT_ANY;
    return m->types[h].form == WASYNC_COMP_FUNC ? WASYNC_HT_FUNC
                                                : WASYNC_HT_ANY;
  }
  switch (h) {
  case WASYNC_HT_FUNC:
  case WASYNC_HT_NOFUNC: return WASYNC_HT_FUNC;
  case WASYNC_HT_EXTERN:
  case WASYNC_HT_NOEXTERN: return WASYNC_HT_EXTERN;
  case WASYNC_HT_EXN:
  case WASYNC_HT_NOEXN: return WASYNC_HT_EXN;
  case 0: return 0;
  default: return WASYNC_HT_ANY;
  }
}

uint32_t wasync_heap_bottom(const WasyncModule *m, WasyncValType ref) {
  switch (wasync_heap_top(m, ref)) {
  case WASYNC_HT_FUNC: return WASYNC_HT_NOFUNC;
  case WASYNC_HT_EXTERN: return WASYNC_HT_NOEXTERN;
  case WASYNC_HT_EXN: return WASYNC_HT_NOEXN;
  case 0: return 0;
  default: return WASYNC_HT_NONE;
  }
}

/* ---- equivalence and subtyping ---- */

bool wasync_type_equiv(const WasyncModule *m, uint32_t a, uint32_t b) {
  if (a == b) return true;
  if (!m->type_canon || a >= m->ntype_canon || b >= m->ntype_canon)
    return false;
  return m->type_canon[a] == m->type_canon[b];
}

static bool index_sub(const WasyncModule *m, uint32_t a, uint32_t b) {
  /* The chain is finite: supertypes have smaller indices (checked by
   * wasync_types_prepare before any use). */
  uint32_t guard = m->ntypes + 1;
  while (guard--) {
    if (wasync_type_equiv(m, a, b)) return true;
    if (a >= m->ntypes || !m->types[a].has_super || m->types[a].super >= a)
      return false;
    a = m->types[a].super;
  }
  return false;
}

bool wasync_heap_sub(const WasyncModule *m, WasyncValType a, WasyncValType b) {
  uint32_t ha = wasync_vt_heap(a), hb = wasync_vt_heap(b);
  bool ia = wasync_vt_indexed(a), ib = wasync_vt_indexed(b);
  if (!ia && !ib) return abstract_sub(ha, hb);
  if (ia && ib) return index_sub(m, ha, hb);
  if (ia) { /* concrete <= abstract */
    if (ha >= m->ntypes) return false;
    switch (m->types[ha].form) {
    case WASYNC_COMP_FUNC: return hb == WASYNC_HT_FUNC;
    case WASYNC_COMP_STRUCT:
      return hb == WASYNC_HT_STRUCT || hb == WASYNC_HT_EQ ||
             hb == WASYNC_HT_ANY;
    default:
      return hb == WASYNC_HT_ARRAY || hb == WASYNC_HT_EQ || hb == WASYNC_HT_ANY;
    }
  }
  /* abstract <= concrete: only the bottoms */
  if (ha == 0) return true;
  if (hb >= m->ntypes) return false;
  if (m->types[hb].form == WASYNC_COMP_FUNC) return ha == WASYNC_HT_NOFUNC;
  return ha == WASYNC_HT_NONE;
}

bool wasync_valtype_sub(const WasyncModule *m, WasyncValType a,
                        WasyncValType b) {
  if (a == b || a == WASYNC_VT_BOT) return true;
  if (!wasync_vt_is_ref(a) || !wasync_vt_is_ref(b)) return false;
  if (wasync_vt_nullable(a) && !wasync_vt_nullable(b)) return false;
  return wasync_heap_sub(m, a, b);
}

static bool valtype_equiv(const WasyncModule *m, WasyncValType a,
                          WasyncValType b) {
  return wasync_valtype_sub(m, a, b) && wasync_valtype_sub(m, b, a);
}

static bool field_sub(const WasyncModule *m, const WasyncFieldType *a,
                      const WasyncFieldType *b) {
  if (a->mut != b->mut) return false;
  if (a->mut) return valtype_equiv(m, a->type, b->type);
  return wasync_valtype_sub(m, a->type, b->type);
}

/* Does composite type `a` match composite type `b` (a declared subtype of
 * b)? */
static bool comp_sub(const WasyncModule *m, const WasyncSubType *a,
                     const WasyncSubType *b) {
  if (a->form != b->form) return false;
  switch (a->form) {
  case WASYNC_COMP_FUNC:
    if (a->nparams != b->nparams || a->nresults != b->nresults) return false;
    for (uint32_t i = 0; i < a->nparams; i++)
      if (!wasync_valtype_sub(m, b->params[i], a->params[i])) return false;
    for (uint32_t i = 0; i < a->nresults; i++)
      if (!wasync_valtype_sub(m, a->results[i], b->results[i])) return false;
    return true;
  default: /* struct, array */
    if (a->nfields < b->nfields) return false;
    if (a->form == WASYNC_COMP_ARRAY && a->nfields != b->nfields) return false;
    for (uint32_t i = 0; i < b->nfields; i++)
      if (!field_sub(m, &a->fields[i], &b->fields[i])) return false;
    return true;
  }
}

WasyncValType wasync_elem_type(const WasyncElem *e) {
  if (!(e->flags & 4) &&
      e->type == wasync_vt_ref_abstract(true, WASYNC_HT_FUNC))
    return wasync_vt_ref_abstract(false, WASYNC_HT_FUNC);
  return e->type;
}

/* ---- canonicalisation ---- */

/* A value type as it takes part in structural comparison inside the group
 * [start, end): internal references become relative positions (flagged),
 * external ones the canonical id of their target. */
static uint64_t canon_vt(const WasyncModule *m, WasyncValType t, uint32_t start,
                         uint32_t end) {
  if (!wasync_vt_is_ref(t) || !wasync_vt_indexed(t)) return t;
  uint32_t idx = wasync_vt_heap(t);
  uint64_t low = t & 0x3FFu;
  if (idx >= start && idx < end)
    return low | (1ull << 10) | ((uint64_t)(idx - start) << 11);
  uint32_t c = idx < m->ntypes ? m->type_canon[idx] : idx;
  return low | ((uint64_t)c << 11);
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  return h * 0xFF51AFD7ED558CCDull;
}

static uint64_t hash_group(const WasyncModule *m, uint32_t start,
                           uint32_t size) {
  uint32_t end = start + size;
  uint64_t h = size;
  for (uint32_t i = start; i < end; i++) {
    const WasyncSubType *t = &m->types[i];
    h = mix(h, (uint64_t)t->form | ((uint64_t)t->final << 8) |
                   ((uint64_t)t->has_super << 9));
    if (t->has_super)
      h = mix(h, canon_vt(m, wasync_vt_ref_index(false, t->super), start, end));
    if (t->form == WASYNC_COMP_FUNC) {
      h = mix(h, ((uint64_t)t->nparams << 32) | t->nresults);
      for (uint32_t k = 0; k < t->nparams; k++)
        h = mix(h, canon_vt(m, t->params[k], start, end));
      for (uint32_t k = 0; k < t->nresults; k++)
        h = mix(h, canon_vt(m, t->results[k], start, end));
    } else {
      h = mix(h, t->nfields);
      for (uint32_t k = 0; k < t->nfields; k++)
        h = mix(h, canon_vt(m, t->fields[k].type, start, end) ^
                       ((uint64_t)t->fields[k].mut << 63));
    }
  }
  return h;
}

static bool same_vt(const WasyncModule *m, WasyncValType a, uint32_t sa,
                    WasyncValType b, uint32_t sb, uint32_t size) {
  return canon_vt(m, a, sa, sa + size) == canon_vt(m, b, sb, sb + size);
}

static bool same_group(const WasyncModule *m, uint32_t sa, uint32_t sb,
                       uint32_t size) {
  for (uint32_t i = 0; i < size; i++) {
    const WasyncSubType *a = &m->types[sa + i], *b = &m->types[sb + i];
    if (a->form != b->form || a->final != b->final ||
        a->has_super != b->has_super)
      return false;
    if (a->has_super &&
        !same_vt(m, wasync_vt_ref_index(false, a->super), sa,
                 wasync_vt_ref_index(false, b->super), sb, size))
      return false;
    if (a->form == WASYNC_COMP_FUNC) {
      if (a->nparams != b->nparams || a->nresults != b->nresults) return false;
      for (uint32_t k = 0; k < a->nparams; k++)
        if (!same_vt(m, a->params[k], sa, b->params[k], sb, size)) return false;
      for (uint32_t k = 0; k < a->nresults; k++)
        if (!same_vt(m, a->results[k], sa, b->results[k], sb, size))
          return false;
    } else {
      if (a->nfields != b->nfields) return false;
      for (uint32_t k = 0; k < a->nfields; k++)
        if (a->fields[k].mut != b->fields[k].mut ||
            !same_vt(m, a->fields[k].type, sa, b->fields[k].type, sb, size))
          return false;
    }
  }
  return true;
}

/* ---- type section validity ---- */

static bool check_ref_bound(const WasyncModule *m, WasyncValType t,
                            uint32_t end, uint64_t offset, WasyncError *err) {
  if (wasync_vt_is_ref(t) && wasync_vt_indexed(t) && wasync_vt_heap(t) >= end)
    return wasync_fail(err, WASYNC_ERR_INVALID, offset, "unknown type %u",
                       (unsigned)wasync_vt_heap(t));
  (void)m;
  return true;
}

static bool check_type_refs(const WasyncModule *m, const WasyncSubType *t,
                            uint32_t end, WasyncError *err) {
  for (uint32_t k = 0; k < t->nparams; k++)
    if (!check_ref_bound(m, t->params[k], end, t->offset, err)) return false;
  for (uint32_t k = 0; k < t->nresults; k++)
    if (!check_ref_bound(m, t->results[k], end, t->offset, err)) return false;
  for (uint32_t k = 0; k < t->nfields; k++)
    if (!check_ref_bound(m, t->fields[k].type, end, t->offset, err))
      return false;
  return true;
}

bool wasync_types_prepare(WasyncModule *m, WasyncError *err) {
  if (m->type_canon && m->ntype_canon == m->ntypes) return true;
  m->type_canon = NULL; /* types were added: start over */
  m->ntype_canon = 0;
  uint32_t n = m->ntypes;
  uint32_t *canon = wasync_arena_array(&m->arena, n ? n : 1, sizeof *canon);
  uint32_t *depth = NULL;
  if (!canon) return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  /* Hash table of group starts, open addressing, load <= 1/2. */
  size_t cap = 16;
  while (cap < (size_t)n * 2)
    cap <<= 1;
  const WasyncAllocator *al = m->arena.allocator;
  uint32_t *slots = al->alloc(al->ctx, cap * sizeof *slots);
  uint64_t *hashes = al->alloc(al->ctx, cap * sizeof *hashes);
  depth = al->alloc(al->ctx, (n ? n : 1) * sizeof *depth);
  bool ok = true;
  if (!slots || !hashes || !depth) {
    ok = wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    goto done;
  }
  memset(slots, 0xFF, cap * sizeof *slots);
  m->type_canon = canon; /* canon_vt reads earlier entries */
  m->ntype_canon = n;

  for (uint32_t start = 0; start < n && ok;) {
    const WasyncSubType *first = &m->types[start];
    uint32_t size = first->rec_size ? first->rec_size : 1;
    if (first->rec_start != start || size > n - start) {
      ok = wasync_fail(err, WASYNC_ERR_MALFORMED, first->offset,
                       "malformed recursion group");
      break;
    }
    uint32_t end = start + size;
    for (uint32_t i = start; i < end && ok; i++) {
      const WasyncSubType *t = &m->types[i];
      ok = check_type_refs(m, t, end, err);
      if (ok && t->has_super && t->super >= i)
        ok = wasync_fail(err, WASYNC_ERR_INVALID, t->offset, "unknown type %u",
                         (unsigned)t->super);
    }
    if (!ok) break;
    /* Canonical ids: look the group up among the earlier ones. */
    for (uint32_t i = start; i < end; i++)
      canon[i] = i; /* provisional, for the hash of external refs only */
    uint64_t h = hash_group(m, start, size);
    size_t mask = cap - 1, s = (size_t)h & mask;
    uint32_t found = UINT32_MAX;
    while (slots[s] != UINT32_MAX) {
      uint32_t other = slots[s];
      uint32_t osize = m->types[other].rec_size ? m->types[other].rec_size : 1;
      if (hashes[s] == h && osize == size &&
          same_group(m, other, start, size)) {
        found = other;
        break;
      }
      s = (s + 1) & mask;
    }
    if (found != UINT32_MAX) {
      for (uint32_t i = 0; i < size; i++)
        canon[start + i] = canon[found + i];
    } else {
      slots[s] = start;
      hashes[s] = h;
    }
    /* Declared supertypes. */
    for (uint32_t i = start; i < end && ok; i++) {
      const WasyncSubType *t = &m->types[i];
      depth[i] = 0;
      if (!t->has_super) continue;
      const WasyncSubType *sup = &m->types[t->super];
      depth[i] = depth[t->super] + 1;
      if (depth[i] > WASYNC_MAX_SUBTYPE_DEPTH)
        ok = wasync_fail(err, WASYNC_ERR_LIMIT, t->offset,
                         "subtyping depth is greater than allowed");
      else if (sup->final || !comp_sub(m, t, sup))
        ok = wasync_fail(err, WASYNC_ERR_INVALID, t->offset, "sub type");
    }
    start = end;
  }
done:
  if (slots) al->free(al->ctx, slots);
  if (hashes) al->free(al->ctx, hashes);
  if (depth) al->free(al->ctx, depth);
  if (!ok) {
    m->type_canon = NULL;
    m->ntype_canon = 0;
  }
  return ok;
}

/* ---- text ---- */

static const char *heap_text(uint32_t ht) {
  switch (ht) {
  case WASYNC_HT_FUNC: return "func";
  case WASYNC_HT_EXTERN: return "extern";
  case WASYNC_HT_ANY: return "any";
  case WASYNC_HT_EQ: return "eq";
  case WASYNC_HT_I31: return "i31";
  case WASYNC_HT_STRUCT: return "struct";
  case WASYNC_HT_ARRAY: return "array";
  case WASYNC_HT_EXN: return "exn";
  case WASYNC_HT_NOFUNC: return "nofunc";
  case WASYNC_HT_NOEXTERN: return "noextern";
  case WASYNC_HT_NONE: return "none";
  case WASYNC_HT_NOEXN: return "noexn";
  default: return "?";
  }
}

const char *wasync_valtype_text(WasyncValType t, char *buf, size_t size) {
  switch (t) {
  case WASYNC_VT_BOT: return "nothing";
  case WASYNC_VT_I32: return "i32";
  case WASYNC_VT_I64: return "i64";
  case WASYNC_VT_F32: return "f32";
  case WASYNC_VT_F64: return "f64";
  case WASYNC_VT_V128: return "v128";
  case WASYNC_VT_I8: return "i8";
  case WASYNC_VT_I16: return "i16";
  default: break;
  }
  if (!wasync_vt_is_ref(t)) return "?";
  const char *null = wasync_vt_nullable(t) ? "null " : "";
  if (wasync_vt_indexed(t))
    snprintf(buf, size, "(ref %s%u)", null, (unsigned)wasync_vt_heap(t));
  else
    snprintf(buf, size, "(ref %s%s)", null, heap_text(wasync_vt_heap(t)));
  return buf;
}
