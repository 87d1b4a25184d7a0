/*
 * value.h -- structured values between QuickJS and the host, as bytes.
 *
 * The format (little-endian; quickjs/value.js is the host side):
 *   value := tag:u8 body
 *   0 undefined   1 null   2 false   3 true
 *   4 number      f64
 *   5 string      len:u32 UTF-8
 *   6 bigint      len:u32 decimal ASCII (with '-')
 *   7 array       n:u32 value*n
 *   8 object      n:u32 (len:u32 UTF-8 key, value)*n   (own enumerable keys)
 *   9 bytes       len:u32 bytes                          (a Uint8Array)
 *  10 date        f64 (ms since the epoch)
 *  11 error       name, message, stack: each len:u32 UTF-8
 *  12 int         i32
 * Nesting is limited to QJS_VALUE_DEPTH levels (so a cycle is an error),
 * and the encoded size to the VM's max_value bytes.
 */
#ifndef WASYNC_QJS_VALUE_H
#define WASYNC_QJS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "quickjs.h"

#define QJS_VALUE_DEPTH 256

typedef struct {
  uint8_t *data;
  size_t len, cap;
} QjsBuf;

typedef struct {
  JSContext *ctx;
  size_t max;
  JSValue date_ctor, u8_ctor, bigint_fn, error_ctor, global;
} QjsValueCtx;

int qjs_value_init(QjsValueCtx *v, JSContext *ctx, size_t max);
/* Appends `val` to `b`; 0, or -1 with a guest exception pending. */
int qjs_value_encode(QjsValueCtx *v, QjsBuf *b, JSValueConst val);
/* The value in [p, p+len), or JS_EXCEPTION with the exception pending. */
JSValue qjs_value_decode(QjsValueCtx *v, const uint8_t *p, size_t len);

#endif
