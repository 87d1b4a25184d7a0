/*
 * instr.h -- one instruction, decoded.
 *
 * The opcode table (opcodes.def) gives every instruction an enumerator,
 * its binary prefix/code, its immediate layout and, for simple ones, its
 * type signature.  wasync_instr_decode() reads one instruction (opcode and
 * immediates) into a WasyncInstr; wasync_instr_encode() writes one back.
 * Function bodies are never materialised whole by the core: the validator,
 * the encoder and passes stream them an instruction at a time, which keeps
 * peak memory a small multiple of the input.
 */
#ifndef WASYNC_INSTR_H
#define WASYNC_INSTR_H

#include "buf.h"
#include "module.h"
#include "reader.h"

typedef enum WasyncOp {
#define OP(e, name, prefix, code, imm, align, lanes, sig) WASYNC_OP_##e,
#include "opcodes.def"
#undef OP
  WASYNC_OP_COUNT
} WasyncOp;

/* Immediate layouts (the IMMEDIATE column). */
typedef enum WasyncImmKind {
  WASYNC_IMM_NONE,
  WASYNC_IMM_BLOCK,         /* blocktype -> imm.block */
  WASYNC_IMM_LABEL,         /* labelidx -> imm.index */
  WASYNC_IMM_BR_TABLE,      /* vec(labelidx) labelidx -> imm.br_table */
  WASYNC_IMM_FUNC,          /* funcidx -> imm.index */
  WASYNC_IMM_CALL_INDIRECT, /* typeidx tableidx -> imm.pair.a, .b */
  WASYNC_IMM_TYPE,          /* typeidx -> imm.index */
  WASYNC_IMM_LOCAL,         /* localidx -> imm.index */
  WASYNC_IMM_GLOBAL,        /* globalidx -> imm.index */
  WASYNC_IMM_TABLE,         /* tableidx -> imm.index */
  WASYNC_IMM_TAG,           /* tagidx -> imm.index */
  WASYNC_IMM_ELEM,          /* elemidx -> imm.index */
  WASYNC_IMM_DATA,          /* dataidx -> imm.index */
  WASYNC_IMM_MEM,           /* memidx -> imm.index */
  WASYNC_IMM_MEMARG,        /* memarg -> imm.memarg */
  WASYNC_IMM_MEMARG_LANE,   /* memarg laneidx -> imm.memarg (+ .lane) */
  WASYNC_IMM_MEMORY_INIT,   /* dataidx memidx -> imm.pair.a, .b */
  WASYNC_IMM_MEMORY_COPY,   /* memidx(dst) memidx(src) -> imm.pair.a, .b */
  WASYNC_IMM_TABLE_INIT,    /* elemidx tableidx -> imm.pair.a, .b */
  WASYNC_IMM_TABLE_COPY,    /* tableidx(dst) tableidx(src) -> imm.pair.a, .b */
  WASYNC_IMM_I32,           /* imm.i32 */
  WASYNC_IMM_I64,           /* imm.i64 */
  WASYNC_IMM_F32,           /* imm.f32 (bits) */
  WASYNC_IMM_F64,           /* imm.f64 (bits) */
  WASYNC_IMM_V128,          /* imm.bytes16 */
  WASYNC_IMM_SHUFFLE,       /* 16 lane indices -> imm.bytes16 */
  WASYNC_IMM_LANE,          /* laneidx -> imm.lane */
  WASYNC_IMM_SELECT_T,      /* vec(valtype) -> imm.select */
  WASYNC_IMM_HEAPTYPE,      /* heaptype -> imm.ref (as a ref valtype; the
                               nullability bit comes from the opcode) */
  WASYNC_IMM_TYPE_FIELD,    /* typeidx fieldidx -> imm.pair.a, .b */
  WASYNC_IMM_TYPE_N,        /* typeidx u32 -> imm.pair.a, .b */
  WASYNC_IMM_TYPE_DATA,     /* typeidx dataidx -> imm.pair.a, .b */
  WASYNC_IMM_TYPE_ELEM,     /* typeidx elemidx -> imm.pair.a, .b */
  WASYNC_IMM_TYPE_TYPE,     /* typeidx typeidx -> imm.pair.a, .b */
  WASYNC_IMM_BR_ON_CAST,    /* castflags labelidx ht ht -> imm.br_on_cast */
  WASYNC_IMM_TRY_TABLE,     /* blocktype vec(catch) -> imm.try_table */
  WASYNC_IMM_FENCE          /* a 0x00 byte */
} WasyncImmKind;

typedef struct WasyncOpInfo {
  const char *name;
  uint8_t prefix;
  uint32_t code;
  uint8_t imm;           /* WasyncImmKind */
  uint8_t align;         /* memory accesses: log2 natural alignment */
  uint8_t lanes;         /* lane immediates: number of lanes */
  const char *signature; /* see opcodes.def; NULL = typed by hand */
} WasyncOpInfo;

extern const WasyncOpInfo wasync_op_info[WASYNC_OP_COUNT];

