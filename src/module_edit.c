/*
 * module_edit.c -- adding to a decoded module and renumbering its indices
 * (the contract is in module_edit.h).
 *
 * A decoded module mostly points into the input: bodies and constant
 * expressions are byte ranges that the encoder copies as they are.  An
 * edit therefore never rewrites what it does not change: added entries go
 * at the end of their index space (so no existing index moves), and a
 * renumbering re-encodes only the bodies and expressions that name an
 * index that moved, first scanning each to see whether one does.  A
 * re-encoded function body is marked `replaced` so the encoder takes the
 * new bytes.
 */
#include <string.h>

#include "instr.h"
#include "module_edit.h"
#include "reader.h"

bool wasync_module_reserve(WasyncModule *m, void **arr, uint32_t n,
                           uint32_t add, size_t size) {
  const size_t slots = sizeof m->grown / sizeof m->grown[0];
  size_t k;
  for (k = 0; k < slots; k++)
    if (m->grown[k].array && m->grown[k].array == *arr) break;
  if (k < slots && (uint64_t)n + add <= m->grown[k].cap) return true;
  uint64_t want = ((uint64_t)n + add) * 2;
  if (want < 16) want = 16;
  if (want > UINT32_MAX) want = (uint64_t)n + add;
  void *p = wasync_arena_array(&m->arena, (size_t)want, size);
  if (!p) return false;
  if (n) memcpy(p, *arr, (size_t)n * size);
  if (k == slots) /* a free slot, or the least useful one */
    for (k = 0; k + 1 < slots && m->grown[k].array; k++)
      ;
  m->grown[k].array = p;
  m->grown[k].cap = (uint32_t)want;
  *arr = p;
  return true;
}

bool wasync_module_add_type(WasyncModule *m, const WasyncValType *params,
                            uint32_t np, const WasyncValType *results,
                            uint32_t nr, uint32_t *out) {
  for (uint32_t t = 0; t < m->ntypes; t++) {
    const WasyncSubType *st = &m->types[t];
    if (st->form != WASYNC_COMP_FUNC || st->nparams != np ||
        st->nresults != nr || st->has_super || !st->final || st->rec_size > 1)
      continue;
    if ((np && memcmp(st->params, params, np * sizeof *params)) ||
        (nr && memcmp(st->results, results, nr * sizeof *results)))
      continue;
    *out = t;
    return true;
  }
  uint32_t n = m->ntypes;
  if (!wasync_module_reserve(m, (void **)&m->types, n, 1, sizeof *m->types))
    return false;
  if (m->type_canon && !wasync_module_reserve(m, (void **)&m->type_canon, n, 1,
                                              sizeof *m->type_canon))
    return false;
  WasyncSubType *st = &m->types[n];
  memset(st, 0, sizeof *st);
  st->form = WASYNC_COMP_FUNC;
  st->encoding = WASYNC_SUB_BARE;
  st->final = true;
  st->rec_start = n;
  st->rec_size = 1;
  st->nparams = np;
  st->nresults = nr;
  st->params = wasync_arena_array(&m->arena, np + 1, sizeof *params);
  st->results = wasync_arena_array(&m->arena, nr + 1, sizeof *results);
  if (!st->params || !st->results) return false;
  if (np) memcpy(st->params, params, np * sizeof *params);
  if (nr) memcpy(st->results, results, nr * sizeof *results);
  if (m->type_canon) m->type_canon[n] = n;
  m->ntypes = n + 1;
  *out = n;
  return true;
}

bool wasync_module_add_func(WasyncModule *m, uint32_t type, const uint8_t *expr,
                            size_t size, uint32_t *out) {
  uint32_t n = m->nfuncs;
  if (!wasync_module_reserve(m, (void **)&m->funcs, n, 1, sizeof *m->funcs))
    return false;
  WasyncFunc *f = &m->funcs[n];
  memset(f, 0, sizeof *f);
  f->type = type;
  f->import = UINT32_MAX;
  uint8_t *b = wasync_arena_alloc(&m->arena, size + 1);
  if (!b) return false;
  b[0] = 0; /* no locals */
  memcpy(b + 1, expr, size);
  f->code.body = b;
  f->code.size = (uint32_t)(size + 1);
  f->code.expr_start = 1;
  f->code.replaced = true;
  m->nfuncs = n + 1;
  if (m->func_names_done && m->func_names) {
    if (!wasync_module_reserve(m, (void **)&m->func_names, n, 1,
                               sizeof *m->func_names))
      return false;
    memset(&m->func_names[n], 0, sizeof *m->func_names);
  }
  *out = n;
  return true;
}

