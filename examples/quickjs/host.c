/*
 * host.c -- the glue that turns QuickJS into a small wasm32-wasi "JS engine
 * module" for wasync's real-world tests and the asyncify demo.
 *
 * The module is a WASI reactor (it exports `_initialize`, no `_start`).  Its
 * interface to the embedder is deliberately tiny, so that a host written in
 * plain JavaScript can drive it without any generated bindings:
 *
 *   exports
 *     qjs_alloc(size) -> ptr       malloc() inside the module (0 on failure)
 *     qjs_free(ptr)                free() inside the module
 *     eval_js(ptr, len) -> ptr     evaluates the UTF-8 script at [ptr, len)
 *                                  as a global script and returns a
 *                                  NUL-terminated UTF-8 string owned by the
 *                                  module (valid until the next eval_js):
 *                                  "ok:" + String(result), or
 *                                  "error:" + the exception and its stack.
 *   imports
 *     env.host_call(arg_ptr, arg_len) -> ptr
 *                                  the one host function.  Its argument is the
 *                                  JSON text of the value JS passed to
 *                                  `host(x)`.  It returns 0 (meaning
 *                                  `undefined`) or a pointer to a
 *                                  NUL-terminated JSON text the host wrote
 *                                  into a block it got from qjs_alloc; the
 *                                  module parses it and frees the block.
 *
 * Inside QuickJS the script sees three globals: `host(x)` (calls host_call and
 * returns the parsed reply), `print(...)` and `console.log(...)` (write a line
 * to stdout through WASI fd_write).
 *
 * host_call is the import that the asyncify work makes asynchronous: a JS
 * embedder may implement it with a Promise (e.g. a setTimeout), and the
 * asyncified module unwinds out of eval_js and rewinds into it when the
 * Promise settles.  Because the reply is fetched only when host_call returns
 * for real (after the rewind), the host may call qjs_alloc at that moment.
 *
 * One runtime and one context are created on the first eval_js and reused, so
 * globals defined by one script are visible to the next.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"

#define EXPORT(name) __attribute__((export_name(name)))

__attribute__((import_module("env"), import_name("host_call"))) int32_t
host_call(int32_t arg_ptr, int32_t arg_len);

static JSRuntime *rt;
static JSContext *ctx;
static char *last_result;

EXPORT("qjs_alloc") void *qjs_alloc(size_t size);
EXPORT("qjs_free") void qjs_free(void *ptr);
EXPORT("eval_js") const char *eval_js(const char *src, size_t len);

void *qjs_alloc(size_t size) {
  return malloc(size ? size : 1);
}

void qjs_free(void *ptr) {
  free(ptr);
}

/* print(...) / console.log(...): arguments joined by spaces, one line. */
static JSValue js_print(JSContext *c, JSValueConst this_val, int argc,
                        JSValueConst *argv) {
  (void)this_val;
  for (int i = 0; i < argc; i++) {
    size_t n;
    const char *s = JS_ToCStringLen(c, &n, argv[i]);
    if (!s) return JS_EXCEPTION;
    if (i) fputc(' ', stdout);
    fwrite(s, 1, n, stdout);
    JS_FreeCString(c, s);
  }
  fputc('\n', stdout);
  fflush(stdout);
  return JS_UNDEFINED;
}

/* host(x): JSON-encode x, hand it to the host, JSON-decode the reply. */
static JSValue js_host(JSContext *c, JSValueConst this_val, int argc,
                       JSValueConst *argv) {
  (void)this_val;
  JSValue arg = argc > 0 ? JS_DupValue(c, argv[0]) : JS_UNDEFINED;
  JSValue json = JS_JSONStringify(c, arg, JS_UNDEFINED, JS_UNDEFINED);
  JS_FreeValue(c, arg);
  if (JS_IsException(json)) return json;
  size_t len = 4;
  const char *text = "null";
  const char *owned = NULL;
  if (!JS_IsUndefined(json)) {
    owned = JS_ToCStringLen(c, &len, json);
    if (!owned) {
      JS_FreeValue(c, json);
      return JS_EXCEPTION;
    }
    text = owned;
  }
  int32_t reply = host_call((int32_t)(uintptr_t)text, (int32_t)len);
  if (owned) JS_FreeCString(c, owned);
  JS_FreeValue(c, json);
  if (reply == 0) return JS_UNDEFINED;
  char *r = (char *)(uintptr_t)reply;
  JSValue v = JS_ParseJSON(c, r, strlen(r), "<host_call reply>");
  free(r);
  return v;
}

static int ensure_context(void) {
  if (ctx) return 1;
  rt = JS_NewRuntime();
  if (!rt) return 0;
  ctx = JS_NewContext(rt);
  if (!ctx) return 0;
  JSValue global = JS_GetGlobalObject(ctx);
  JS_SetPropertyStr(ctx, global, "host",
                    JS_NewCFunction(ctx, js_host, "host", 1));
  JS_SetPropertyStr(ctx, global, "print",
                    JS_NewCFunction(ctx, js_print, "print", 1));
  JSValue console = JS_NewObject(ctx);
  JS_SetPropertyStr(ctx, console, "log",
                    JS_NewCFunction(ctx, js_print, "log", 1));
  JS_SetPropertyStr(ctx, global, "console", console);
  JS_FreeValue(ctx, global);
  return 1;
}

/* Sets last_result to prefix + text (text may be NULL). */
static const char *set_result(const char *prefix, const char *text,
                              size_t len) {
  size_t plen = strlen(prefix);
  free(last_result);
  last_result = malloc(plen + len + 1);
  if (!last_result) return "error:out of memory";
  memcpy(last_result, prefix, plen);
  if (len) memcpy(last_result + plen, text, len);
  last_result[plen + len] = '\0';
  return last_result;
}

static const char *value_result(const char *prefix, JSValueConst v) {
  size_t n;
  const char *s = JS_ToCStringLen(ctx, &n, v);
  if (!s) return set_result(prefix, "<unprintable>", 13);
  const char *r = set_result(prefix, s, n);
  JS_FreeCString(ctx, s);
  return r;
}

const char *eval_js(const char *src, size_t len) {
  if (!ensure_context()) return "error:cannot create a QuickJS context";
  /* JS_Eval needs a NUL after the source. */
  char *copy = malloc(len + 1);
  if (!copy) return "error:out of memory";
  memcpy(copy, src, len);
  copy[len] = '\0';
  JSValue v = JS_Eval(ctx, copy, len, "<eval>", JS_EVAL_TYPE_GLOBAL);
  free(copy);
  const char *r;
  if (JS_IsException(v)) {
    JSValue exc = JS_GetException(ctx);
    JSValue stack = JS_GetPropertyStr(ctx, exc, "stack");
    r = value_result("error:", exc);
    if (JS_IsString(stack)) {
      size_t n;
      const char *s = JS_ToCStringLen(ctx, &n, stack);
      if (s) {
        size_t old = strlen(last_result);
        char *both = malloc(old + 1 + n + 1);
        if (both) {
          memcpy(both, last_result, old);
          both[old] = '\n';
          memcpy(both + old + 1, s, n);
          both[old + 1 + n] = '\0';
          free(last_result);
          last_result = both;
          r = both;
        }
        JS_FreeCString(ctx, s);
      }
    }
    JS_FreeValue(ctx, stack);
    JS_FreeValue(ctx, exc);
  } else {
    r = value_result("ok:", v);
  }
  JS_FreeValue(ctx, v);
  /* Run pending jobs (Promise reactions) so async functions make progress. */
  JSContext *jctx;
  while (JS_ExecutePendingJob(rt, &jctx) > 0) {
  }
  return r;
}
