/*
 * wasync.h -- public API of libwasync.
 *
 * libwasync decodes a WebAssembly binary into a module model, type-checks it
 * (the spec's validation), re-encodes it, and transforms it (asyncify).  The
 * library never prints, never exits and never aborts on bad input: every
 * failure is reported through a WasyncError the caller reads.
 *
 * Typical use:
 *
 *     WasyncError err = {0};
 *     WasyncModule *m = wasync_module_decode(bytes, size, NULL, &err);
 *     if (!m || !wasync_module_validate(m, &err)) {
 *       fprintf(stderr, "in.wasm:0x%llx: error: %s\n",
 *               (unsigned long long)err.offset, err.message);
 *       wasync_module_free(m);
 *       return 1;
 *     }
 *     uint8_t *out;
 *     size_t out_size;
 *     if (wasync_module_encode(m, NULL, &out, &out_size, &err)) {
 *       fwrite(out, 1, out_size, stdout);
 *       wasync_buffer_free(m, out);
 *     }
 *     wasync_module_free(m);
 *
 * (tests/regress/header-example.sh compiles and runs this example.)
 */
#ifndef WASYNC_H
#define WASYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WASYNC_VERSION "0.1.0"

/* ---- errors ------------------------------------------------------------ */

typedef enum WasyncErrorCode {
  WASYNC_OK = 0,
  WASYNC_ERR_MALFORMED,   /* the bytes are not a module (spec: "malformed") */
  WASYNC_ERR_INVALID,     /* well-formed but fails validation ("invalid") */
  WASYNC_ERR_LIMIT,       /* over an implementation limit (V8's, or ours) */
  WASYNC_ERR_NOMEM,       /* an allocation failed */
  WASYNC_ERR_UNSUPPORTED, /* a transform cannot handle this input */
  WASYNC_ERR_ARGUMENT     /* a bad option or argument from the caller */
} WasyncErrorCode;

typedef struct WasyncError {
  WasyncErrorCode code;
  uint64_t offset;   /* absolute byte offset in the input module */
  char message[256]; /* the spec's wording, e.g. "unexpected end" */
} WasyncError;

/* ---- allocation -------------------------------------------------------- */

/* Optional allocator hook (tests use it to make the N-th allocation fail). */
typedef struct WasyncAllocator {
  void *(*alloc)(void *ctx, size_t size);
  void *(*realloc)(void *ctx, void *ptr, size_t size);
  void (*free)(void *ctx, void *ptr);
  void *ctx;
} WasyncAllocator;

/* ---- modules ----------------------------------------------------------- */

typedef struct WasyncModule WasyncModule;

typedef struct WasyncDecodeOptions {
  const WasyncAllocator *allocator; /* NULL: malloc/realloc/free */
  bool copy_input;                  /* false: bytes must outlive the module */
  /* true: function bodies are not scanned at decode time; their
   * instructions are checked by wasync_module_validate() instead, which
   * then reports exactly the error a full decode would have (a malformed
   * body still wins over a validation error).  Saves one pass over the
   * code when the module is validated next; until it is, its bodies must
   * not be trusted. */
  bool defer_body_checks;
  /* Function bodies are validated (wasync_module_validate) and re-encoded
   * (wasync_module_encode with reencode) by up to `threads` threads, each
   * taking a contiguous run of bodies of about equal size; 0 or 1: all on
   * the calling thread (no thread is created).  Fewer threads are used when
   * a run would get less than thread_min_bytes of bodies (0: 256 KiB), so
   * small modules stay on one thread.  Results and errors do not depend on
   * the thread count: the error is the lowest failing function's, as with
   * one thread.  With more than one thread the allocator is called from
   * several threads at once and must be thread-safe (malloc is). */
  unsigned threads;
  size_t thread_min_bytes;
  /* true: wasync_module_validate() also re-encodes each function body as
   * it checks it, so a following wasync_module_encode() with reencode
   * decodes no body a second time (it copies what validation wrote; bodies
   * a pass replaced in between are re-encoded then).  The output is the
   * same.  A body whose re-encoding differs from its input bytes (a
   * non-minimal LEB128, say) is kept in memory until the module is freed;
   * the others are not kept twice. */
  bool reencode_in_validate;
} WasyncDecodeOptions;

/* Decodes a binary module.  Returns NULL and fills *err on failure. */
WasyncModule *wasync_module_decode(const uint8_t *bytes, size_t size,
                                   const WasyncDecodeOptions *options,
                                   WasyncError *err);

