/*
 * fastpath.h -- the one home of the instruction fast paths.
 *
 * Most instructions in real code are a one-byte opcode with no immediate
 * or with short, plain immediates: local.get 3, i32.const 16, i32.load
 * offset=8, call 120, block with an empty or one-byte type.  Every loop
 * over function bodies (the decoder's scan, the validator, the
 * re-encoder) treats those inline and sends everything else -- prefixed
 * opcodes, long or malformed LEB128s, br_table, every error -- to the
 * general decoder (instr.c), which is the reference: a fast path may only
 * say "not mine", never decide differently.
 *
 * The "shape" of an opcode (wasync_op_shape, built from opcodes.def in
 * opcodes.c) says how to find such an instruction's length without
 * decoding it; with it:
 *
 *   wasync_fast_size()          its length: the decoder's body scan, and
 *                               (minimal = true) the re-encoder's copy of
 *                               instructions whose bytes already are their
 *                               minimal encoding;
 *   wasync_instr_decode_fast()  its decoded form: the validator, and the
 *                               first step of wasync_instr_decode();
 *   wasync_fast_instr_minimal() whether the bytes it decoded are minimal:
 *                               the validator's re-encoding of a body
 *                               (body_writer.h) copies those.
 *
 * "Short" LEB128s are those leb128.h's short reads accept (at most 4 bytes
 * for 32-bit immediates, 9 for i64): any such value is in range, so no
 * check is needed.  `end` has a shape of its own so the body scanner can
 * count nesting; `delegate` (legacy exceptions, rare) is left to the
 * general path because it also closes a block.
 */
#ifndef WASYNC_FASTPATH_H
#define WASYNC_FASTPATH_H

#include "leb128.h"
#include "opcodes.h"

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
  WASYNC_SHAPE_BLOCK,  /* blocktype (block, loop, if, try) */
  WASYNC_SHAPE_END     /* end (closes a block: the body scanner counts) */
};
extern const uint8_t wasync_op_shape[];

/* The length of the instruction at p (`left` bytes available, left >= 1)
 * when it has a fast shape and is plainly well formed, else 0.  With
 * `minimal` (a constant at each call site), also 0 unless its bytes are its
 * minimal encoding, so that copying them is re-encoding it. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline size_t
wasync_fast_size(const uint8_t *p, size_t left, bool minimal) {
  size_t n;
  switch (wasync_op_shape[p[0]]) {
  case WASYNC_SHAPE_NONE:
  case WASYNC_SHAPE_END: return 1;
  case WASYNC_SHAPE_IDX:
    if (left >= 2 && p[1] < 0x80) return 2;
    n = minimal ? wasync_leb_short_min_u(p + 1, left - 1, 4)
                : wasync_leb_short_len(p + 1, left - 1, 4);
    return n ? 1 + n : 0;
  case WASYNC_SHAPE_I32:
    if (left >= 2 && p[1] < 0x80) return 2;
    n = minimal ? wasync_leb_short_min_s(p + 1, left - 1, 4)
                : wasync_leb_short_len(p + 1, left - 1, 4);
    return n ? 1 + n : 0;
  case WASYNC_SHAPE_I64:
    if (left >= 2 && p[1] < 0x80) return 2;
    n = minimal ? wasync_leb_short_min_s(p + 1, left - 1, 9)
                : wasync_leb_short_len(p + 1, left - 1, 9);
    return n ? 1 + n : 0;
  case WASYNC_SHAPE_MEMARG: /* align < 64 (no memory index), short offset */
    if (left < 3 || p[1] >= 0x40) return 0;
    if (p[2] < 0x80) return 3;
    n = minimal ? wasync_leb_short_min_u(p + 2, left - 2, 4)
                : wasync_leb_short_len(p + 2, left - 2, 4);
    return n ? 2 + n : 0;
  case WASYNC_SHAPE_F32: return left >= 5 ? 5 : 0;
  case WASYNC_SHAPE_F64: return left >= 9 ? 9 : 0;
  case WASYNC_SHAPE_BLOCK: /* empty, or a one-byte numeric type */
    return left >= 2 && (p[1] == 0x40 || (p[1] >= 0x7B && p[1] <= 0x7F)) ? 2
                                                                         : 0;
  default: return 0;
  }
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
    case WASYNC_SHAPE_END:
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

/* True when the n bytes at p, which wasync_instr_decode_fast() decoded as
 * one instruction, are that instruction's minimal encoding, so that
 * copying them is re-encoding it. */
static inline bool wasync_fast_instr_minimal(const uint8_t *p, size_t n) {
  if (n <= 2)
    return true; /* opcode + nothing, one LEB128 byte or a block
                    type byte: always minimal */
  uint8_t last = p[n - 1], prev = p[n - 2];
  switch (wasync_op_shape[p[0]]) {
  case WASYNC_SHAPE_IDX: return wasync_leb_u_tail_minimal(last);
  case WASYNC_SHAPE_MEMARG: return n == 3 || wasync_leb_u_tail_minimal(last);
  case WASYNC_SHAPE_I32:
  case WASYNC_SHAPE_I64: return wasync_leb_s_tail_minimal(prev, last);
  default: return false;
  }
}

#endif