bool wasync_module_add_global(WasyncModule *m, WasyncValType t, bool mut,
                              const uint8_t *init, uint32_t init_size,
                              uint32_t *out) {
  uint32_t n = m->nglobals;
  if (!wasync_module_reserve(m, (void **)&m->globals, n, 1, sizeof *m->globals))
    return false;
  WasyncGlobal *g = &m->globals[n];
  memset(g, 0, sizeof *g);
  g->type = t;
  g->mut = mut;
  uint8_t *b = wasync_arena_alloc(&m->arena, init_size);
  if (!b) return false;
  memcpy(b, init, init_size);
  g->init.bytes = b;
  g->init.size = init_size;
  g->import = UINT32_MAX;
  m->nglobals = n + 1;
  if (out) *out = n;
  return true;
}

bool wasync_module_add_table(WasyncModule *m, WasyncValType t, uint32_t min,
                             uint32_t *out) {
  uint32_t n = m->ntables;
  if (!wasync_module_reserve(m, (void **)&m->tables, n, 1, sizeof *m->tables))
    return false;
  WasyncTable *tab = &m->tables[n];
  memset(tab, 0, sizeof *tab);
  tab->type = t;
  tab->limits.min = min;
  tab->import = UINT32_MAX;
  m->ntables = n + 1;
  if (out) *out = n;
  return true;
}

bool wasync_module_add_memory(WasyncModule *m, uint64_t min, uint32_t *out) {
  uint32_t n = m->nmemories;
  if (!wasync_module_reserve(m, (void **)&m->memories, n, 1,
                             sizeof *m->memories))
    return false;
  memset(&m->memories[n], 0, sizeof m->memories[n]);
  m->memories[n].limits.min = min;
  m->memories[n].import = UINT32_MAX;
  m->nmemories = n + 1;
  if (out) *out = n;
  return true;
}

bool wasync_module_add_export(WasyncModule *m, const char *name, uint8_t kind,
                              uint32_t index) {
  uint32_t n = m->nexports;
  size_t len = strlen(name);
  for (uint32_t i = 0; i < n; i++)
    if (m->exports[i].name.len == len &&
        memcmp(m->exports[i].name.bytes, name, len) == 0) {
      m->exports[i].kind = kind;
      m->exports[i].index = index;
      return true;
    }
  if (!wasync_module_reserve(m, (void **)&m->exports, n, 1, sizeof *m->exports))
    return false;
  WasyncExport *e = &m->exports[n];
  memset(e, 0, sizeof *e);
  e->name.bytes = (const uint8_t *)name;
  e->name.len = (uint32_t)len;
  e->kind = kind;
  e->index = index;
  m->nexports = n + 1;
  return true;
}

/* ---- renumbering ----------------------------------------------------------
 */

/* The new index of the function / global an instruction names, when a map
 * moves it. */
static bool moved(const WasyncInstr *in, const uint32_t *fmap,
                  const uint32_t *gmap, uint32_t *to) {
  if (fmap && (in->op == WASYNC_OP_CALL || in->op == WASYNC_OP_RETURN_CALL ||
               in->op == WASYNC_OP_REF_FUNC)) {
    *to = fmap[in->imm.index];
    return *to != in->imm.index;
  }
  if (gmap &&
      (in->op == WASYNC_OP_GLOBAL_GET || in->op == WASYNC_OP_GLOBAL_SET)) {
    *to = gmap[in->imm.index];
    return *to != in->imm.index;
  }
  return false;
}

/* Appends instructions [bytes, bytes+size) to out with indices moved;
 * *changed false (out untouched) when nothing moves. */
static bool renumber_code(WasyncModule *m, const uint8_t *bytes, size_t size,
                          const uint32_t *fmap, const uint32_t *gmap,
                          WasyncBuf *out, bool *changed, WasyncError *err) {
  WasyncInstrReader ir;
  wasync_instr_reader_init(&ir, m, m->bytes, 0, 0, err);
  ir.r.base = bytes;
  ir.r.pos = 0;
  ir.r.end = size;
  *changed = false;
  WasyncInstr in;
  bool ok = true;
  uint32_t to;
  while (ok && !*changed && ir.r.pos < ir.r.end) {
    ok = wasync_instr_decode(&ir, &in);
    if (ok && moved(&in, fmap, gmap, &to)) *changed = true;
  }
  if (ok && *changed) {
    ir.r.pos = 0;
    while (ok && ir.r.pos < ir.r.end) {
      ok = wasync_instr_decode(&ir, &in);
      if (!ok) break;
      if (moved(&in, fmap, gmap, &to)) in.imm.index = to;
      wasync_instr_encode(out, &in);
    }
  }
  wasync_instr_reader_release(&ir);
  return ok;
}

