/*
 * opcodes.c -- the opcode table (wasync_op_info) and the reverse lookup
 * from (prefix, code) to WasyncOp, both expanded from opcodes.def.
 *
 * The reverse table is one static array with a 512-entry slot per prefix
 * (none, 0xFB, 0xFC, 0xFD, 0xFE), filled with designated initializers, so
 * it costs nothing at start-up and a duplicate row in opcodes.def is a
 * compile-time warning (-Woverride-init).  Entries store op + 1; 0 means
 * "no such instruction".
 */
#include "opcodes.h"

#include "fastpath.h"

const WasyncOpInfo wasync_op_info[WASYNC_OP_COUNT] = {
#define OP(e, name, prefix, code, imm, align, lanes, sig)                      \
  [WASYNC_OP_##e] = {name, prefix, code, WASYNC_IMM_##imm, align, lanes, sig},
#include "opcodes.def"
#undef OP
};

#define SLOT(prefix)                                                           \
  ((prefix) == 0      ? 0                                                      \
   : (prefix) == 0xFB ? 1                                                      \
   : (prefix) == 0xFC ? 2                                                      \
   : (prefix) == 0xFD ? 3                                                      \
                      : 4)
#define SLOT_SIZE WASYNC_OP_SLOT_SIZE

const uint16_t wasync_op_by_code[5 * WASYNC_OP_SLOT_SIZE] = {
#define OP(e, name, prefix, code, imm, align, lanes, sig)                      \
  [SLOT(prefix) * SLOT_SIZE + (code)] = WASYNC_OP_##e + 1,
#include "opcodes.def"
#undef OP
};

/* WASYNC_IMM_x -> WASYNC_SHAPE_y (fastpath.h); `end` and `delegate`, which
 * close blocks, are set apart below. */
#define SHAPE_NONE WASYNC_SHAPE_NONE
#define SHAPE_LOCAL WASYNC_SHAPE_IDX
#define SHAPE_GLOBAL WASYNC_SHAPE_IDX
#define SHAPE_FUNC WASYNC_SHAPE_IDX
#define SHAPE_LABEL WASYNC_SHAPE_IDX
#define SHAPE_I32 WASYNC_SHAPE_I32
#define SHAPE_I64 WASYNC_SHAPE_I64
#define SHAPE_MEMARG WASYNC_SHAPE_MEMARG
#define SHAPE_F32 WASYNC_SHAPE_F32
#define SHAPE_F64 WASYNC_SHAPE_F64
#define SHAPE_BLOCK WASYNC_SHAPE_BLOCK
#define SHAPE_BR_TABLE WASYNC_SHAPE_SLOW
#define SHAPE_CALL_INDIRECT WASYNC_SHAPE_SLOW
#define SHAPE_TYPE WASYNC_SHAPE_SLOW
#define SHAPE_TABLE WASYNC_SHAPE_SLOW
#define SHAPE_TAG WASYNC_SHAPE_SLOW
#define SHAPE_ELEM WASYNC_SHAPE_SLOW
#define SHAPE_DATA WASYNC_SHAPE_SLOW
#define SHAPE_MEM WASYNC_SHAPE_SLOW
#define SHAPE_MEMARG_LANE WASYNC_SHAPE_SLOW
#define SHAPE_MEMORY_INIT WASYNC_SHAPE_SLOW
#define SHAPE_MEMORY_COPY WASYNC_SHAPE_SLOW
#define SHAPE_TABLE_INIT WASYNC_SHAPE_SLOW
#define SHAPE_TABLE_COPY WASYNC_SHAPE_SLOW
#define SHAPE_V128 WASYNC_SHAPE_SLOW
#define SHAPE_SHUFFLE WASYNC_SHAPE_SLOW
#define SHAPE_LANE WASYNC_SHAPE_SLOW
#define SHAPE_SELECT_T WASYNC_SHAPE_SLOW
#define SHAPE_HEAPTYPE WASYNC_SHAPE_SLOW
#define SHAPE_TYPE_FIELD WASYNC_SHAPE_SLOW
#define SHAPE_TYPE_N WASYNC_SHAPE_SLOW
#define SHAPE_TYPE_DATA WASYNC_SHAPE_SLOW
#define SHAPE_TYPE_ELEM WASYNC_SHAPE_SLOW
#define SHAPE_TYPE_TYPE WASYNC_SHAPE_SLOW
#define SHAPE_BR_ON_CAST WASYNC_SHAPE_SLOW
#define SHAPE_TRY_TABLE WASYNC_SHAPE_SLOW
#define SHAPE_FENCE WASYNC_SHAPE_SLOW

const uint8_t wasync_op_shape[5 * WASYNC_OP_SLOT_SIZE] = {
#define OP(e, name, prefix, code, imm, align, lanes, sig)                      \
  [SLOT(prefix) * SLOT_SIZE + (code)] =                                        \
      WASYNC_OP_##e == WASYNC_OP_END        ? WASYNC_SHAPE_END                 \
      : WASYNC_OP_##e == WASYNC_OP_DELEGATE ? WASYNC_SHAPE_SLOW                \
                                            : SHAPE_##imm,
#include "opcodes.def"
#undef OP
};

bool wasync_op_lookup(uint8_t prefix, uint32_t code, WasyncOp *out) {
  if (code >= SLOT_SIZE) return false;
  if (prefix != 0 && !wasync_op_is_prefix(prefix)) return false;
  uint16_t v = wasync_op_by_code[SLOT(prefix) * SLOT_SIZE + code];
  if (v == 0) return false;
  *out = (WasyncOp)(v - 1);
  return true;
}