/* Validates a decoded module (types, instructions, module-level rules). */
bool wasync_module_validate(WasyncModule *module, WasyncError *err);

typedef struct WasyncEncodeOptions {
  /* false: unchanged function bodies and sections are copied through.
   * true: everything is re-encoded from the model, instruction by
   * instruction, which proves the model complete. */
  bool reencode;
} WasyncEncodeOptions;

/* Encodes the module.  *out is allocated with the module's allocator and is
 * released with wasync_buffer_free(module, *out). */
bool wasync_module_encode(const WasyncModule *module,
                          const WasyncEncodeOptions *options, uint8_t **out,
                          size_t *out_size, WasyncError *err);
void wasync_buffer_free(const WasyncModule *module, uint8_t *buffer);

void wasync_module_free(WasyncModule *module);

/* ---- inspection (wasync info) ------------------------------------------ */

typedef enum WasyncExternKind {
  WASYNC_EXTERN_FUNC = 0,
  WASYNC_EXTERN_TABLE = 1,
  WASYNC_EXTERN_MEMORY = 2,
  WASYNC_EXTERN_GLOBAL = 3,
  WASYNC_EXTERN_TAG = 4
} WasyncExternKind;

typedef struct WasyncModuleCounts {
  uint32_t types, imports, funcs, func_imports, tables, table_imports, memories,
      memory_imports, globals, global_imports, tags, tag_imports, exports,
      elems, datas, customs, sections;
  bool has_start;
  uint32_t start;
} WasyncModuleCounts;

typedef struct WasyncSectionInfo {
  uint8_t id;       /* 0 = custom */
  const char *name; /* the section's name ("type", or a custom name) */
  size_t name_len;
  uint64_t offset; /* offset of the section id byte */
  uint64_t size;   /* payload size */
} WasyncSectionInfo;

typedef struct WasyncImportInfo {
  const char *module, *field; /* not NUL-terminated */
  size_t module_len, field_len;
  WasyncExternKind kind;
  uint32_t index; /* index in its kind's index space */
} WasyncImportInfo;

typedef struct WasyncExportInfo {
  const char *name;
  size_t name_len;
  WasyncExternKind kind;
  uint32_t index;
} WasyncExportInfo;

typedef struct WasyncFuncInfo {
  const char *name; /* from the name section, or NULL */
  size_t name_len;
  uint32_t type; /* type index */
  bool imported;
  uint64_t body_offset, body_size; /* 0 for imports */
} WasyncFuncInfo;

void wasync_module_counts(const WasyncModule *module, WasyncModuleCounts *out);
bool wasync_module_section(const WasyncModule *module, uint32_t index,
                           WasyncSectionInfo *out);
bool wasync_module_import(const WasyncModule *module, uint32_t index,
                          WasyncImportInfo *out);
bool wasync_module_export(const WasyncModule *module, uint32_t index,
                          WasyncExportInfo *out);
bool wasync_module_func(const WasyncModule *module, uint32_t index,
                        WasyncFuncInfo *out);

/* ---- asyncify (see docs/asyncify.md) ------------------------------------ */
/* A list of names or patterns ('*' matches any run of characters). */
typedef struct WasyncNameList {
  const char *const *items;
  size_t count;
} WasyncNameList;

#define WASYNC_ASYNCIFY_SPLIT_AUTO_SITES 256u
#define WASYNC_ASYNCIFY_SPLIT_AUTO_PERCENT 8u
#define WASYNC_ASYNCIFY_SPLIT_AUTO_COUNT 1u

