/*
 * asyncify_emit.h -- writing instructions into a buffer, and reading a
 * function body, for the asyncify pass's files (asyncify_rewrite.c,
 * asyncify_frames.c, asyncify_asserts.c, asyncify.c).  Each put_* encodes one
 * instruction through the opcode table's encoder (wasync_instr_encode).
 */
#ifndef WASYNC_ASYNCIFY_EMIT_H
#define WASYNC_ASYNCIFY_EMIT_H

#include <string.h>

#include "asyncify.h"

static inline void put(WasyncBuf *b, const WasyncInstr *in) {
  wasync_instr_encode(b, in);
}
static inline void put_op(WasyncBuf *b, uint16_t op) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  put(b, &in);
}
static inline void put_idx(WasyncBuf *b, uint16_t op, uint32_t idx) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.index = idx;
  put(b, &in);
}
static inline void put_i32(WasyncBuf *b, int32_t v) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = WASYNC_OP_I32_CONST;
  in.imm.i32 = v;
  put(b, &in);
}
/* An address-sized constant (i64 on memory64). */
static inline void put_ptr(WasyncBuf *b, bool mem64, uint64_t v) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  if (mem64) {
    in.op = WASYNC_OP_I64_CONST;
    in.imm.i64 = (int64_t)v;
  } else {
    in.op = WASYNC_OP_I32_CONST;
    in.imm.i32 = (int32_t)(uint32_t)v;
  }
  put(b, &in);
}
/* A load or store on the pass's memory, alignment hint 1. */
static inline void put_mem(WasyncBuf *b, const WasyncAsyncifyCtx *c,
                           uint16_t op, uint64_t offset) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.memarg.align = 0;
  in.imm.memarg.offset = offset;
  in.imm.memarg.memory = c->memory;
  in.imm.memarg.has_memory = c->memory != 0;
  put(b, &in);
}
/* block / loop / if with no parameters or results. */
static inline void put_block(WasyncBuf *b, uint16_t op) {
  WasyncInstr in;
  memset(&in, 0, sizeof in);
  in.op = op;
  in.imm.block.kind = WASYNC_BLOCK_EMPTY;
  put(b, &in);
}

static inline bool is_call(uint16_t op) {
  return op == WASYNC_OP_CALL || op == WASYNC_OP_CALL_INDIRECT ||
         op == WASYNC_OP_CALL_REF || op == WASYNC_OP_RETURN_CALL ||
         op == WASYNC_OP_RETURN_CALL_INDIRECT ||
         op == WASYNC_OP_RETURN_CALL_REF;
}

/* A reader over the instructions of a defined function's body. */
static inline void body_reader(WasyncModule *m, const WasyncCode *code,
                               WasyncError *err, WasyncInstrReader *ir) {
  wasync_instr_reader_init(ir, m, m->bytes, 0, 0, err);
  ir->r.base = code->body;
  ir->r.pos = code->expr_start;
  ir->r.end = code->size;
}

#endif
