/*
 * asyncify_analysis.c -- which functions may unwind, and which get
 * instrumented.
 *
 * The call graph has one node per function and one per type index ("an
 * indirect call of this type").  Edges run from callee to caller:
 *   direct call:    f -> g when g calls f (call / return_call);
 *   indirect call:  f -> T when f is *referenced* (an element segment,
 *                   ref.func anywhere, an export) and f's type is a subtype
 *                   of T; T -> g when g does call_indirect/call_ref of T.
 * Seeds: imports that may unwind (the import list, default all), functions
 * calling asyncify.start_unwind / stop_rewind (the "top-most runtime": they
 * change the state but are not instrumented themselves), add-listed
 * functions with propagate-add, and type nodes when functions of *other*
 * modules can reach our indirect calls (an imported/exported table, or
 * function references crossing the module boundary: the host may put a
 * function there that suspends) unless imports are ignored or
 * precise_indirect asks for the type analysis alone -- with an explicit
 * import list too, as Binaryen does.  A breadth-first walk from
 * the seeds marks every node that may unwind and remembers the edge it came
 * through (for --why).  Remove-listed functions and the "bottom-most
 * runtime" (callers of stop_unwind / start_rewind) stop the walk.  With
 * ignore-indirect no type node is ever marked.
 */
#include <stdio.h>
#include <string.h>

#include "asyncify.h"

typedef struct Graph {
  uint32_t nnodes;
  uint32_t *head; /* per node, first edge (UINT32_MAX) */
  uint32_t *next, *to;
  uint32_t nedges, cap;
  const WasyncAllocator *al;
  bool oom;
} Graph;

static void add_edge(Graph *g, uint32_t from, uint32_t to) {
  if (g->oom) return;
  if (g->nedges == g->cap) {
    uint32_t nc = g->cap ? g->cap * 2 : 1024;
    uint32_t *nn = g->al->realloc(g->al->ctx, g->next, (size_t)nc * 4);
    if (!nn) {
      g->oom = true;
      return;
    }
    g->next = nn;
    uint32_t *nt = g->al->realloc(g->al->ctx, g->to, (size_t)nc * 4);
    if (!nt) {
      g->oom = true;
      return;
    }
    g->to = nt;
    g->cap = nc;
  }
  g->to[g->nedges] = to;
  g->next[g->nedges] = g->head[from];
  g->head[from] = g->nedges++;
}

static int runtime_kind(const WasyncImport *imp) {
  static const char *const names[ART_COUNT] = {NULL,          "start_unwind",
                                               "stop_unwind", "start_rewind",
                                               "stop_rewind", "get_state"};
  if (imp->module.len != 8 || memcmp(imp->module.bytes, "asyncify", 8) != 0)
    return ART_NONE;
  for (int k = 1; k < ART_COUNT; k++)
    if (strlen(names[k]) == imp->field.len &&
        memcmp(names[k], imp->field.bytes, imp->field.len) == 0)
      return k;
  return -1;
}

/* Does a value type let a function reference cross the module boundary? */
static bool crosses(const WasyncModule *m, WasyncValType t, bool gc) {
  if (!wasync_vt_is_ref(t)) return false;
  uint32_t top = wasync_heap_top(m, t);
  if (top == WASYNC_HT_FUNC) return true;
  return gc && top != WASYNC_HT_EXN; /* any/extern: GC objects with fields */
}

static bool sig_crosses(const WasyncModule *m, uint32_t type, bool gc) {
  const WasyncSubType *st = &m->types[type];
  for (uint32_t i = 0; i < st->nparams; i++)
    if (crosses(m, st->params[i], gc)) return true;
  for (uint32_t i = 0; i < st->nresults; i++)
    if (crosses(m, st->results[i], gc)) return true;
  return false;
}

/* How functions of other modules (host functions, which may suspend) can
 * reach this module's indirect calls: an AFR_* reason, AFR_NONE if they
 * cannot (a closed module). */
/* Whether an imported or exported function, global or tag lets
 * references cross the module's boundary. */
