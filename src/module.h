/*
 * module.h -- the module model: what the decoder builds, the validator
 * checks, passes change and the encoder writes.
 *
 * Names follow the spec.  Index spaces put imports first: funcs[0 ..
 * func_imports) are imported functions, then the defined ones, and likewise
 * for tables, memories, globals and tags.  Byte strings (names, data
 * payloads, function bodies, constant expressions) point into the input
 * buffer unless a pass replaced them (then into the arena).  Every element
 * records the absolute input offset it was decoded from, for errors.
 *
 * The model also keeps the *encoding choices* the input made wherever the
 * format allows several (element segment flags, rec-group wrappers, `sub`
 * forms, local groupings, section order, where custom sections stand), so a
 * canonically encoded module re-encodes byte for byte.
 */
#ifndef WASYNC_MODULE_H
#define WASYNC_MODULE_H

#include "arena.h"
#include "wasync.h"
#include "wasync_limits.h"

/* ---- value types --------------------------------------------------------
 * A WasyncValType packs a value (or storage) type into 32 bits:
 *   bits 0-7   code: 0x7F i32, 0x7E i64, 0x7D f32, 0x7C f64, 0x7B v128,
 *              0x78 i8, 0x77 i16 (packed, fields only), 0x64 ref,
 *              0x00 "bottom" (the validator's unknown type)
 *   bit 8      ref: nullable
 *   bit 9      ref: heap type is a type index (else an abstract heap type)
 *   bits 10-31 ref: the type index, or the abstract heap type's code byte
 * Abstract heap type codes (binary format): 0x70 func, 0x6F extern, 0x6E any,
 * 0x6D eq, 0x6C i31, 0x6B struct, 0x6A array, 0x69 exn, 0x73 nofunc,
 * 0x72 noextern, 0x71 none, 0x74 noexn.
 */
typedef uint32_t WasyncValType;

#define WASYNC_VT_BOT 0x00u
#define WASYNC_VT_I32 0x7Fu
#define WASYNC_VT_I64 0x7Eu
#define WASYNC_VT_F32 0x7Du
#define WASYNC_VT_F64 0x7Cu
#define WASYNC_VT_V128 0x7Bu
#define WASYNC_VT_I8 0x78u
#define WASYNC_VT_I16 0x77u
#define WASYNC_VT_REF 0x64u

#define WASYNC_HT_FUNC 0x70u
#define WASYNC_HT_EXTERN 0x6Fu
#define WASYNC_HT_ANY 0x6Eu
#define WASYNC_HT_EQ 0x6Du
#define WASYNC_HT_I31 0x6Cu
#define WASYNC_HT_STRUCT 0x6Bu
#define WASYNC_HT_ARRAY 0x6Au
#define WASYNC_HT_EXN 0x69u
#define WASYNC_HT_NOFUNC 0x73u
#define WASYNC_HT_NOEXTERN 0x72u
#define WASYNC_HT_NONE 0x71u
#define WASYNC_HT_NOEXN 0x74u

#define WASYNC_VT_NULLABLE 0x100u
#define WASYNC_VT_INDEXED 0x200u

static inline WasyncValType wasync_vt_ref_abstract(bool nullable, uint8_t ht) {
  return WASYNC_VT_REF | (nullable ? WASYNC_VT_NULLABLE : 0) |
         ((WasyncValType)ht << 10);
}
static inline WasyncValType wasync_vt_ref_index(bool nullable, uint32_t idx) {
  return WASYNC_VT_REF | (nullable ? WASYNC_VT_NULLABLE : 0) |
         WASYNC_VT_INDEXED | (idx << 10);
}
static inline uint8_t wasync_vt_code(WasyncValType t) {
  return (uint8_t)t;
}
static inline bool wasync_vt_is_ref(WasyncValType t) {
  return (t & 0xFFu) == WASYNC_VT_REF;
}
static inline bool wasync_vt_nullable(WasyncValType t) {
  return (t & WASYNC_VT_NULLABLE) != 0;
}
static inline bool wasync_vt_indexed(WasyncValType t) {
  return (t & WASYNC_VT_INDEXED) != 0;
}
/* The type index (indexed) or abstract heap type code (otherwise). */
static inline uint32_t wasync_vt_heap(WasyncValType t) {
  return t >> 10;
}

/* ---- types --------------------------------------------------------------- */

typedef struct WasyncFieldType {
  WasyncValType type; /* may be WASYNC_VT_I8 / WASYNC_VT_I16 */
  bool mut;
} WasyncFieldType;

