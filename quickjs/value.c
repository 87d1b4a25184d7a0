/*
 * value.c -- encodes guest values to the structured byte format of value.h
 * and decodes it back into guest values.
 */
#include "value.h"

#include <stdlib.h>
#include <string.h>

enum {
  T_UNDEFINED,
  T_NULL,
  T_FALSE,
  T_TRUE,
  T_NUMBER,
  T_STRING,
  T_BIGINT,
  T_ARRAY,
  T_OBJECT,
  T_BYTES,
  T_DATE,
  T_ERROR,
  T_INT
};

int qjs_value_init(QjsValueCtx *v, JSContext *ctx, size_t max) {
  v->ctx = ctx;
  v->max = max;
  v->global = JS_GetGlobalObject(ctx);
  v->date_ctor = JS_GetPropertyStr(ctx, v->global, "Date");
  v->u8_ctor = JS_GetPropertyStr(ctx, v->global, "Uint8Array");
  v->bigint_fn = JS_GetPropertyStr(ctx, v->global, "BigInt");
  v->error_ctor = JS_GetPropertyStr(ctx, v->global, "Error");
  return JS_IsFunction(ctx, v->date_ctor) && JS_IsFunction(ctx, v->u8_ctor) &&
                 JS_IsFunction(ctx, v->bigint_fn)
             ? 0
             : -1;
}

static int too_big(QjsValueCtx *v) {
  JS_ThrowRangeError(v->ctx,
                     "wasync: the value is larger than maxValueSize (%zu "
                     "bytes); pass less or raise the limit",
                     v->max);
  return -1;
}