static bool extern_crosses(const WasyncModule *m, WasyncExternKind kind,
                           uint32_t index, bool gc) {
  switch (kind) {
  case WASYNC_EXTERN_GLOBAL: return crosses(m, m->globals[index].type, gc);
  case WASYNC_EXTERN_FUNC: return sig_crosses(m, m->funcs[index].type, gc);
  case WASYNC_EXTERN_TAG: return sig_crosses(m, m->tags[index].type, gc);
  default: return false;
  }
}

static int foreign_functions(const WasyncModule *m) {
  bool gc = false;
  for (uint32_t i = 0; i < m->ntypes; i++)
    if (m->types[i].form != WASYNC_COMP_FUNC) gc = true;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const WasyncImport *imp = &m->imports[i];
    if (imp->kind == WASYNC_EXTERN_TABLE) return AFR_TABLE_IMPORTED;
    if (extern_crosses(m, imp->kind, imp->index, gc)) return AFR_REFS_IMPORTED;
  }
  for (uint32_t i = 0; i < m->nexports; i++) {
    const WasyncExport *ex = &m->exports[i];
    if (ex->kind == WASYNC_EXTERN_TABLE) return AFR_TABLE_EXPORTED;
    if (extern_crosses(m, ex->kind, ex->index, gc)) return AFR_REFS_EXPORTED;
  }
  return AFR_NONE;
}

/* Marks ref.func targets inside a constant expression. */
static void scan_expr(const WasyncModule *m, const WasyncExpr *e,
                      uint8_t *flags, WasyncError *err) {
  if (!e->bytes || e->size == 0) return;
  WasyncInstrReader ir;
  WasyncError local = {0};
  (void)err;
  wasync_instr_reader_init(&ir, m, m->bytes, 0, 0, &local);
  /* Expressions may live outside the input (replaced); read them from
   * their own bytes. */
  ir.r.base = e->bytes;
  ir.r.pos = 0;
  ir.r.end = e->size;
  WasyncInstr in;
  while (ir.r.pos < ir.r.end && wasync_instr_decode(&ir, &in)) {
    if (in.op == WASYNC_OP_REF_FUNC && in.imm.index < m->nfuncs)
      flags[in.imm.index] |= AFN_REFERENCED;
  }
  wasync_instr_reader_release(&ir);
}

static const WasyncName *func_name(WasyncModule *m, uint32_t f,
                                   const WasyncName *names, char *buf,
                                   size_t cap, size_t *len) {
  if (names && names[f].bytes) {
    *len = names[f].len;
    return &names[f];
  }
  /* Binaryen's name for an unnamed function: its index. */
  int n = snprintf(buf, cap, "%u", f);
  (void)m;
  *len = (size_t)n;
  return NULL;
}

static bool listed(WasyncModule *m, const WasyncNameList *list, uint32_t f,
                   const WasyncName *names) {
  if (list->count == 0) return false;
  char buf[16];
  size_t len;
  const WasyncName *n = func_name(m, f, names, buf, sizeof buf, &len);
  const uint8_t *bytes = n ? n->bytes : (const uint8_t *)buf;
  if (wasync_asyncify_list_match(list, bytes, len)) return true;
  if (!n) { /* also "$N" */
    char b2[18];
    int k = snprintf(b2, sizeof b2, "$%u", f);
    return wasync_asyncify_list_match(list, (const uint8_t *)b2, (size_t)k);
  }
  return false;
}

bool wasync_asyncify_call_unwinds(const WasyncModule *m,
                                  const WasyncAsyncifyAnalysis *a,
                                  uint32_t caller, const WasyncInstr *in) {
  (void)m;
  switch (in->op) {
  case WASYNC_OP_CALL:
  case WASYNC_OP_RETURN_CALL:
    return (a->flags[in->imm.index] & AFN_CAN_CHANGE) != 0;
  case WASYNC_OP_CALL_INDIRECT:
  case WASYNC_OP_RETURN_CALL_INDIRECT:
    if (a->flags[caller] & AFN_ADDED) return true;
    return a->type_unwinds[in->imm.pair.a] != 0;
  case WASYNC_OP_CALL_REF:
  case WASYNC_OP_RETURN_CALL_REF:
    if (a->flags[caller] & AFN_ADDED) return true;
    return a->type_unwinds[in->imm.index] != 0;
  default: return false;
  }
}