enum {
  WASYNC_COMP_FUNC = 0x60,
  WASYNC_COMP_STRUCT = 0x5F,
  WASYNC_COMP_ARRAY = 0x5E
};

/* How a subtype was written, so it re-encodes the same way. */
enum {
  WASYNC_SUB_BARE = 0,    /* just the composite type (final, no supers) */
  WASYNC_SUB_OPEN = 0x50, /* sub supers* comptype */
  WASYNC_SUB_FINAL = 0x4F /* sub final supers* comptype */
};

typedef struct WasyncSubType {
  uint8_t form;     /* WASYNC_COMP_* */
  uint8_t encoding; /* WASYNC_SUB_* */
  bool final;
  bool has_super;
  uint32_t super;     /* valid when has_super */
  uint32_t rec_start; /* index of the first type of its rec group */
  uint32_t rec_size;  /* number of types in that group */
  bool rec_explicit;  /* on a group's first type: written with 0x4E */
  uint64_t offset;
  /* func: params then results; struct: fields; array: one field */
  uint32_t nparams, nresults;
  WasyncValType *params, *results;
  uint32_t nfields;
  WasyncFieldType *fields;
} WasyncSubType;

/* ---- module-level entities ---------------------------------------------- */

typedef struct WasyncName {
  const uint8_t *bytes;
  uint32_t len;
} WasyncName;

typedef struct WasyncLimits {
  uint64_t min, max;
  bool has_max, shared, is64;
  uint8_t flags; /* the flags byte as encoded */
} WasyncLimits;

/* A constant expression: raw bytes including the final `end`. */
typedef struct WasyncExpr {
  const uint8_t *bytes;
  uint32_t size;
  uint64_t offset; /* absolute offset of bytes[0] in the input */
} WasyncExpr;

typedef struct WasyncTable {
  WasyncValType type; /* reference type */
  WasyncLimits limits;
  bool has_init; /* written as 0x40 0x00 reftype limits expr */
  WasyncExpr init;
  uint32_t import; /* index into imports[], or UINT32_MAX */
} WasyncTable;

typedef struct WasyncMemory {
  WasyncLimits limits;
  uint32_t import;
} WasyncMemory;

typedef struct WasyncGlobal {
  WasyncValType type;
  bool mut;
  WasyncExpr init; /* empty for imports */
  uint32_t import;
} WasyncGlobal;

typedef struct WasyncTag {
  uint8_t attribute; /* 0 = exception */
  uint32_t type;
  uint32_t import;
} WasyncTag;

typedef struct WasyncLocalGroup {
  uint32_t count;
  WasyncValType type;
} WasyncLocalGroup;

typedef struct WasyncCode {
  const uint8_t *body; /* the code entry's contents: locals, then the expr */
  uint32_t size;       /* its size in bytes */
  uint64_t offset;     /* absolute offset of body[0] (input), for errors */
  uint32_t expr_start; /* offset of the first instruction within body */
  uint32_t nlocal_groups;
  WasyncLocalGroup *local_groups;
  uint64_t nlocals; /* declared locals, not counting parameters */
  bool replaced;    /* a pass rewrote it: body points into the arena */
  /* The code entry as wasync_module_encode() with reencode writes it,
   * made while validating (body_writer.h), or NULL; ignored once the body
   * is replaced.  reencoded_at: its offset in its chunk's buffer until the
   * chunks are done. */
  const uint8_t *reencoded;
  uint32_t reencoded_size;
  size_t reencoded_at;
} WasyncCode;

typedef struct WasyncFunc {
  uint32_t type;   /* type index */
  uint32_t import; /* index into imports[], or UINT32_MAX when defined */
  WasyncCode code; /* defined functions only */
} WasyncFunc;

typedef struct WasyncImport {
  WasyncName module, field;
  uint8_t kind;   /* WasyncExternKind */
  uint32_t index; /* index in its kind's space (funcs[], tables[], ...) */
  uint64_t offset;
} WasyncImport;

typedef struct WasyncExport {
  WasyncName name;
  uint8_t kind;
  uint32_t index;
  uint64_t offset;
} WasyncExport;

enum {
  WASYNC_SEG_ACTIVE = 0,
  WASYNC_SEG_PASSIVE = 1,
  WASYNC_SEG_DECLARATIVE = 2
};

typedef struct WasyncElem {
  uint8_t flags; /* 0..7 as encoded */
  uint8_t mode;  /* WASYNC_SEG_* */
  uint32_t table;
  WasyncExpr offset_expr; /* active only */
  WasyncValType type;     /* element reference type */
  uint32_t count;
  uint32_t *funcs;   /* flags bit 2 clear: function indices */
  WasyncExpr *exprs; /* flags bit 2 set: one expression per element */
  uint64_t offset;
} WasyncElem;