typedef struct WasyncAsyncifyOptions {
  /* Imports that may unwind, as "module.field" patterns.  imports_given
   * false: every import may unwind (Binaryen's default). */
  bool imports_given;
  WasyncNameList imports;
  bool ignore_imports;  /* no import unwinds (except asyncify.*) */
  bool ignore_indirect; /* no indirect call (call_indirect/call_ref) unwinds */
  /* When the host can reach the tables (an imported or exported table, or
   * function references crossing the module boundary), every indirect call
   * may unwind by default (the host may place a function that suspends
   * there, as Binaryen assumes).  precise_indirect: trust the type-based
   * analysis alone -- an indirect call of type T may unwind only if one of
   * this module's referenced functions of a subtype of T may. */
  bool precise_indirect;
  WasyncNameList add_list, remove_list, only_list; /* function names */
  bool propagate_add;  /* callers of add-listed functions are instrumented */
  bool asserts;        /* trap when a non-instrumented call changes state */
  bool import_globals; /* import env.__asyncify_state / env.__asyncify_data */
  bool export_globals; /* export __asyncify_state / __asyncify_data */
  /* The memory holding the asyncify data: an index ("1") or the name of a
   * memory export; NULL: memory 0. */
  const char *memory;
  /* Split rewind path: an instrumented function may get a second,
   * rewind-only copy, so that its normal path carries no rewind merges
   * (much faster in engines; larger output).  split_min_sites 0 (default):
   * the WASYNC_ASYNCIFY_SPLIT_AUTO_COUNT function(s) with the most call
   * sites that may unwind (an interpreter loop, typically), if they have at
   * least WASYNC_ASYNCIFY_SPLIT_AUTO_SITES and their bodies add up to at
   * most WASYNC_ASYNCIFY_SPLIT_AUTO_PERCENT of the code section; N: every
   * function with at least N such sites; UINT32_MAX: none. */
  uint32_t split_min_sites;
  /* Diagnostics (the library never prints): each line of --verbose output
   * (instrumented functions) and of `why` (the call chain that makes the
   * function `why` instrumented) goes to log(log_ctx, line). */
  bool verbose;
  const char *why;
  void (*log)(void *ctx, const char *line);
  void *log_ctx;
  /* Whether the output may use multi-value (the shared frame functions
   * return several values): WASYNC_FEATURE_DETECT (default) if the input
   * uses it (a function type with several results) or declares it
   * ("+multivalue" in its target_features section); WASYNC_FEATURE_ENABLE
   * always; WASYNC_FEATURE_DISABLE never (Binaryen's --mvp-features). */
  int multivalue;
  /* List entries (imports, remove/add/only lists) that match nothing: one
   * line per list to warn(log_ctx, line); with strict_lists the pass fails
   * instead.  quiet_imports: no such check for the import list (a default
   * list a toolchain always passes, like emcc's). */
  void (*warn)(void *ctx, const char *line);
  bool strict_lists, quiet_imports;
  /* Binaryen's verbose lines ("[asyncify] NAME can change the state due to
   * REASON") to log, as wasm-opt --pass-arg=asyncify-verbose prints them. */
  bool binaryen_verbose;
  /* For measurement only (bench/asyncify-breakdown.mjs): leave out kinds of
   * added code, WASYNC_ASYNCIFY_OMIT_* bits; 0 (default) leaves out nothing.
   * An output built with any bit set cannot unwind or rewind correctly: it
   * is only for timing code that never suspends. */
  uint32_t diag_omit;
  /* Where the output's added bytes go (rewind dispatch, unwind checks,
   * save and restore code, temps, added functions...), measured while
   * encoding, as lines to log (asyncify_sizes.c). */
  bool size_report;
} WasyncAsyncifyOptions;

/* diag_omit bits: the check after each call that may unwind (br_if $save
 * on the state); the function-entry rewind check and frame restore (and a
 * split function's trampoline check); the rewind dispatches at the start
 * of each hot sequence; the trampoline of a split function (its body
 * becomes the `fast` copy's); a hot if's state-guarded condition; the
 * frame's locals (nothing saved or restored). */
#define WASYNC_ASYNCIFY_OMIT_CHECKS 1u
#define WASYNC_ASYNCIFY_OMIT_ENTRY 2u
#define WASYNC_ASYNCIFY_OMIT_DISPATCH 4u
#define WASYNC_ASYNCIFY_OMIT_TRAMPOLINE 8u
#define WASYNC_ASYNCIFY_OMIT_CONDS 16u
#define WASYNC_ASYNCIFY_OMIT_SAVE 32u

enum { WASYNC_FEATURE_DETECT, WASYNC_FEATURE_ENABLE, WASYNC_FEATURE_DISABLE };

/* Applies Binaryen's Asyncify transform (same ABI) to a validated module in
 * place; encode the module afterwards.  false + *err on failure (bad
 * options: WASYNC_ERR_ARGUMENT; inputs it cannot transform soundly:
 * WASYNC_ERR_UNSUPPORTED). */
bool wasync_asyncify(WasyncModule *module, const WasyncAsyncifyOptions *options,
                     WasyncError *err);

#ifdef __cplusplus
}
#endif
#endif /* WASYNC_H */
