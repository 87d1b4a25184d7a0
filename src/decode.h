/*
 * decode.h -- internals shared by the decoder's files (decode*.c).
 *
 * One WasyncDecoder lives for the duration of wasync_module_decode().  Each
 * grammar production of the binary format is one function taking the
 * decoder and a reader bounded by the enclosing section; all of them return
 * false after recording the first error in d->err.
 */
#ifndef WASYNC_DECODE_H
#define WASYNC_DECODE_H

#include "instr.h"
#include "wasync_limits.h"
#include "module.h"
#include "reader.h"

typedef struct WasyncDecoder {
  WasyncModule *m;
  WasyncError *err;
  const uint8_t *bytes;
  size_t size;
  WasyncInstrReader ir; /* scratch for scanning expressions */
  bool has_func_section;
  uint32_t nfunc_decls; /* defined functions declared by section 3 */
  bool has_code_section;
  bool code_count_mismatch; /* reported after the last section, like the
                               reference interpreter */
  bool has_data_section;
  uint32_t sections_cap, customs_cap;
  bool defer_bodies;   /* skip scanning function bodies (see wasync.h) */
  bool lenient_bounds; /* function bodies may be read past their size (only
                          to reproduce the reference interpreter's error
                          message, see decode.c) */
} WasyncDecoder;

/* Allocation helpers: fail with WASYNC_ERR_NOMEM at `offset`. */
void *wasync_dec_array(WasyncDecoder *d, size_t count, size_t size,
                       uint64_t offset);
/* Grows an arena array from n to new_n items (copying the first n). */
bool wasync_dec_grow(WasyncDecoder *d, void **arr, size_t n, size_t new_n,
                     size_t size, uint64_t offset);
/* Fails with WASYNC_ERR_LIMIT when count > max. */
bool wasync_dec_limit(WasyncDecoder *d, uint64_t count, uint64_t max,
                      const char *what, uint64_t offset);

/* decode_types.c */
bool wasync_decode_type_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_limits(WasyncDecoder *d, WasyncReader *r, WasyncLimits *out);
bool wasync_decode_tabletype(WasyncDecoder *d, WasyncReader *r,
                             WasyncTable *out);
bool wasync_decode_globaltype(WasyncDecoder *d, WasyncReader *r,
                              WasyncGlobal *out);
bool wasync_decode_import_section(WasyncDecoder *d, WasyncReader *r);

/* decode_sections.c */
bool wasync_decode_function_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_table_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_memory_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_global_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_export_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_start_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_elem_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_data_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_datacount_section(WasyncDecoder *d, WasyncReader *r);
bool wasync_decode_tag_section(WasyncDecoder *d, WasyncReader *r);

/* decode_code.c */
/* Scans a constant expression up to and including its final `end`. */
bool wasync_decode_expr(WasyncDecoder *d, WasyncReader *r, WasyncExpr *out);
bool wasync_decode_code_section(WasyncDecoder *d, WasyncReader *r);

/* encode.c: records each non-code section's canonical-encoding hash
 * (WasyncSection.canon_hash) so the encoder can tell it is unchanged. */
bool wasync_encode_note_sections(WasyncModule *m, WasyncError *err);

#endif