typedef struct WasyncData {
  uint8_t flags; /* 0, 1 or 2 as encoded */
  uint8_t mode;  /* WASYNC_SEG_ACTIVE or WASYNC_SEG_PASSIVE */
  uint32_t memory;
  WasyncExpr offset_expr;
  const uint8_t *bytes;
  uint32_t size;
  uint64_t offset;
} WasyncData;

typedef struct WasyncCustom {
  WasyncName name;
  const uint8_t *payload; /* after the name */
  uint32_t size;
  uint64_t offset; /* offset of the section id byte */
} WasyncCustom;

/* Section ids. */
enum {
  WASYNC_SEC_CUSTOM = 0,
  WASYNC_SEC_TYPE = 1,
  WASYNC_SEC_IMPORT = 2,
  WASYNC_SEC_FUNCTION = 3,
  WASYNC_SEC_TABLE = 4,
  WASYNC_SEC_MEMORY = 5,
  WASYNC_SEC_GLOBAL = 6,
  WASYNC_SEC_EXPORT = 7,
  WASYNC_SEC_START = 8,
  WASYNC_SEC_ELEM = 9,
  WASYNC_SEC_CODE = 10,
  WASYNC_SEC_DATA = 11,
  WASYNC_SEC_DATACOUNT = 12,
  WASYNC_SEC_TAG = 13
};

/* One section as it stood in the input, in order. */
typedef struct WasyncSection {
  uint8_t id;
  uint32_t custom; /* for id 0: index into customs[] */
  uint64_t offset; /* of the id byte */
  uint64_t payload_offset;
  uint64_t size;       /* payload size */
  uint64_t canon_hash; /* hash of the section as the encoder would write it
                          right after decoding (0: none); equal at encode
                          time = unchanged, so the input's bytes are kept */
} WasyncSection;

struct WasyncModule {
  WasyncArena arena;
  const uint8_t *bytes; /* the input */
  size_t size;

  uint32_t ntypes;
  WasyncSubType *types;
  uint32_t nimports;
  WasyncImport *imports;
  uint32_t nfuncs, nfunc_imports;
  WasyncFunc *funcs;
  uint32_t ntables, ntable_imports;
  WasyncTable *tables;
  uint32_t nmemories, nmemory_imports;
  WasyncMemory *memories;
  uint32_t nglobals, nglobal_imports;
  WasyncGlobal *globals;
  uint32_t ntags, ntag_imports;
  WasyncTag *tags;
  uint32_t nexports;
  WasyncExport *exports;
  bool has_start;
  uint32_t start;
  uint32_t nelems;
  WasyncElem *elems;
  uint32_t ndatas;
  WasyncData *datas;
  bool has_datacount;
  uint32_t datacount;
  uint32_t ncustoms;
  WasyncCustom *customs;
  uint32_t nsections;
  WasyncSection *sections;

  /* Function names from the "name" custom section (NULL entries where
   * absent); filled lazily by wasync_module_func_names(). */
  WasyncName *func_names;
  /* Arrays a pass grows one element at a time (asyncify adds types and
   * functions) get room to spare; these record it, valid only while the
   * array is still the one recorded (else its capacity is its count). */
  struct {
    void *array;
    uint32_t cap;
  } grown[4];
  bool func_names_done;
  bool validated;
  /* Decoded with defer_body_checks: bodies were not scanned; validation
   * checks them (and on failure re-decodes fully for the decode error). */
  bool bodies_unchecked;
  /* From WasyncDecodeOptions: threads for function bodies (see
   * parallel.h), and re-encoding while validating (body_writer.h). */
  unsigned threads;
  size_t thread_min_bytes;
  bool reencode_in_validate;
  /* The buffers WasyncCode.reencoded points into (one per chunk of
   * bodies), owned by the module and freed with it. */
  uint8_t *reencoded_bufs[WASYNC_MAX_CHUNKS];
  /* types.c: canonical type id per type index (iso-recursive equivalence:
   * equal ids <=> equivalent types); NULL until wasync_types_prepare(). */
  uint32_t *type_canon;
  uint32_t ntype_canon; /* entries in type_canon */
};

/* Function names from the name section (index by function index); never
 * fails on a malformed name section (names are then just absent). */
const WasyncName *wasync_module_func_names(WasyncModule *m);

static inline const WasyncSubType *wasync_func_type(const WasyncModule *m,
                                                    uint32_t func) {
  return &m->types[m->funcs[func].type];
}

#endif