bool wasync_asyncify_analyze(WasyncModule *m, const WasyncAsyncifyOptions *o,
                             WasyncAsyncifyAnalysis *a, WasyncError *err) {
  WasyncArena *ar = &m->arena;
  const WasyncAllocator *al = ar->allocator;
  uint32_t nf = m->nfuncs, nt = m->ntypes, nn = nf + nt;
  memset(a, 0, sizeof *a);
  a->nfuncs = nf;
  a->ntypes = nt;
  a->flags = wasync_arena_array(ar, nf + 1, 1);
  a->runtime = wasync_arena_array(ar, nf + 1, 1);
  a->type_unwinds = wasync_arena_array(ar, nt + 1, 1);
  a->why = wasync_arena_array(ar, nn + 1, 4);
  a->why_type = wasync_arena_array(ar, nt + 1, 4);
  uint8_t *uses_type = wasync_arena_array(ar, nt + 1, 1);
  uint32_t *queue = wasync_arena_array(ar, nn + 1, 4);
  uint8_t *marked = wasync_arena_array(ar, nn + 1, 1);
  Graph g = {0};
  g.al = al;
  g.nnodes = nn;
  g.head = wasync_arena_array(ar, nn + 1, 4);
  if (!a->flags || !a->runtime || !a->type_unwinds || !a->why || !a->why_type ||
      !uses_type || !queue || !marked || !g.head)
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  memset(g.head, 0xFF, (size_t)(nn + 1) * 4);
  const WasyncName *names = wasync_module_func_names(m);
  bool ok = true;

  /* Imports. */
  for (uint32_t f = 0; f < m->nfunc_imports; f++) {
    const WasyncImport *imp = &m->imports[m->funcs[f].import];
    int k = runtime_kind(imp);
    if (k < 0) {
      ok = wasync_fail(err, WASYNC_ERR_UNSUPPORTED, imp->offset,
                       "unknown asyncify import asyncify.%.*s",
                       (int)imp->field.len, (const char *)imp->field.bytes);
      goto out;
    }
    if (k != ART_NONE) {
      a->runtime[f] = (uint8_t)k;
      a->flags[f] |= AFN_RUNTIME;
      if (k == ART_START_UNWIND || k == ART_STOP_REWIND)
        a->flags[f] |= AFN_CAN_CHANGE;
      continue;
    }
    bool may;
    if (o->ignore_imports)
      may = false;
    else if (!o->imports_given)
      may = true;
    else {
      /* "module.field" */
      size_t len = imp->module.len + 1 + imp->field.len;
      uint8_t small[256];
      uint8_t *buf = len <= sizeof small ? small : wasync_arena_alloc(ar, len);
      if (!buf) {
        ok = wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
        goto out;
      }
      memcpy(buf, imp->module.bytes, imp->module.len);
      buf[imp->module.len] = '.';
      memcpy(buf + imp->module.len + 1, imp->field.bytes, imp->field.len);
      may = wasync_asyncify_list_match(&o->imports, buf, len);
    }
    if (may) a->flags[f] |= AFN_CAN_CHANGE;
  }

  /* References.  An exported function can only come back as a reference
   * (into a table, or as a funcref argument) when references cross the
   * module boundary at all. */
  a->foreign_reason = (uint8_t)foreign_functions(m);
  a->foreign = a->foreign_reason != AFR_NONE;
  for (uint32_t i = 0; i < m->nexports && a->foreign; i++)
    if (m->exports[i].kind == WASYNC_EXTERN_FUNC && m->exports[i].index < nf)
      a->flags[m->exports[i].index] |= AFN_REFERENCED;
  for (uint32_t i = 0; i < m->nelems; i++) {
    const WasyncElem *e = &m->elems[i];
    for (uint32_t j = 0; j < e->count; j++) {
      if (e->funcs && e->funcs[j] < nf) a->flags[e->funcs[j]] |= AFN_REFERENCED;
      if (e->exprs) scan_expr(m, &e->exprs[j], a->flags, err);
    }
  }
  for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++)
    scan_expr(m, &m->globals[i].init, a->flags, err);
  for (uint32_t i = 0; i < m->ntables; i++)
    if (m->tables[i].has_init) scan_expr(m, &m->tables[i].init, a->flags, err);

  /* Bodies: direct edges, indirect call types, asyncify runtime calls. */
  WasyncInstrReader ir;
  wasync_instr_reader_init(&ir, m, m->bytes, 0, 0, err);
  for (uint32_t f = m->nfunc_imports; f < nf && ok; f++) {
    const WasyncCode *c = &m->funcs[f].code;
    ir.r.base = c->body;
    ir.r.pos = c->expr_start;
    ir.r.end = c->size;
    WasyncInstr in;
    while (ir.r.pos < ir.r.end) {
      if (!wasync_instr_decode(&ir, &in)) {
        ok = false;
        break;
      }
      switch (in.op) {
      case WASYNC_OP_CALL:
      case WASYNC_OP_RETURN_CALL: {
        uint32_t t = in.imm.index;
        if (t >= nf) break;
        switch (a->runtime[t]) {
        case ART_START_UNWIND:
        case ART_STOP_REWIND: a->flags[f] |= AFN_TOPMOST; break;
        case ART_STOP_UNWIND:
        case ART_START_REWIND: a->flags[f] |= AFN_BOTTOMMOST; break;
        default: add_edge(&g, t, f);
        }
        break;
      }
      case WASYNC_OP_CALL_INDIRECT:
      case WASYNC_OP_RETURN_CALL_INDIRECT:
        if (in.imm.pair.a < nt) {
          uses_type[in.imm.pair.a] = 1;
          add_edge(&g, nf + in.imm.pair.a, f);
        }
        break;
      case WASYNC_OP_CALL_REF:
      case WASYNC_OP_RETURN_CALL_REF:
        if (in.imm.index < nt) {
          uses_type[in.imm.index] = 1;
          add_edge(&g, nf + in.imm.index, f);
        }
        break;
      case WASYNC_OP_REF_FUNC:
        if (in.imm.index < nf) a->flags[in.imm.index] |= AFN_REFERENCED;
        break;
      default: break;
      }
    }
  }
  wasync_instr_reader_release(&ir);
  if (!ok) goto out;

  /* Candidate edges f -> T. */
  for (uint32_t t = 0; t < nt && !o->ignore_indirect; t++) {
    if (!uses_type[t]) continue;
    WasyncValType tt = wasync_vt_ref_index(false, t);
    for (uint32_t f = 0; f < nf; f++) {
      if (!(a->flags[f] & AFN_REFERENCED)) continue;
      uint32_t ft = m->funcs[f].type;
      if (ft == t || wasync_valtype_sub(m, wasync_vt_ref_index(false, ft), tt))
        add_edge(&g, f, nf + t);
    }
  }
  if (g.oom) {
    ok = wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    goto out;
  }

  /* Lists. */
  if (o->only_list.count && (o->add_list.count || o->remove_list.count)) {
    ok = wasync_fail(err, WASYNC_ERR_ARGUMENT, 0,
                     "the asyncify only-list cannot be combined with the "
                     "add-list or the remove-list");
    goto out;
  }
  for (uint32_t f = m->nfunc_imports; f < nf; f++) {
    if (listed(m, &o->remove_list, f, names)) a->flags[f] |= AFN_REMOVED;
    if (listed(m, &o->add_list, f, names) ||
        listed(m, &o->only_list, f, names)) {
      if (a->flags[f] & AFN_REMOVED) {
        ok = wasync_fail(err, WASYNC_ERR_ARGUMENT, 0,
                         "function %u is in the add-list and the remove-list",
                         f);
        goto out;
      }
      a->flags[f] |= AFN_ADDED;
    }
  }

  /* Seeds. */
  uint32_t qh = 0, qt = 0;
  for (uint32_t n = 0; n < nn; n++)
    a->why[n] = UINT32_MAX;
  if (o->only_list.count) {
    for (uint32_t f = m->nfunc_imports; f < nf; f++)
      if (a->flags[f] & AFN_ADDED) a->flags[f] |= AFN_CAN_CHANGE;
    for (uint32_t t = 0; t < nt; t++)
      a->type_unwinds[t] = !o->ignore_indirect && uses_type[t];
    goto decide;
  }
  for (uint32_t f = 0; f < nf; f++) {
    uint8_t fl = a->flags[f];
    if (f >= m->nfunc_imports) {
      if (fl & AFN_BOTTOMMOST) continue;
      if (fl & AFN_REMOVED) continue;
      if ((fl & AFN_TOPMOST) || ((fl & AFN_ADDED) && o->propagate_add))
        a->flags[f] |= AFN_CAN_CHANGE;
    }
    if (a->flags[f] & AFN_CAN_CHANGE) {
      marked[f] = 1;
      queue[qt++] = f;
    }
  }
  /* Host functions placed in a table or passed as references may suspend
   * (Emscripten's addFunction of a JS function using handleSleep): with
   * foreign functions in reach, every indirect call may unwind, as in
   * Binaryen, even with an explicit import list -- unless imports are
   * ignored or precise_indirect trusts the type analysis alone. */
  a->host_indirect = !o->ignore_indirect && a->foreign && !o->ignore_imports &&
                     !o->precise_indirect;
  if (a->host_indirect) {
    for (uint32_t t = 0; t < nt; t++)
      if (uses_type[t]) {
        marked[nf + t] = 1;
        queue[qt++] = nf + t;
      }
  }
  while (qh < qt) {
    uint32_t n = queue[qh++];
    for (uint32_t e = g.head[n]; e != UINT32_MAX; e = g.next[e]) {
      uint32_t to = g.to[e];
      if (marked[to]) continue;
      if (to < nf && (a->flags[to] & (AFN_BOTTOMMOST | AFN_REMOVED))) continue;
      if (to >= nf && o->ignore_indirect) continue;
      marked[to] = 1;
      a->why[to] = n;
      queue[qt++] = to;
      if (to < nf) a->flags[to] |= AFN_CAN_CHANGE;
    }
  }
  /* Add-listed functions can change the state too, after the propagation
   * (as in Binaryen: their callers are not added, unless propagate_add),
   * so that a direct call of one from an instrumented function is a call
   * site -- the add-list's use with ignore-indirect, where the added
   * function suspends through an indirect call. */
  for (uint32_t f = m->nfunc_imports; f < nf; f++)
    if ((a->flags[f] & AFN_ADDED) &&
        !(a->flags[f] & (AFN_BOTTOMMOST | AFN_REMOVED)))
      a->flags[f] |= AFN_CAN_CHANGE;
  for (uint32_t t = 0; t < nt; t++)
    a->type_unwinds[t] = marked[nf + t];

decide:
  for (uint32_t f = m->nfunc_imports; f < nf; f++) {
    uint8_t fl = a->flags[f];
    if (o->only_list.count) {
      if (fl & AFN_ADDED) a->flags[f] |= AFN_INSTRUMENT;
      continue;
    }
    if (fl & (AFN_TOPMOST | AFN_BOTTOMMOST | AFN_REMOVED)) continue;
    if ((fl & AFN_CAN_CHANGE) || (fl & AFN_ADDED))
      a->flags[f] |= AFN_INSTRUMENT;
  }
out:
  al->free(al->ctx, g.next);
  al->free(al->ctx, g.to);
  return ok;
}