static int put(QjsValueCtx *v, QjsBuf *b, const void *p, size_t n) {
  if (b->len + n > v->max) return too_big(v);
  if (b->len + n > b->cap) {
    size_t ncap = b->cap ? b->cap * 2 : 256;
    while (ncap < b->len + n)
      ncap *= 2;
    uint8_t *nd = realloc(b->data, ncap);
    if (!nd) {
      JS_ThrowOutOfMemory(v->ctx);
      return -1;
    }
    b->data = nd;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int put_u8(QjsValueCtx *v, QjsBuf *b, uint8_t x) {
  return put(v, b, &x, 1);
}

static int put_u32(QjsValueCtx *v, QjsBuf *b, uint32_t x) {
  uint8_t le[4] = {(uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16),
                   (uint8_t)(x >> 24)};
  return put(v, b, le, 4);
}

static int put_f64(QjsValueCtx *v, QjsBuf *b, double d) {
  return put(v, b, &d, 8); /* wasm is little-endian */
}

static int put_str(QjsValueCtx *v, QjsBuf *b, JSValueConst s) {
  size_t n;
  const char *p = JS_ToCStringLen(v->ctx, &n, s);
  if (!p) return -1;
  int r = put_u32(v, b, (uint32_t)n) || put(v, b, p, n) ? -1 : 0;
  JS_FreeCString(v->ctx, p);
  return r;
}

static int put_prop_str(QjsValueCtx *v, QjsBuf *b, JSValueConst obj,
                        const char *name) {
  JSValue s = JS_GetPropertyStr(v->ctx, obj, name);
  if (JS_IsException(s)) return -1;
  int r;
  if (JS_IsUndefined(s))
    r = put_u32(v, b, 0);
  else
    r = put_str(v, b, s);
  JS_FreeValue(v->ctx, s);
  return r;
}

static int encode(QjsValueCtx *v, QjsBuf *b, JSValueConst val, int depth);

static int encode_object(QjsValueCtx *v, QjsBuf *b, JSValueConst val,
                         int depth) {
  JSContext *ctx = v->ctx;
  if (JS_IsError(ctx, val)) {
    return put_u8(v, b, T_ERROR) || put_prop_str(v, b, val, "name") ||
                   put_prop_str(v, b, val, "message") ||
                   put_prop_str(v, b, val, "stack")
               ? -1
               : 0;
  }
  int isarr = JS_IsArray(ctx, val);
  if (isarr < 0) return -1;
  if (isarr) {
    JSValue lv = JS_GetPropertyStr(ctx, val, "length");
    uint32_t n;
    if (JS_ToUint32(ctx, &n, lv)) return -1;
    if (put_u8(v, b, T_ARRAY) || put_u32(v, b, n)) return -1;
    for (uint32_t i = 0; i < n; i++) {
      JSValue e = JS_GetPropertyUint32(ctx, val, i);
      if (JS_IsException(e)) return -1;
      int r = encode(v, b, e, depth + 1);
      JS_FreeValue(ctx, e);
      if (r) return -1;
    }
    return 0;
  }
  if (JS_IsInstanceOf(ctx, val, v->date_ctor) > 0) {
    JSValue fn = JS_GetPropertyStr(ctx, val, "getTime");
    JSValue t = JS_Call(ctx, fn, val, 0, NULL);
    JS_FreeValue(ctx, fn);
    double d;
    int r = JS_ToFloat64(ctx, &d, t);
    JS_FreeValue(ctx, t);
    if (r) return -1;
    return put_u8(v, b, T_DATE) || put_f64(v, b, d) ? -1 : 0;
  }
  if (JS_IsInstanceOf(ctx, val, v->u8_ctor) > 0) {
    size_t off, len, bpe;
    JSValue ab = JS_GetTypedArrayBuffer(ctx, val, &off, &len, &bpe);
    if (JS_IsException(ab)) return -1;
    size_t size;
    uint8_t *p = JS_GetArrayBuffer(ctx, &size, ab);
    JS_FreeValue(ctx, ab);
    if (!p) return -1;
    return put_u8(v, b, T_BYTES) || put_u32(v, b, (uint32_t)len) ||
                   put(v, b, p + off, len)
               ? -1
               : 0;
  }
  if (JS_IsFunction(ctx, val)) {
    JS_ThrowTypeError(ctx, "wasync: a function cannot be passed to the host "
                           "(pass data: JSON types, undefined, BigInt, "
                           "Uint8Array, Date, Error)");
    return -1;
  }
  JSPropertyEnum *tab;
  uint32_t n;
  if (JS_GetOwnPropertyNames(ctx, &tab, &n, val,
                             JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY))
    return -1;
  int r = put_u8(v, b, T_OBJECT) || put_u32(v, b, n);
  for (uint32_t i = 0; i < n && !r; i++) {
    JSValue k = JS_AtomToString(ctx, tab[i].atom);
    r = put_str(v, b, k);
    JS_FreeValue(ctx, k);
    if (r) break;
    JSValue e = JS_GetProperty(ctx, val, tab[i].atom);
    if (JS_IsException(e)) {
      r = -1;
      break;
    }
    r = encode(v, b, e, depth + 1);
    JS_FreeValue(ctx, e);
  }
  for (uint32_t i = 0; i < n; i++)
    JS_FreeAtom(ctx, tab[i].atom);
  js_free(ctx, tab);
  return r ? -1 : 0;
}

static int encode(QjsValueCtx *v, QjsBuf *b, JSValueConst val, int depth) {
  JSContext *ctx = v->ctx;
  if (depth > QJS_VALUE_DEPTH) {
    JS_ThrowRangeError(ctx,
                       "wasync: the value nests deeper than %d levels (a "
                       "cycle?); pass a flatter value",
                       QJS_VALUE_DEPTH);
    return -1;
  }
  switch (JS_VALUE_GET_NORM_TAG(val)) {
  case JS_TAG_UNDEFINED: return put_u8(v, b, T_UNDEFINED);
  case JS_TAG_NULL: return put_u8(v, b, T_NULL);
  case JS_TAG_BOOL:
    return put_u8(v, b, JS_VALUE_GET_BOOL(val) ? T_TRUE : T_FALSE);
  case JS_TAG_INT: {
    int32_t i = JS_VALUE_GET_INT(val);
    return put_u8(v, b, T_INT) || put_u32(v, b, (uint32_t)i) ? -1 : 0;
  }
  case JS_TAG_FLOAT64:
    return put_u8(v, b, T_NUMBER) || put_f64(v, b, JS_VALUE_GET_FLOAT64(val))
               ? -1
               : 0;
  case JS_TAG_STRING:
    return put_u8(v, b, T_STRING) || put_str(v, b, val) ? -1 : 0;
  case JS_TAG_BIG_INT:
    return put_u8(v, b, T_BIGINT) || put_str(v, b, val) ? -1 : 0;
  case JS_TAG_OBJECT: return encode_object(v, b, val, depth);
  default:
    JS_ThrowTypeError(ctx, "wasync: a %s cannot be passed to the host",
                      JS_VALUE_GET_TAG(val) == JS_TAG_SYMBOL ? "symbol"
                                                             : "value");
    return -1;
  }
}

int qjs_value_encode(QjsValueCtx *v, QjsBuf *b, JSValueConst val) {
  return encode(v, b, val, 0);
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct {
  const uint8_t *p, *end;
} Reader;

static int need(QjsValueCtx *v, Reader *r, size_t n) {
  if ((size_t)(r->end - r->p) >= n) return 0;
  JS_ThrowInternalError(v->ctx, "wasync: truncated value from the host");
  return -1;
}

static uint32_t get_u32(Reader *r) {
  uint32_t x = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 |
               (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
  r->p += 4;
  return x;
}

/* A string body (len:u32 + UTF-8) as a guest string. */
static JSValue get_str(QjsValueCtx *v, Reader *r) {
  if (need(v, r, 4)) return JS_EXCEPTION;
  uint32_t n = get_u32(r);
  if (need(v, r, n)) return JS_EXCEPTION;
  JSValue s = JS_NewStringLen(v->ctx, (const char *)r->p, n);
  r->p += n;
  return s;
}

static JSValue decode(QjsValueCtx *v, Reader *r, int depth);

static JSValue decode_error(QjsValueCtx *v, Reader *r) {
  JSContext *ctx = v->ctx;
  JSValue name = get_str(v, r);
  if (JS_IsException(name)) return name;
  JSValue msg = get_str(v, r);
  JSValue stack = JS_IsException(msg) ? JS_EXCEPTION : get_str(v, r);
  if (JS_IsException(stack)) {
    JS_FreeValue(ctx, name);
    JS_FreeValue(ctx, msg);
    return JS_EXCEPTION;
  }
  JS_FreeValue(ctx, stack);
  /* The guest's own constructor of that name if it is an Error one. */
  const char *cname = JS_ToCString(ctx, name);
  JSValue ctor = JS_UNDEFINED;
  if (cname) {
    size_t n = strlen(cname);
    if (n >= 5 && strcmp(cname + n - 5, "Error") == 0)
      ctor = JS_GetPropertyStr(ctx, v->global, cname);
    JS_FreeCString(ctx, cname);
  }
  int own_name = 0;
  if (!JS_IsFunction(ctx, ctor)) {
    JS_FreeValue(ctx, ctor);
    ctor = JS_DupValue(ctx, v->error_ctor);
    own_name = 1;
  }
  JSValue e = JS_CallConstructor(ctx, ctor, 1, (JSValueConst *)&msg);
  JS_FreeValue(ctx, ctor);
  JS_FreeValue(ctx, msg);
  if (!JS_IsException(e) && own_name)
    JS_DefinePropertyValueStr(ctx, e, "name", JS_DupValue(ctx, name),
                              JS_PROP_CONFIGURABLE | JS_PROP_WRITABLE);
  JS_FreeValue(ctx, name);
  return e;
}

static JSValue decode(QjsValueCtx *v, Reader *r, int depth) {
  JSContext *ctx = v->ctx;
  if (depth > QJS_VALUE_DEPTH) {
    JS_ThrowRangeError(ctx, "wasync: the host value nests too deep");
    return JS_EXCEPTION;
  }
  if (need(v, r, 1)) return JS_EXCEPTION;
  uint8_t tag = *r->p++;
  switch (tag) {
  case T_UNDEFINED: return JS_UNDEFINED;
  case T_NULL: return JS_NULL;
  case T_FALSE: return JS_FALSE;
  case T_TRUE: return JS_TRUE;
  case T_INT:
    if (need(v, r, 4)) return JS_EXCEPTION;
    return JS_NewInt32(ctx, (int32_t)get_u32(r));
  case T_NUMBER:
  case T_DATE: {
    if (need(v, r, 8)) return JS_EXCEPTION;
    double d;
    memcpy(&d, r->p, 8);
    r->p += 8;
    if (tag == T_NUMBER) return JS_NewFloat64(ctx, d);
    JSValue t = JS_NewFloat64(ctx, d);
    JSValue date = JS_CallConstructor(ctx, v->date_ctor, 1, (JSValueConst *)&t);
    JS_FreeValue(ctx, t);
    return date;
  }
  case T_STRING: return get_str(v, r);
  case T_BIGINT: {
    JSValue s = get_str(v, r);
    if (JS_IsException(s)) return s;
    JSValue big =
        JS_Call(ctx, v->bigint_fn, JS_UNDEFINED, 1, (JSValueConst *)&s);
    JS_FreeValue(ctx, s);
    return big;
  }
  case T_ARRAY: {
    if (need(v, r, 4)) return JS_EXCEPTION;
    uint32_t n = get_u32(r);
    JSValue arr = JS_NewArray(ctx);
    if (JS_IsException(arr)) return arr;
    for (uint32_t i = 0; i < n; i++) {
      JSValue e = decode(v, r, depth + 1);
      if (JS_IsException(e) || JS_SetPropertyUint32(ctx, arr, i, e) < 0) {
        JS_FreeValue(ctx, arr);
        return JS_EXCEPTION;
      }
    }
    return arr;
  }
  case T_OBJECT: {
    if (need(v, r, 4)) return JS_EXCEPTION;
    uint32_t n = get_u32(r);
    JSValue obj = JS_NewObject(ctx);
    if (JS_IsException(obj)) return obj;
    for (uint32_t i = 0; i < n; i++) {
      JSValue k = get_str(v, r);
      if (JS_IsException(k)) {
        JS_FreeValue(ctx, obj);
        return k;
      }
      JSAtom atom = JS_ValueToAtom(ctx, k);
      JS_FreeValue(ctx, k);
      JSValue e = decode(v, r, depth + 1);
      int bad = atom == JS_ATOM_NULL || JS_IsException(e) ||
                JS_DefinePropertyValue(ctx, obj, atom, e, JS_PROP_C_W_E) < 0;
      if (atom != JS_ATOM_NULL) JS_FreeAtom(ctx, atom);
      if (bad) {
        JS_FreeValue(ctx, obj);
        return JS_EXCEPTION;
      }
    }
    return obj;
  }
  case T_BYTES: {
    if (need(v, r, 4)) return JS_EXCEPTION;
    uint32_t n = get_u32(r);
    if (need(v, r, n)) return JS_EXCEPTION;
    JSValue ab = JS_NewArrayBufferCopy(ctx, r->p, n);
    r->p += n;
    if (JS_IsException(ab)) return ab;
    JSValue u8 = JS_CallConstructor(ctx, v->u8_ctor, 1, (JSValueConst *)&ab);
    JS_FreeValue(ctx, ab);
    return u8;
  }
  case T_ERROR: return decode_error(v, r);
  default:
    JS_ThrowInternalError(ctx, "wasync: unknown value tag %u from the host",
                          tag);
    return JS_EXCEPTION;
  }
}

JSValue qjs_value_decode(QjsValueCtx *v, const uint8_t *p, size_t len) {
  Reader r = {p, p + len};
  return decode(v, &r, 0);
}
