/*
 * wasync_limits.h -- every limit wasync enforces, defined once.
 * (Not "limits.h": -Isrc would shadow the C library's <limits.h>.)
 *
 * The spec leaves implementation limits to engines; wasync rejects what
 * V8 (Chromium, the target) rejects, with V8's numbers from
 * src/wasm/wasm-limits.h, so that a module wasync accepts also compiles
 * there.  A module over one of these gets WASYNC_ERR_LIMIT, not
 * "malformed"/"invalid": the spec would accept it.
 *
 * The last group are wasync's own sizes (threads, chunks), not limits on
 * modules.
 */
#ifndef WASYNC_WASYNC_LIMITS_H
#define WASYNC_WASYNC_LIMITS_H

/* ---- V8's limits on modules ---------------------------------------------- */
#define WASYNC_MAX_TYPES 1000000u /* also: type indices fit in 22 bits */
#define WASYNC_MAX_IMPORTS 100000u
#define WASYNC_MAX_FUNCS 1000000u
#define WASYNC_MAX_TABLES 100000u
#define WASYNC_MAX_MEMORIES 100u
#define WASYNC_MAX_GLOBALS 1000000u
#define WASYNC_MAX_TAGS 1000000u
#define WASYNC_MAX_EXPORTS 100000u
#define WASYNC_MAX_DATAS 100000u
#define WASYNC_MAX_ELEMS 100000u
#define WASYNC_MAX_ELEM_ENTRIES 10000000u
/* parameters and declared locals of one function together */
#define WASYNC_MAX_LOCALS 50000u
#define WASYNC_MAX_BODY_SIZE 7654321u
#define WASYNC_MAX_PARAMS 1000u
#define WASYNC_MAX_RESULTS 1000u
#define WASYNC_MAX_FIELDS 10000u
#define WASYNC_MAX_SUBTYPE_DEPTH 63u
#define WASYNC_MAX_ARRAY_NEW_FIXED 10000u

/* ---- wasync's own sizes ----------------------------------------------------
 */
#define WASYNC_MAX_THREADS 64u /* for function bodies (parallel.h) */
#define WASYNC_MAX_CHUNKS 64u  /* chunks of function bodies */

#endif
