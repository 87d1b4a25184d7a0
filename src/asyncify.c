/*
 * asyncify.c -- the asyncify pass: Binaryen's Asyncify ABI, in one pass.
 *
 * Idea.  A module is made able to *pause* in the middle of a call stack
 * (unwind it into a buffer, returning to the host), and to *resume* (rewind:
 * the host calls the same export again and every function on the saved
 * stack skips forward to the call it was paused in, restoring its locals).
 * The ABI is exactly Binaryen's, so existing drivers (Emscripten's
 * Asyncify JS, asyncify-wasm) work unchanged:
 *
 *   global __asyncify_state: i32   0 normal, 1 unwinding, 2 rewinding
 *   global __asyncify_data:  iPTR  address of {pos: iPTR, end: iPTR}
 *   export asyncify_start_unwind(data)  state = 1, data = data
 *   export asyncify_stop_unwind()       state = 0
 *   export asyncify_start_rewind(data)  state = 2, data = data
 *   export asyncify_stop_rewind()       state = 0
 *   export asyncify_get_state() -> i32
 * Each of the four control functions traps (unreachable) when pos > end.
 * Imports asyncify.start_unwind/stop_unwind/start_rewind/stop_rewind/
 * get_state are replaced by these functions (control from inside the
 * module); functions calling start_unwind/stop_rewind are the "top-most
 * runtime" (their callers are instrumented, they are not), functions calling
 * stop_unwind/start_rewind the "bottom-most runtime" (never instrumented).
 *
 * Analysis (asyncify_analysis.c): which calls may unwind.  Imports per the
 * import list (default: all), indirect calls by *type*: a call_indirect or
 * call_ref of type T can only reach referenced functions whose type is a
 * subtype of T -- in a closed module; when function references cross the
 * module boundary (an imported or exported table, funcref parameters...)
 * the host may place a suspending function in reach, so every indirect
 * call may unwind (as in Binaryen; precise_indirect keeps the type
 * analysis alone).  Only functions that may be on the stack
 * during an unwind are instrumented; every other body is copied byte for
 * byte by the encoder.
 *
 * Rewrite (asyncify_rewrite.c, in steps: asyncify_mark.c,
 * asyncify_generate.c, asyncify_finish.c), per instrumented function:
 *
 *   prologue:  if (state == 2) { (ci, locals) = pop frame }
 *   block $save (result i32)
 *     block $body (result R*)
 *       ... the body ...
 *     end
 *     return
 *   end $save: save the frame (the call index on the stack)
 *   return zeros
 *
 * In the body, every nesting level (a "sequence") that contains an
 * unwinding call is split into *pieces*: the unwinding calls and the nested
 * constructs that contain one.  Everything else runs unguarded, exactly as
 * before.  Each piece gets a block that ends where the piece starts, so a
 * rewind can jump straight to it:
 *
 *   block $p(k-1) ... block $p0
 *     if (state) br_table[ci - base] -> $p(piece holding site ci)
 *                 (inside the body the state is 0 or 2 here)
 *     cold code...            end $p0
 *     piece 0 (a call site):  args...; call; i32.const i;
 *                             br_if $save (state); drop
 *                             (state != 0 after the call: unwinding; the
 *                             call index travels as the branch value)
 *     cold code...            end $p1
 *     piece 1 (say a loop, whose body is a sequence of its own) ...
 *
 * Between pieces the operand stack lives in locals ("temps", one per stack
 * height and type), so pieces start on an empty stack -- except a call's
 * trailing arguments that are local.gets of numeric locals or constants
 * (emitted after the piece starts instead: a constant is the same on the
 * rewind, the local is saved with the frame) and a call's results when
 * nothing lies below its arguments (they stay on the stack as the start of
 * the next cold run).  On the rewind every instrumented call gets exactly
 * the operands it had when it unwound, as with Binaryen (an import may act
 * on its arguments on both visits): each operand's temp, or the local a
 * moved local.get reads, is saved with the frame.  An `if` piece keeps
 * its condition in a local saved with the frame so the rewind takes the
 * same arm (the cold run before it stores the condition there and is
 * skipped on a rewind; else cl = state ? cl : cond).  When a sequence starts
 * with a hot block/loop/try, that construct's dispatch serves the enclosing
 * sequences too (a br leaves it), so nested switch-like blocks cost one state
 * check. A dispatch whose table would be larger than a chain of compares (one
 * per piece) is encoded as that chain.
 *
 * Split rewind path: a function with hundreds of unwinding call sites (an
 * interpreter loop) pays for the dispatch's merges on every call.  The one
 * with the most (by default; split_min_sites) is emitted twice, as two new
 * functions -- `fast`, without the dispatches, and `rewind`, the full
 * rewrite (same frame layout, same call-site numbers) -- and becomes a
 * trampoline: if (state == 2) return rewind(args); return fast(args).  A
 * rewound activation finishes in `rewind`.  See asyncify_finish.c.
 *
 * Module editing (adding the globals, tables, runtime functions and
 * exports, removing the asyncify.* imports, importing the state globals)
 * goes through module_edit.h.
 *
 * Frames are pushed and popped by shared functions, and their locals
 * written and read by shared functions per count of locals of each class
 * (asyncify_frames.c): a save block is local.gets and one call, a restore
 * one call (multi-value) or a call per local; frames of more than 16
 * numeric locals are stored by a call per run of 16.
 *
 * Frame layout (private to the module; drivers only touch {pos, end}):
 * frames grow upward from pos.  A frame is the values of the locals that are
 * live across its call site (liveness over the rewritten body,
 * asyncify_liveness.c) -- i32/f32 4 bytes, i64/f64 8, v128 16; every i32,
 * then i64, f32, f64, v128, each class in local order -- followed by the
 * i32 call index.  A function has one frame layout, the union of its
 * sites' live sets (several layouts would cost save and restore code per
 * layout; a bigger frame costs only buffer bytes; see asyncify_finish.c).
 * Rewinding reads the call index at pos-4, pops the frame
 * (pos -= size + 4) and restores.  Reference-typed locals cannot live in
 * linear memory: they are pushed on per-hierarchy reference stacks (a
 * table of funcref/externref/anyref/exnref plus an i32 stack-pointer global,
 * both added by the pass) in the same LIFO order.
 *
 * Overflow contract: an unwinding frame is written only if it fits
 * (pos <= end and end - pos >= size); pos advances by the frame size in
 * every case.  After an unwind that did not fit, pos > end: pos - end is
 * how many more bytes the buffer needed (the exact total when starting
 * from the same pos), nothing past end was written, and
 * asyncify_stop_unwind (like every control function) traps, as in
 * Binaryen -- a driver that wants to grow the buffer reads pos first.
 *
 * Tail calls to functions that may unwind become call + return inside
 * instrumented functions.  A call that may unwind inside a legacy `catch`
 * handler is refused (a handler cannot be re-entered on rewind); calls in
 * try/try_table bodies are fine.
 *
 * Options (WasyncAsyncifyOptions, Binaryen's --pass-arg spellings in the
 * CLI): import list, ignore-imports, ignore-indirect, add/remove/only lists
 * (+ propagate-add), asserts (a call assumed not to unwind traps if it
 * changed the state: in instrumented functions, and in every other function
 * through asyncify_asserts.c), import/export of the globals
 * (relocatable: env.__asyncify_state / env.__asyncify_data), which memory.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncify.h"
#include "asyncify_emit.h"
#include "module_edit.h"

void wasync_asyncify_log(const WasyncAsyncifyOptions *o, const char *fmt, ...) {
  if (!o->log) return;
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  o->log(o->log_ctx, line);
}

static void fname(WasyncModule *m, uint32_t f, char *buf, size_t cap) {
  const WasyncName *names = wasync_module_func_names(m);
  if (f < m->nfunc_imports) {
    const WasyncImport *imp = &m->imports[m->funcs[f].import];
    snprintf(buf, cap, "%.*s.%.*s", (int)imp->module.len,
             (const char *)imp->module.bytes, (int)imp->field.len,
             (const char *)imp->field.bytes);
  } else if (names && names[f].bytes) {
    snprintf(buf, cap, "%.*s", (int)names[f].len, (const char *)names[f].bytes);
  } else {
    snprintf(buf, cap, "%u", f);
  }
}

static void put_instr(WasyncBuf *b, uint16_t op, uint64_t imm) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  if (op == WASYNC_OP_I32_CONST)
    in.imm.i32 = (int32_t)imm;
  else
    in.imm.index = (uint32_t)imm;
  wasync_instr_encode(b, &in);
}

static void put_memop(WasyncBuf *b, const WasyncAsyncifyCtx *c, uint16_t op,
                      uint64_t off) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.memarg.align = c->mem64 ? 3 : 2;
  in.imm.memarg.offset = off;
  in.imm.memarg.memory = c->memory;
  in.imm.memarg.has_memory = c->memory != 0;
  wasync_instr_encode(b, &in);
}

/* The five runtime functions; returns their indices in rt[ART_*]. */
static bool add_runtime(WasyncAsyncifyCtx *c, uint32_t rt[ART_COUNT]) {
  WasyncModule *m = c->m;
  WasyncValType ptr = c->mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32;
  WasyncValType i32 = WASYNC_VT_I32;
  uint32_t t_ptr, t_void, t_get;
  if (!wasync_module_add_type(m, &ptr, 1, NULL, 0, &t_ptr) ||
      !wasync_module_add_type(m, NULL, 0, NULL, 0, &t_void) ||
      !wasync_module_add_type(m, NULL, 0, &i32, 1, &t_get))
    return false;
  static const int states[ART_COUNT] = {0, 1, 0, 2, 0, 0};
  for (int k = ART_START_UNWIND; k < ART_COUNT; k++) {
    WasyncBuf b;
    wasync_buf_init(&b, m->arena.allocator);
    if (k == ART_GET_STATE) {
      put_instr(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
    } else {
      bool set = k == ART_START_UNWIND || k == ART_START_REWIND;
      put_instr(&b, WASYNC_OP_I32_CONST, (uint64_t)states[k]);
      put_instr(&b, WASYNC_OP_GLOBAL_SET, c->g_state);
      if (set) {
        put_instr(&b, WASYNC_OP_LOCAL_GET, 0);
        put_instr(&b, WASYNC_OP_GLOBAL_SET, c->g_data);
      }
      /* if (data.pos > data.end) unreachable */
      uint16_t ld = c->mem64 ? WASYNC_OP_I64_LOAD : WASYNC_OP_I32_LOAD;
      put_instr(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
      put_memop(&b, c, ld, 0);
      put_instr(&b, WASYNC_OP_GLOBAL_GET, c->g_data);
      put_memop(&b, c, ld, c->mem64 ? 8 : 4);
      put_instr(&b, c->mem64 ? WASYNC_OP_I64_GT_U : WASYNC_OP_I32_GT_U, 0);
      WasyncInstr in;
      memset(&in, 0, sizeof in);
      in.op = WASYNC_OP_IF;
      in.imm.block.kind = WASYNC_BLOCK_EMPTY;
      wasync_instr_encode(&b, &in);
      put_instr(&b, WASYNC_OP_UNREACHABLE, 0);
      put_instr(&b, WASYNC_OP_END, 0);
    }
    put_instr(&b, WASYNC_OP_END, 0);
    uint32_t type = k == ART_GET_STATE                                 ? t_get
                    : (k == ART_START_UNWIND || k == ART_START_REWIND) ? t_ptr
                                                                       : t_void;
    bool ok = !b.oom && wasync_module_add_func(m, type, b.data, b.size, &rt[k]);
    wasync_buf_release(&b);
    if (!ok) return false;
  }
  static const char *const names[ART_COUNT] = {NULL,
                                               "asyncify_start_unwind",
                                               "asyncify_stop_unwind",
                                               "asyncify_start_rewind",
                                               "asyncify_stop_rewind",
                                               "asyncify_get_state"};
  for (int k = ART_START_UNWIND; k < ART_COUNT; k++)
    if (!wasync_module_add_export(m, names[k], WASYNC_EXTERN_FUNC, rt[k]))
      return false;
  return true;
}

static bool pick_memory(WasyncAsyncifyCtx *c) {
  WasyncModule *m = c->m;
  const char *sel = c->o->memory;
  if (sel && *sel) {
    char *end = NULL;
    unsigned long v = strtoul(sel, &end, 10);
    if (end && *end == '\0' && end != sel) {
      if (v >= m->nmemories)
        return wasync_fail(c->err, WASYNC_ERR_ARGUMENT, 0,
                           "asyncify memory %lu does not exist", v);
      c->memory = (uint32_t)v;
    } else {
      size_t len = strlen(sel);
      bool found = false;
      for (uint32_t i = 0; i < m->nexports && !found; i++)
        if (m->exports[i].kind == WASYNC_EXTERN_MEMORY &&
            m->exports[i].name.len == len &&
            memcmp(m->exports[i].name.bytes, sel, len) == 0) {
          c->memory = m->exports[i].index;
          found = true;
        }
      if (!found)
        return wasync_fail(c->err, WASYNC_ERR_ARGUMENT, 0,
                           "asyncify memory: no exported memory named %s", sel);
    }
  } else if (m->nmemories == 0) {
    if (!wasync_module_add_memory(m, 1, &c->memory))
      return wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  } else if (m->nmemories > 1) {
    /* Binaryen's default: the memory exported as "memory". */
    c->memory = 0;
    for (uint32_t i = 0; i < m->nexports; i++)
      if (m->exports[i].kind == WASYNC_EXTERN_MEMORY &&
          m->exports[i].name.len == 6 &&
          memcmp(m->exports[i].name.bytes, "memory", 6) == 0)
        c->memory = m->exports[i].index;
  }
  c->mem64 = m->memories[c->memory].limits.is64;
  return true;
}

/* The function --why names: by its name in the name section ($ optional),
 * else by an export name, else by its index; UINT32_MAX: none. */
static uint32_t why_function(WasyncModule *m, const char *why) {
  const WasyncName *names = wasync_module_func_names(m);
  size_t len = strlen(why);
  const char *w = why[0] == '$' ? why + 1 : why;
  size_t wl = why[0] == '$' ? len - 1 : len;
  for (uint32_t f = 0; names && f < m->nfuncs; f++)
    if (names[f].bytes && names[f].len == wl &&
        memcmp(names[f].bytes, w, wl) == 0)
      return f;
  for (uint32_t e = 0; e < m->nexports; e++)
    if (m->exports[e].kind == WASYNC_EXTERN_FUNC &&
        m->exports[e].name.len == len &&
        memcmp(m->exports[e].name.bytes, why, len) == 0)
      return m->exports[e].index;
  uint64_t f = 0;
  if (wl == 0 || wl > 10) return UINT32_MAX;
  for (size_t i = 0; i < wl; i++) {
    if (w[i] < '0' || w[i] > '9') return UINT32_MAX;
    f = f * 10 + (uint64_t)(w[i] - '0');
  }
  return f < m->nfuncs ? (uint32_t)f : UINT32_MAX;
}

static void explain(WasyncAsyncifyCtx *c, uint32_t f) {
  WasyncModule *m = c->m;
  WasyncAsyncifyAnalysis *a = c->a;
  char buf[512];
  fname(m, f, buf, sizeof buf);
  if (!(a->flags[f] & AFN_INSTRUMENT)) {
    wasync_asyncify_log(c->o, "%s is not instrumented", buf);
    if (!(a->flags[f] & AFN_CAN_CHANGE)) return;
  } else {
    wasync_asyncify_log(c->o, "%s is instrumented:", buf);
  }
  uint32_t n = f, steps = 0;
  while (steps++ < a->nfuncs + a->ntypes + 2) {
    if (a->flags[n < a->nfuncs ? n : 0] & AFN_ADDED && n < a->nfuncs &&
        a->why[n] == UINT32_MAX) {
      fname(m, n, buf, sizeof buf);
      wasync_asyncify_log(c->o, "  %s is in the add/only list", buf);
      return;
    }
    uint32_t w = a->why[n];
    if (w == UINT32_MAX) {
      if (n < a->nfuncs) {
        fname(m, n, buf, sizeof buf);
        if (n < m->nfunc_imports)
          wasync_asyncify_log(c->o, "  %s is an import that may unwind", buf);
        else if (a->flags[n] & AFN_TOPMOST)
          wasync_asyncify_log(
              c->o, "  %s calls asyncify.start_unwind/stop_rewind", buf);
      } else {
        static const char *const how[] = {
            "", "the module imports a table", "the module exports a table",
            "function references come in through an import",
            "function references go out through an export"};
        wasync_asyncify_log(
            c->o,
            "  indirect calls of type %u may reach host functions, which "
            "may suspend (%s; --precise-indirect trusts the type "
            "analysis instead)",
            n - a->nfuncs, how[a->foreign_reason < 5 ? a->foreign_reason : 0]);
      }
      return;
    }
    char b2[512];
    if (n < a->nfuncs) fname(m, n, buf, sizeof buf);
    if (w < a->nfuncs) {
      fname(m, w, b2, sizeof b2);
      if (n < a->nfuncs)
        wasync_asyncify_log(c->o, "  %s calls %s", buf, b2);
      else
        wasync_asyncify_log(
            c->o,
            "  (an indirect call of type %u may reach %s: the type "
            "analysis)",
            n - a->nfuncs, b2);
    } else {
      wasync_asyncify_log(c->o, "  %s does an indirect call of type %u", buf,
                          w - a->nfuncs);
    }
    n = w;
  }
}

/* ---- split rewind paths ---------------------------------------------------
 * Which instrumented functions get a rewind-only copy (split_min_sites in
 * wasync.h).  The rewind dispatch joins the restored locals into the normal
 * path at every piece, which engines pay for on every call, rewinding or
 * not; a function with hundreds of unwinding call sites (an interpreter
 * loop) pays most.  Counting the sites needs a decode of each candidate
 * body; a body shorter than 3 bytes per site cannot qualify. */

static uint32_t count_sites(WasyncAsyncifyCtx *c, uint32_t f) {
  WasyncModule *m = c->m;
  const WasyncCode *code = &m->funcs[f].code;
  WasyncInstrReader ir;
  body_reader(m, code, c->err, &ir);
  WasyncInstr in;
  uint32_t n = 0;
  while (ir.r.pos < ir.r.end && wasync_instr_decode(&ir, &in))
    if (is_call(in.op) && wasync_asyncify_call_unwinds(m, c->a, f, &in)) n++;
  wasync_instr_reader_release(&ir);
  return n;
}

typedef struct SplitCand {
  uint32_t func, sites;
} SplitCand;

/* Most sites first; ties by function index (a total order: qsort is not
 * stable). */
static int by_sites(const void *pa, const void *pb) {
  const SplitCand *a = pa, *b = pb;
  if (a->sites != b->sites) return a->sites > b->sites ? -1 : 1;
  return a->func < b->func ? -1 : a->func > b->func;
}

static bool choose_splits(WasyncAsyncifyCtx *c) {
  WasyncModule *m = c->m;
  uint32_t nf = m->nfuncs, min = c->o->split_min_sites;
  bool automatic = min == 0;
  if (min == UINT32_MAX) return true;
  if (automatic) min = WASYNC_ASYNCIFY_SPLIT_AUTO_SITES;
  c->split = wasync_arena_array(&m->arena, nf + 1, 1);
  uint32_t *sites = wasync_arena_array(&m->arena, nf + 1, 4);
  if (!c->split || !sites)
    return wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  memset(c->split, 0, nf + 1);
  uint64_t code_bytes = 0;
  for (uint32_t f = m->nfunc_imports; f < nf; f++) {
    code_bytes += m->funcs[f].code.size;
    sites[f] = 0;
    if ((c->a->flags[f] & AFN_INSTRUMENT) &&
        m->funcs[f].code.size >= 3 * (uint64_t)min)
      sites[f] = count_sites(c, f);
    if (!automatic && sites[f] >= min) c->split[f] = 1;
  }
  /* Largest site counts first, within the count and size budgets. */
  uint64_t budget = code_bytes * WASYNC_ASYNCIFY_SPLIT_AUTO_PERCENT / 100;
  uint32_t ncand = 0;
  SplitCand *cand =
      automatic ? wasync_arena_array(&m->arena, nf + 1, sizeof *cand) : NULL;
  if (automatic && !cand)
    return wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t f = m->nfunc_imports; f < nf && automatic; f++)
    if (sites[f] >= min) {
      cand[ncand].func = f;
      cand[ncand].sites = sites[f];
      ncand++;
    }
  if (ncand) qsort(cand, ncand, sizeof *cand, by_sites);
  for (uint32_t k = 0; k < ncand && k < WASYNC_ASYNCIFY_SPLIT_AUTO_COUNT; k++) {
    uint32_t size = m->funcs[cand[k].func].code.size;
    if (size > budget) continue;
    c->split[cand[k].func] = 1;
    budget -= size;
  }
  if (c->o->verbose) {
    char buf[512];
    for (uint32_t f = m->nfunc_imports; f < nf; f++)
      if (c->split[f]) {
        fname(m, f, buf, sizeof buf);
        wasync_asyncify_log(c->o,
                            "split rewind path: %s (%u call sites may unwind)",
                            buf, sites[f]);
      }
  }
  return true;
}

bool wasync_asyncify(WasyncModule *m, const WasyncAsyncifyOptions *o,
                     WasyncError *err) {
  WasyncAsyncifyOptions defaults;
  if (!o) {
    memset(&defaults, 0, sizeof defaults);
    o = &defaults;
  }
  if (!m->validated && !wasync_module_validate(m, err)) return false;

  WasyncAsyncifyAnalysis a;
  WasyncAsyncifyCtx c;
  memset(&c, 0, sizeof c);
  c.m = m;
  c.o = o;
  c.a = &a;
  c.err = err;
  WasyncAsyncifySizes sizes;
  memset(&sizes, 0, sizeof sizes);
  if (o->size_report) c.sizes = &sizes;
  if (!pick_memory(&c) || !wasync_asyncify_check_lists(m, o, err)) return false;
  c.multivalue = wasync_asyncify_multivalue(m, o->multivalue);
  c.nfuncs_before = m->nfuncs;
  if (!wasync_asyncify_analyze(m, o, &a, err)) return false;
  uint32_t nf = m->nfuncs;
  if (o->binaryen_verbose) wasync_asyncify_binaryen_verbose(&c);
  if (o->verbose) {
    char buf[512];
    for (uint32_t f = m->nfunc_imports; f < nf; f++)
      if (a.flags[f] & AFN_INSTRUMENT) {
        fname(m, f, buf, sizeof buf);
        wasync_asyncify_log(o, "instrumented: %s", buf);
      }
  }
  if (o->why) {
    uint32_t f = why_function(m, o->why);
    if (f < nf)
      explain(&c, f);
    else
      wasync_asyncify_log(
          o,
          "%s: no such function (not a function name, an export name "
          "nor a function index)",
          o->why);
  }

  /* Globals come first (the rewrite refers to them). */
  c.nglobals_before = m->nglobals;
  c.ntables_before = m->ntables;
  c.g_state = m->nglobals;
  c.g_data = m->nglobals + 1;
  /* Multi-result functions need a [] -> results block type. */
  c.results_type = wasync_arena_array(&m->arena, nf + 1, 4);
  if (!c.results_type)
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t f = m->nfunc_imports; f < nf; f++) {
    const WasyncSubType *st = wasync_func_type(m, f);
    if ((a.flags[f] & AFN_INSTRUMENT) && st->nresults > 1) {
      WasyncValType *res = st->results;
      uint32_t nr = st->nresults;
      if (!wasync_module_add_type(m, NULL, 0, res, nr, &c.results_type[f]))
        return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    }
  }
  if (!choose_splits(&c)) return false;
  WasyncFuncValidator *v = wasync_funcv_new(m, err);
  if (!v) return false;
  bool ok = true;
  for (uint32_t f = m->nfunc_imports; f < nf && ok; f++)
    if (a.flags[f] & AFN_INSTRUMENT)
      ok = wasync_asyncify_function(&c, f, v);
    else if (o->asserts)
      ok = wasync_asyncify_assert_function(&c, f);
  wasync_funcv_free(v);
  if (!ok) return false;
  if (c.sizes) wasync_asyncify_sizes_added(&c, SZ_HELPERS, c.nfuncs_before);

  /* Module-level additions. */
  static const uint8_t zero_i32[] = {0x41, 0x00, 0x0B};
  static const uint8_t zero_i64[] = {0x42, 0x00, 0x0B};
  if (!wasync_module_add_global(m, WASYNC_VT_I32, true, zero_i32,
                                sizeof zero_i32, NULL) ||
      !wasync_module_add_global(m, c.mem64 ? WASYNC_VT_I64 : WASYNC_VT_I32,
                                true, c.mem64 ? zero_i64 : zero_i32, 3, NULL))
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t i = 0; i < c.nref_new; i++) {
    int kind = -1;
    for (int k = 0; k < 4; k++)
      if (c.ref_used[k] && c.ref_table[k] == c.ntables_before + i) kind = k;
    static const uint8_t tops[4] = {WASYNC_HT_FUNC, WASYNC_HT_EXTERN,
                                    WASYNC_HT_ANY, WASYNC_HT_EXN};
    WasyncValType t = wasync_vt_ref_abstract(true, tops[kind < 0 ? 0 : kind]);
    if (!wasync_module_add_table(m, t, 0, NULL))
      return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
    if (!wasync_module_add_global(m, WASYNC_VT_I32, true, zero_i32,
                                  sizeof zero_i32, NULL))
      return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  }
  uint32_t rt[ART_COUNT] = {0};
  uint32_t nf_rt = m->nfuncs;
  if (!add_runtime(&c, rt))
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  if (c.sizes) wasync_asyncify_sizes_added(&c, SZ_RUNTIME, nf_rt);
  c.nadded = m->nfuncs - c.nfuncs_before;
  /* The asyncify.* imports become calls of the runtime functions. */
  uint32_t *redirect = wasync_arena_array(&m->arena, m->nfunc_imports + 1, 4);
  if (!redirect) return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  for (uint32_t f = 0; f < m->nfunc_imports; f++)
    redirect[f] = a.runtime[f] ? rt[a.runtime[f]] : UINT32_MAX;
  if (!wasync_module_remove_func_imports(m, redirect, err)) return false;
  if (o->export_globals &&
      (!wasync_module_add_export(m, "__asyncify_state", WASYNC_EXTERN_GLOBAL,
                                 c.g_state) ||
       !wasync_module_add_export(m, "__asyncify_data", WASYNC_EXTERN_GLOBAL,
                                 c.g_data)))
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  /* asyncify-relocatable: env.__asyncify_state / env.__asyncify_data. */
  static const char *const state_names[2] = {"__asyncify_state",
                                             "__asyncify_data"};
  if (o->import_globals &&
      !wasync_module_import_globals(m, c.g_state, 2, "env", state_names, err))
    return false;
  if (!wasync_asyncify_write_names(&c))
    return wasync_fail(err, WASYNC_ERR_NOMEM, 0, "out of memory");
  if (c.sizes) return wasync_asyncify_sizes_report(&c, m->size);
  return true;
}