/* Copies b into the arena; NULL: out of memory (err set). */
static uint8_t *keep(WasyncModule *m, const WasyncBuf *b, WasyncError *err) {
  uint8_t *p =
      b->oom ? NULL : wasync_arena_alloc(&m->arena, b->size + !b->size);
  if (!p) {
    wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    return NULL;
  }
  memcpy(p, b->data, b->size);
  return p;
}

static bool renumber_expr(WasyncModule *m, WasyncExpr *x, const uint32_t *fmap,
                          const uint32_t *gmap, WasyncError *err) {
  if (!x->bytes || !x->size) return true;
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  bool changed;
  bool ok = renumber_code(m, x->bytes, x->size, fmap, gmap, &b, &changed, err);
  if (ok && changed) {
    uint8_t *nb = keep(m, &b, err);
    ok = nb != NULL;
    if (ok) {
      x->bytes = nb;
      x->size = (uint32_t)b.size;
    }
  }
  wasync_buf_release(&b);
  return ok;
}

static bool renumber_body(WasyncModule *m, WasyncCode *c, const uint32_t *fmap,
                          const uint32_t *gmap, WasyncError *err) {
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  wasync_buf_bytes(&b, c->body, c->expr_start);
  bool changed;
  bool ok = renumber_code(m, c->body + c->expr_start, c->size - c->expr_start,
                          fmap, gmap, &b, &changed, err);
  if (ok && changed) {
    uint8_t *nb = keep(m, &b, err);
    ok = nb != NULL;
    if (ok) {
      c->body = nb;
      c->size = (uint32_t)b.size;
      c->replaced = true;
    }
  }
  wasync_buf_release(&b);
  return ok;
}

static void drop_name_section(WasyncModule *m) {
  for (uint32_t i = 0; i < m->nsections; i++) {
    WasyncSection *sec = &m->sections[i];
    if (sec->id == WASYNC_SEC_CUSTOM && sec->custom < m->ncustoms &&
        m->customs[sec->custom].name.len == 4 &&
        memcmp(m->customs[sec->custom].name.bytes, "name", 4) == 0)
      sec->custom = UINT32_MAX;
  }
  m->func_names = NULL;
  m->func_names_done = true;
}

bool wasync_module_renumber(WasyncModule *m, const uint32_t *fmap,
                            const uint32_t *gmap, WasyncError *err) {
  for (uint32_t f = m->nfunc_imports; f < m->nfuncs; f++)
    if (!renumber_body(m, &m->funcs[f].code, fmap, gmap, err)) return false;
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
    if (!renumber_expr(m, &m->globals[i].init, fmap, gmap, err)) return false;
  for (uint32_t i = 0; i < m->ntables; i++)
    if (m->tables[i].has_init &&
        !renumber_expr(m, &m->tables[i].init, fmap, gmap, err))
      return false;
  for (uint32_t i = 0; i < m->nelems; i++) {
    WasyncElem *e = &m->elems[i];
    if (e->mode == WASYNC_SEG_ACTIVE &&
        !renumber_expr(m, &e->offset_expr, fmap, gmap, err))
      return false;
    if (e->funcs && fmap) {
      uint32_t *nfl = wasync_arena_array(&m->arena, e->count + 1, 4);
      if (!nfl) return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
      for (uint32_t j = 0; j < e->count; j++)
        nfl[j] = fmap[e->funcs[j]];
      e->funcs = nfl;
    }
    if (e->exprs)
      for (uint32_t j = 0; j < e->count; j++)
        if (!renumber_expr(m, &e->exprs[j], fmap, gmap, err)) return false;
  }
  for (uint32_t i = 0; i < m->ndatas; i++)
    if (m->datas[i].mode == WASYNC_SEG_ACTIVE &&
        !renumber_expr(m, &m->datas[i].offset_expr, fmap, gmap, err))
      return false;
  for (uint32_t i = 0; i < m->nexports; i++) {
    WasyncExport *e = &m->exports[i];
    if (fmap && e->kind == WASYNC_EXTERN_FUNC) e->index = fmap[e->index];
    if (gmap && e->kind == WASYNC_EXTERN_GLOBAL) e->index = gmap[e->index];
  }
  for (uint32_t i = 0; i < m->nimports; i++) {
    WasyncImport *imp = &m->imports[i];
    if (fmap && imp->kind == WASYNC_EXTERN_FUNC) imp->index = fmap[imp->index];
    if (gmap && imp->kind == WASYNC_EXTERN_GLOBAL)
      imp->index = gmap[imp->index];
  }
  if (fmap && m->has_start) m->start = fmap[m->start];
  bool fmoved = false;
  for (uint32_t f = 0; fmap && f < m->nfuncs && !fmoved; f++)
    fmoved = fmap[f] != f;
  if (fmoved) drop_name_section(m);
  return true;
}

