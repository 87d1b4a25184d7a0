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

const WasyncOpInfo wasync_op_info[WASYNC_OP_COUNT] = {
#define OP(e, name, prefix, code, imm, sig)                                    \
  [WASYNC_OP_##e] = {name, prefix, code, WASYNC_IMM_##imm, sig},
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
#define OP(e, name, prefix, code, imm, sig)                                    \
  [SLOT(prefix) * SLOT_SIZE + (code)] = WASYNC_OP_##e + 1,
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