/* Block types. */
enum {
  WASYNC_BLOCK_EMPTY = 0, /* 0x40 */
  WASYNC_BLOCK_VALUE = 1, /* one result of .value */
  WASYNC_BLOCK_INDEX = 2  /* a function type index .index */
};
typedef struct WasyncBlockType {
  uint8_t kind;
  WasyncValType value;
  uint32_t index;
} WasyncBlockType;

/* try_table catch clauses. */
enum {
  WASYNC_CATCH = 0,
  WASYNC_CATCH_REF = 1,
  WASYNC_CATCH_ALL = 2,
  WASYNC_CATCH_ALL_REF = 3
};
typedef struct WasyncCatch {
  uint8_t kind;
  uint32_t tag; /* catch / catch_ref */
  uint32_t label;
} WasyncCatch;

typedef struct WasyncMemArg {
  uint32_t align;  /* log2 alignment, memory-index flag (bit 6) removed */
  uint32_t memory; /* 0 unless the flag was present */
  uint64_t offset;
  bool has_memory; /* the flag was present (for exact re-encoding) */
  uint8_t lane;    /* MEMARG_LANE only */
} WasyncMemArg;

typedef struct WasyncInstr {
  uint16_t op;     /* WasyncOp */
  uint64_t offset; /* absolute offset of the first opcode byte */
  union {
    uint32_t index;
    struct {
      uint32_t a, b;
    } pair;
    int32_t i32;
    int64_t i64;
    uint32_t f32;
    uint64_t f64;
    uint8_t bytes16[16];
    uint8_t lane;
    WasyncBlockType block;
    WasyncMemArg memarg;
    WasyncValType ref;
    struct {
      uint32_t count;
      const uint32_t *labels; /* owned by the WasyncInstrReader */
      uint32_t default_label;
    } br_table;
    struct {
      uint32_t count;
      const WasyncValType *types; /* owned by the WasyncInstrReader */
    } select;
    struct {
      uint8_t flags; /* bit 0: first type nullable, bit 1: second */
      uint32_t label;
      WasyncValType from, to; /* full ref types, flags applied */
    } br_on_cast;
    struct {
      WasyncBlockType block;
      uint32_t count;
      const WasyncCatch *catches; /* owned by the WasyncInstrReader */
    } try_table;
  } imm;
} WasyncInstr;

/* Reads instructions from a body; owns the scratch arrays that br_table,
 * select and try_table immediates point into (valid until the next read). */
typedef struct WasyncInstrReader {
  WasyncReader r;
  const WasyncModule *module; /* for type-index bounds in heap types */
  const WasyncAllocator *allocator;
  uint32_t *labels;
  uint32_t labels_cap;
  WasyncValType *types;
  uint32_t types_cap;
  WasyncCatch *catches;
  uint32_t catches_cap;
} WasyncInstrReader;

void wasync_instr_reader_init(WasyncInstrReader *ir, const WasyncModule *m,
                              const uint8_t *base, size_t pos, size_t end,
                              WasyncError *err);
void wasync_instr_reader_release(WasyncInstrReader *ir);
/* Decodes the instruction at ir->r.pos.  Malformed input: false + error
 * ("illegal opcode", "unexpected end", "integer too large", ...). */
bool wasync_instr_decode(WasyncInstrReader *ir, WasyncInstr *out);
/* Writes the instruction in its minimal (canonical) encoding. */
void wasync_instr_encode(WasyncBuf *out, const WasyncInstr *in);
/* Decodes every instruction in [ir->r.pos, ir->r.end) and writes each in its
 * minimal encoding to `out`: wasync_instr_decode() + wasync_instr_encode()
 * in one loop, with the commonest shapes (a one-byte opcode with no
 * immediate or with one-byte LEB128 immediates, whose minimal encoding is
 * the value's own byte) done inline.  Malformed input: false + error. */
bool wasync_instrs_reencode(WasyncInstrReader *ir, WasyncBuf *out);
/* The inline part of wasync_instrs_reencode(): re-encodes the run of
 * common instructions at ir->r.pos whose bytes already are the minimal
 * encoding of what they decode to (so output == input for the run), and
 * stops at the end or at the first instruction that needs the general
 * decoder (which also reports any error); also stops on out-of-memory. */
void wasync_instrs_copy_minimal(WasyncInstrReader *ir, WasyncBuf *out);

/* Value types and heap types in the binary format. */
bool wasync_read_valtype(WasyncReader *r, const WasyncModule *m,
                         WasyncValType *out);
bool wasync_read_reftype(WasyncReader *r, const WasyncModule *m,
                         WasyncValType *out);
bool wasync_read_heaptype(WasyncReader *r, const WasyncModule *m, bool nullable,
                          WasyncValType *out);
bool wasync_read_blocktype(WasyncReader *r, const WasyncModule *m,
                           WasyncBlockType *out);
void wasync_write_valtype(WasyncBuf *b, WasyncValType t);
void wasync_write_heaptype(WasyncBuf *b, WasyncValType ref);
void wasync_write_blocktype(WasyncBuf *b, const WasyncBlockType *bt);

#endif
