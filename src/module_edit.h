/*
 * module_edit.h -- editing a decoded module: adding types, functions,
 * globals, tables, exports, and renumbering function and global indices
 * everywhere they are named.  Used by passes that change a module
 * (asyncify); everything added lives in the module's arena.
 *
 * Added entries are appended to the index spaces, so nothing that exists
 * moves.  Renumbering (wasync_module_renumber) is the one walk that moves
 * indices: every defined body, every constant expression (global and
 * table initialisers, element and data offsets, element expressions),
 * element function lists, exports, the start function and the imports'
 * index fields.  Bodies and expressions that name no moved index are
 * left as they are (their bytes are copied by the encoder unchanged).
 */
#ifndef WASYNC_MODULE_EDIT_H
#define WASYNC_MODULE_EDIT_H

#include "module.h"

/* Makes room for `add` more elements after the n in *arr (a module array
 * such as m->funcs; the old array stays in the arena).  Arrays grown here
 * get twice the room they need (recorded in m->grown), so adding k
 * elements one at a time costs O(n + k).  false: out of memory. */
bool wasync_module_reserve(WasyncModule *m, void **arr, uint32_t n,
                           uint32_t add, size_t size);

/* A plain (final, no supertype, own rec group) function type
 * params -> results: an existing one, or appended.  false: out of
 * memory. */
bool wasync_module_add_type(WasyncModule *m, const WasyncValType *params,
                            uint32_t np, const WasyncValType *results,
                            uint32_t nr, uint32_t *out);

/* Appends a defined function of type `type` whose body is the expression
 * `expr` (ending in `end`, no local declarations); its index in *out. */
bool wasync_module_add_func(WasyncModule *m, uint32_t type, const uint8_t *expr,
                            size_t size, uint32_t *out);

/* Appends a defined global initialised by the constant expression `init`
 * (ending in `end`); its index in *out (may be NULL). */
bool wasync_module_add_global(WasyncModule *m, WasyncValType t, bool mut,
                              const uint8_t *init, uint32_t init_size,
                              uint32_t *out);

/* Appends a defined table of reference type t with minimum size `min` and
 * no initialiser; its index in *out (may be NULL). */
bool wasync_module_add_table(WasyncModule *m, WasyncValType t, uint32_t min,
                             uint32_t *out);

/* Appends a defined memory with minimum `min` pages; its index in *out. */
bool wasync_module_add_memory(WasyncModule *m, uint64_t min, uint32_t *out);

/* Exports `index` of `kind` (WASYNC_EXTERN_*) as `name` (a string that
 * outlives the module); an export of that name already there is replaced
 * (names must be unique). */
bool wasync_module_add_export(WasyncModule *m, const char *name, uint8_t kind,
                              uint32_t index);

/* Renumbers function indices through fmap (old index -> new, for every
 * function) and global indices through gmap (likewise), either may be
 * NULL, everywhere they are named (see the top of this file).  Only
 * references move: the caller rearranges m->funcs / m->globals.  When
 * fmap changes any index the name section is dropped (it is indexed by
 * function).  false: out of memory or an undecodable body (err set). */
bool wasync_module_renumber(WasyncModule *m, const uint32_t *fmap,
                            const uint32_t *gmap, WasyncError *err);

/* Removes the function imports f with redirect[f] != UINT32_MAX; every
 * reference to such an import is redirected to function redirect[f] (an
 * index in the old numbering that is not removed).  Later functions move
 * down. */
bool wasync_module_remove_func_imports(WasyncModule *m,
                                       const uint32_t *redirect,
                                       WasyncError *err);

/* Turns the n defined globals first..first+n-1 into imports module.fields[k]
 * (they move to the end of the imported globals, in order; the other
 * defined globals move up by n). */
bool wasync_module_import_globals(WasyncModule *m, uint32_t first, uint32_t n,
                                  const char *module, const char *const *fields,
                                  WasyncError *err);

#endif
