/*
 * asyncify_asserts.c -- asyncify-asserts in functions that are not
 * instrumented.
 *
 * The analysis decides which calls may unwind; a function none of whose
 * calls may is copied through unchanged.  If the analysis was told wrong (an
 * import missing from --imports, a function put on the remove-list, an
 * indirect call under --ignore-indirect), such a function would return
 * normally from a call that started an unwind, and the program would go on
 * with a half-unwound stack.  With --asserts every call in these functions
 * checks that it left the state as it found it:
 *
 *   global.get $state; local.set $old       (after the arguments)
 *   call ...
 *   global.get $state; local.get $old; i32.ne; if; unreachable; end
 *
 * (Instrumented functions get the equivalent check after their calls that
 * are assumed not to unwind, in asyncify_rewrite.c.)  Functions that call an
 * asyncify.* control function themselves -- the runtime, which changes the
 * state on purpose -- are left alone, as are tail calls (nothing runs after
 * them) and functions that already have the most locals an engine allows.
 */
#include <string.h>

#include "asyncify.h"
#include "asyncify_emit.h"
#include "wasync_limits.h"

static bool is_checked_call(const WasyncInstr *in) {
  return in->op == WASYNC_OP_CALL || in->op == WASYNC_OP_CALL_INDIRECT ||
         in->op == WASYNC_OP_CALL_REF;
}

/* One pass over the body: does it call anything, and does it call the
 * runtime?  *ok false on a decode failure (cannot happen: validated). */
static void scan(WasyncAsyncifyCtx *c, const WasyncCode *code, bool *calls,
                 bool *runtime, bool *ok) {
  WasyncModule *m = c->m;
  WasyncInstrReader ir;
  body_reader(c->m, code, c->err, &ir);
  WasyncInstr in;
  *calls = *runtime = false;
  *ok = true;
  while (ir.r.pos < ir.r.end) {
    if (!wasync_instr_decode(&ir, &in)) {
      *ok = false;
      break;
    }
    if (!is_checked_call(&in) && in.op != WASYNC_OP_RETURN_CALL) continue;
    if (in.op == WASYNC_OP_CALL || in.op == WASYNC_OP_RETURN_CALL) {
      if (in.imm.index < m->nfuncs && (c->a->flags[in.imm.index] & AFN_RUNTIME))
        *runtime = true;
    }
    if (is_checked_call(&in)) *calls = true;
  }
  wasync_instr_reader_release(&ir);
}

bool wasync_asyncify_assert_function(WasyncAsyncifyCtx *c, uint32_t func) {
  WasyncModule *m = c->m;
  WasyncCode *code = &m->funcs[func].code;
  const WasyncSubType *ft = wasync_func_type(m, func);
  bool calls, runtime, ok;
  scan(c, code, &calls, &runtime, &ok);
  if (!ok) return false;
  if (!calls || runtime) return true;
  if ((uint64_t)ft->nparams + code->nlocals + 1 > WASYNC_MAX_LOCALS)
    return true;

  uint32_t old = (uint32_t)(ft->nparams + code->nlocals);
  WasyncBuf b;
  wasync_buf_init(&b, m->arena.allocator);
  /* Locals: the declared groups, then one i32. */
  uint32_t ng = code->nlocal_groups + 1;
  WasyncLocalGroup *groups =
      wasync_arena_array(&m->arena, ng + 1, sizeof *groups);
  if (!groups) {
    wasync_buf_release(&b);
    return wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  }
  wasync_buf_u32(&b, ng);
  for (uint32_t g = 0; g < code->nlocal_groups; g++) {
    groups[g] = code->local_groups[g];
    wasync_buf_u32(&b, groups[g].count);
    wasync_write_valtype(&b, groups[g].type);
  }
  groups[ng - 1].count = 1;
  groups[ng - 1].type = WASYNC_VT_I32;
  wasync_buf_u32(&b, 1);
  wasync_write_valtype(&b, WASYNC_VT_I32);
  uint32_t expr_start = (uint32_t)b.size;

  WasyncInstrReader ir;
  body_reader(c->m, code, c->err, &ir);
  WasyncInstr in;
  while (ir.r.pos < ir.r.end) {
    if (!wasync_instr_decode(&ir, &in)) {
      ok = false;
      break;
    }
    bool check = is_checked_call(&in);
    if (check) {
      put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
      put_idx(&b, WASYNC_OP_LOCAL_SET, old);
    }
    wasync_instr_encode(&b, &in);
    if (check) {
      put_idx(&b, WASYNC_OP_GLOBAL_GET, c->g_state);
      put_idx(&b, WASYNC_OP_LOCAL_GET, old);
      put_op(&b, WASYNC_OP_I32_NE);
      put_block(&b, WASYNC_OP_IF);
      put_op(&b, WASYNC_OP_UNREACHABLE);
      put_op(&b, WASYNC_OP_END);
    }
  }
  wasync_instr_reader_release(&ir);
  if (ok && (b.oom || b.size > UINT32_MAX))
    ok = b.oom ? wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory")
               : wasync_fail(c->err, WASYNC_ERR_LIMIT, code->offset,
                             "function too large after asyncify");
  uint8_t *body = ok ? wasync_arena_alloc(&m->arena, b.size) : NULL;
  if (ok && !body)
    ok = wasync_fail(c->err, WASYNC_ERR_NOMEM, 0, "out of memory");
  if (ok) {
    memcpy(body, b.data, b.size);
    code->body = body;
    code->size = (uint32_t)b.size;
    code->expr_start = expr_start;
    code->nlocal_groups = ng;
    code->local_groups = groups;
    code->nlocals += 1;
    code->replaced = true;
  }
  wasync_buf_release(&b);
  return ok;
}
