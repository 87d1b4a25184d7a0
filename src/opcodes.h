/*
 * opcodes.h -- opcode lookup from the binary encoding (prefix byte and
 * code) to the WasyncOp enumerator, built from opcodes.def.
 */
#ifndef WASYNC_OPCODES_H
#define WASYNC_OPCODES_H

#include "instr.h"
#include "leb128.h"

/* op + 1 by (prefix slot * WASYNC_OP_SLOT_SIZE + code), 0 for none; slot 0
 * holds the one-byte opcodes (opcodes.c). */
#define WASYNC_OP_SLOT_SIZE 512u
extern const uint16_t wasync_op_by_code[];

/* The "shape" of an opcode's immediates, for the fast paths of the body
 * scanner and the re-encoder: how to find the instruction's length without
 * decoding it.  Indexed like wasync_op_by_code (only slot 0, the one-byte
 * opcodes, is used by the fast paths); WASYNC_SHAPE_SLOW for everything
 * else, unknown opcodes included. */
enum {
  WASYNC_SHAPE_SLOW = 0,
  WASYNC_SHAPE_NONE,   /* no immediate */
  WASYNC_SHAPE_IDX,    /* one u32 index (local, global, func, label) */
  WASYNC_SHAPE_I32,    /* s32 */
  WASYNC_SHAPE_I64,    /* s64 */
  WASYNC_SHAPE_MEMARG, /* memarg */
  WASYNC_SHAPE_F32,    /* 4 bytes */
  WASYNC_SHAPE_F64,    /* 8 bytes */
  WASYNC_SHAPE_BLOCK   /* blocktype (block, loop, if, try) */
};
extern const uint8_t wasync_op_shape[];

/* prefix: 0 for one-byte opcodes, else 0xFB/0xFC/0xFD/0xFE.  Returns false
 * when no instruction has that encoding. */
bool wasync_op_lookup(uint8_t prefix, uint32_t code, WasyncOp *out);

static inline bool wasync_op_is_prefix(uint8_t byte) {
  return byte >= 0xFB && byte <= 0xFE;
}

/* The fast path of wasync_instr_decode(), inline for hot loops: decodes
 * a one-byte-opcode instruction with no immediate or short, plain
 * immediates; false (nothing consumed except out->offset set) for
 * anything else, which wasync_instr_decode() then handles. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline bool
wasync_instr_decode_fast(WasyncInstrReader *ir, WasyncInstr *out) {
  WasyncReader *r = &ir->r;
  out->offset = r->pos;
  /* Fast path: a one-byte opcode with no immediate or with short, plain
   * immediates (most instructions); everything else, and every error,
   * takes the general path below. */
  if (r->pos < r->end) {
    const uint8_t *p = r->base + r->pos;
    size_t left = r->end - r->pos, n;
    uint16_t op = (uint16_t)(wasync_op_by_code[p[0]] - 1);
    int64_t sv;
    switch (wasync_op_shape[p[0]]) {
    case WASYNC_SHAPE_NONE:
      out->op = op;
      r->pos++;
      return true;
    case WASYNC_SHAPE_IDX:
      if ((n = wasync_leb_short_u32(p + 1, left - 1, 4, &out->imm.index)) !=
          0) {
        out->op = op;
        r->pos += 1 + n;
        return true;
      }
      break;
    case WASYNC_SHAPE_I32:
      if ((n = wasync_leb_short_s64(p + 1, left - 1, 4, &sv)) != 0) {
        out->op = op;
        out->imm.i32 = (int32_t)sv;
        r->pos += 1 + n;
        return true;
      }
      break;
    case WASYNC_SHAPE_I64:
      if ((n = wasync_leb_short_s64(p + 1, left - 1, 9, &sv)) != 0) {
        out->op = op;
        out->imm.i64 = sv;
        r->pos += 1 + n;
        return true;
      }
      break;
    case WASYNC_SHAPE_MEMARG: {
      uint32_t off;
      if (left >= 3 && p[1] < 0x40 &&
          (n = wasync_leb_short_u32(p + 2, left - 2, 4, &off)) != 0) {
        out->op = op;
        out->imm.memarg.align = p[1];
        out->imm.memarg.memory = 0;
        out->imm.memarg.has_memory = false;
        out->imm.memarg.offset = off;
        r->pos += 2 + n;
        return true;
      }
      break;
    }
    case WASYNC_SHAPE_BLOCK:
      if (left >= 2 && p[1] == 0x40) {
        out->op = op;
        out->imm.block.kind = WASYNC_BLOCK_EMPTY;
        r->pos += 2;
        return true;
      }
      if (left >= 2 && p[1] >= 0x7B && p[1] <= 0x7F) {
        out->op = op;
        out->imm.block.kind = WASYNC_BLOCK_VALUE;
        out->imm.block.value = p[1];
        r->pos += 2;
        return true;
      }
      break;
    default: break;
    }
  }
  return false;
}

#endif