bool wasync_module_remove_func_imports(WasyncModule *m,
                                       const uint32_t *redirect,
                                       WasyncError *err) {
  uint32_t nf = m->nfuncs, removed = 0;
  uint32_t *map = wasync_arena_array(&m->arena, nf + 1, 4);
  uint32_t *imap = wasync_arena_array(&m->arena, m->nimports + 1, 4);
  if (!map || !imap)
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t f = 0; f < nf; f++) {
    bool gone = f < m->nfunc_imports && redirect[f] != UINT32_MAX;
    map[f] = gone ? UINT32_MAX : f - removed;
    removed += gone;
  }
  if (!removed) return true;
  for (uint32_t f = 0; f < m->nfunc_imports; f++)
    if (redirect[f] != UINT32_MAX) map[f] = map[redirect[f]];
  if (!wasync_module_renumber(m, map, NULL, err)) return false;
  /* The import list (its entries keep their order) and the function index
   * space; tables, memories, globals and tags refer to imports by
   * position. */
  uint32_t ni = 0, nfn = 0;
  uint32_t fi = 0; /* old index of the next function import */
  for (uint32_t i = 0; i < m->nimports; i++) {
    const WasyncImport *imp = &m->imports[i];
    imap[i] = UINT32_MAX;
    if (imp->kind == WASYNC_EXTERN_FUNC && redirect[fi++] != UINT32_MAX)
      continue;
    imap[i] = ni;
    m->imports[ni++] = *imp;
  }
  m->nimports = ni;
  for (uint32_t f = 0; f < nf; f++) {
    if (f < m->nfunc_imports && redirect[f] != UINT32_MAX) continue;
    m->funcs[nfn] = m->funcs[f];
    if (m->funcs[nfn].import != UINT32_MAX)
      m->funcs[nfn].import = imap[m->funcs[nfn].import];
    nfn++;
  }
  m->nfuncs = nfn;
  m->nfunc_imports -= removed;
  for (uint32_t i = 0; i < m->ntables; i++)
    if (m->tables[i].import != UINT32_MAX)
      m->tables[i].import = imap[m->tables[i].import];
  for (uint32_t i = 0; i < m->nmemories; i++)
    if (m->memories[i].import != UINT32_MAX)
      m->memories[i].import = imap[m->memories[i].import];
  for (uint32_t i = 0; i < m->nglobals; i++)
    if (m->globals[i].import != UINT32_MAX)
      m->globals[i].import = imap[m->globals[i].import];
  for (uint32_t i = 0; i < m->ntags; i++)
    if (m->tags[i].import != UINT32_MAX)
      m->tags[i].import = imap[m->tags[i].import];
  return true;
}

bool wasync_module_import_globals(WasyncModule *m, uint32_t first, uint32_t n,
                                  const char *module, const char *const *fields,
                                  WasyncError *err) {
  uint32_t ng = m->nglobals, ngi = m->nglobal_imports;
  uint32_t *gmap = wasync_arena_array(&m->arena, ng + 1, 4);
  WasyncGlobal *globals =
      wasync_arena_array(&m->arena, ng + 1, sizeof *globals);
  if (!gmap || !globals ||
      !wasync_module_reserve(m, (void **)&m->imports, m->nimports, n,
                             sizeof *m->imports))
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t g = 0; g < ng; g++) {
    if (g < ngi)
      gmap[g] = g;
    else if (g >= first && g - first < n)
      gmap[g] = ngi + (g - first);
    else if (g < first)
      gmap[g] = g + n;
    else
      gmap[g] = g;
  }
  if (!wasync_module_renumber(m, NULL, gmap, err)) return false;
  for (uint32_t g = 0; g < ng; g++)
    globals[gmap[g]] = m->globals[g];
  for (uint32_t k = 0; k < n; k++) {
    WasyncImport *imp = &m->imports[m->nimports];
    memset(imp, 0, sizeof *imp);
    imp->module.bytes = (const uint8_t *)module;
    imp->module.len = (uint32_t)strlen(module);
    imp->field.bytes = (const uint8_t *)fields[k];
    imp->field.len = (uint32_t)strlen(fields[k]);
    imp->kind = WASYNC_EXTERN_GLOBAL;
    imp->index = ngi + k;
    globals[ngi + k].import = m->nimports;
    globals[ngi + k].init.bytes = NULL;
    globals[ngi + k].init.size = 0;
    m->nimports++;
  }
  m->globals = globals;
  m->nglobal_imports = ngi + n;
  return true;
}
