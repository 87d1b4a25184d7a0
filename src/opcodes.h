/*
 * opcodes.h -- opcode lookup from the binary encoding (prefix byte and
 * code) to the WasyncOp enumerator, built from opcodes.def.
 */
#ifndef WASYNC_OPCODES_H
#define WASYNC_OPCODES_H

#include "instr.h"

/* op + 1 by (prefix slot * WASYNC_OP_SLOT_SIZE + code), 0 for none; slot 0
 * holds the one-byte opcodes (opcodes.c). */
#define WASYNC_OP_SLOT_SIZE 512u
extern const uint16_t wasync_op_by_code[];

/* prefix: 0 for one-byte opcodes, else 0xFB/0xFC/0xFD/0xFE.  Returns false
 * when no instruction has that encoding. */
bool wasync_op_lookup(uint8_t prefix, uint32_t code, WasyncOp *out);

static inline bool wasync_op_is_prefix(uint8_t byte) {
  return byte >= 0xFB && byte <= 0xFE;
}

#endif
