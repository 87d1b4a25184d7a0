/*
 * validate.h -- the spec's validation, exposed so passes can ride along.
 *
 * Module-level rules are checked by wasync_module_validate() (wasync.h).
 * Function bodies are checked by a streaming WasyncFuncValidator: begin a
 * function, feed it each decoded instruction with wasync_funcv_step(), and
 * at any point between steps read the operand stack (types before the next
 * instruction), the control stack and the locals.  A pass (asyncify) uses
 * exactly this to learn the stack types at every call.
 */
#ifndef WASYNC_VALIDATE_H
#define WASYNC_VALIDATE_H

#include "instr.h"
#include "module.h"

typedef struct WasyncFuncValidator WasyncFuncValidator;

typedef struct WasyncCtrlFrame {
  uint16_t op; /* WASYNC_OP_BLOCK/LOOP/IF/ELSE/TRY/CATCH/CATCH_ALL/
                  TRY_TABLE, or WASYNC_OP_CALL for the function */
  uint32_t nparams, nresults;
  const WasyncValType *params, *results;
  uint32_t height;  /* operand stack height at entry (params excluded) */
  bool unreachable; /* rest of the frame is stack-polymorphic */
} WasyncCtrlFrame;

WasyncFuncValidator *wasync_funcv_new(const WasyncModule *m, WasyncError *err);
void wasync_funcv_free(WasyncFuncValidator *v);

/* Starts a defined function (index in the function index space): declares
 * params and locals and pushes the function's frame. */
bool wasync_funcv_begin(WasyncFuncValidator *v, uint32_t func);
/* Type-checks one instruction and updates the stacks.  After the function's
 * final `end`, wasync_funcv_done() is true. */
bool wasync_funcv_step(WasyncFuncValidator *v, const WasyncInstr *in);
bool wasync_funcv_done(const WasyncFuncValidator *v);

uint32_t wasync_funcv_stack_height(const WasyncFuncValidator *v);
/* depth 0 = top.  WASYNC_VT_BOT for a value of unknown type (only in
 * unreachable code, which may also hold (ref bot): a reference type whose
 * abstract heap code is 0, below every heap type). */
WasyncValType wasync_funcv_stack_type(const WasyncFuncValidator *v,
                                      uint32_t depth);
uint32_t wasync_funcv_ctrl_height(const WasyncFuncValidator *v);
/* depth 0 = innermost. */
const WasyncCtrlFrame *wasync_funcv_ctrl(const WasyncFuncValidator *v,
                                         uint32_t depth);
uint32_t wasync_funcv_local_count(const WasyncFuncValidator *v);
WasyncValType wasync_funcv_local_type(const WasyncFuncValidator *v,
                                      uint32_t index);

/* A value type in the text format ("i32", "(ref null func)", "(ref 3)");
 * WASYNC_VT_BOT is "nothing" (an empty operand stack).  Uses buf (32 bytes
 * are enough) for reference types. */
const char *wasync_valtype_text(WasyncValType t, char *buf, size_t size);

/* Subtyping and type equivalence (iso-recursive), for passes too. */
bool wasync_valtype_sub(const WasyncModule *m, WasyncValType a,
                        WasyncValType b);
bool wasync_type_equiv(const WasyncModule *m, uint32_t a, uint32_t b);
/* Heap-type part of subtyping (both are reference types). */
bool wasync_heap_sub(const WasyncModule *m, WasyncValType a, WasyncValType b);
/* The top (any/func/extern/exn) and bottom (none/nofunc/noextern/noexn)
 * abstract heap type of a reference type's hierarchy. */
uint32_t wasync_heap_top(const WasyncModule *m, WasyncValType ref);
uint32_t wasync_heap_bottom(const WasyncModule *m, WasyncValType ref);
/* Checks the type section (forward references, declared supertypes) and
 * computes m->type_canon, which wasync_type_equiv() needs for recursive
 * types (without it, equivalence is index identity).  Called by
 * wasync_module_validate(); idempotent. */
bool wasync_types_prepare(WasyncModule *m, WasyncError *err);
/* An element segment's reference type.  Segments written as function
 * indices (flags bit 2 clear) hold (ref func) values: non-null. */
WasyncValType wasync_elem_type(const WasyncElem *e);

/* Restricts ref.func in bodies to the functions whose bit is set in `bits`
 * (the module's declared references; NULL: no restriction).  The bitset
 * must outlive the validator's use. */
void wasync_funcv_set_declared(WasyncFuncValidator *v, const uint8_t *bits);
/* Starts a constant expression producing one value of type `result` (no
 * locals); the caller filters which instructions are constant. */
bool wasync_funcv_begin_expr(WasyncFuncValidator *v, WasyncValType result,
                             uint64_t offset);

/* Validates one function body (decode + step to the end). */
bool wasync_func_validate(WasyncFuncValidator *v, uint32_t func);
/* The same, and the body's re-encoding is written through `w` to `out`
 * (body_writer.h; `out` is the writer's buffer).  When the body is a
 * replaced one nothing is written. */
typedef struct WasyncBodyWriter WasyncBodyWriter;
bool wasync_func_validate_reencode(WasyncFuncValidator *v, uint32_t func,
                                   WasyncBodyWriter *w, WasyncBuf *out);

#endif
