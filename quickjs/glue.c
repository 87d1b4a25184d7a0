/*
 * glue.c -- QuickJS as a wasm32-wasi reactor driven by quickjs/index.js.
 *
 * One instance of the module is one VM: one JSRuntime with one JSContext.
 * The embedder never touches QuickJS values; everything crosses the boundary
 * as bytes in the structured-value format of value.c (quickjs/value.js on
 * the host side), and every byte that crosses is moved *inside an import
 * call*.  That is what makes the same module work in all three modes of the
 * wasync runtime: in worker mode the module's memory lives in a worker and is
 * reachable from the caller only while an import runs.  So the host never
 * writes memory "between" calls; instead an export says how many bytes it
 * needs, mallocs them, and asks the host to fill them (`take_input`,
 * `take_reply`).
 *
 * Exports (all i32):
 *   vm_init(memory_limit, stack_size, interrupt_every, max_value,
 *           max_depth) -> 0 | -1
 *       max_depth: the most JS frames on the stack (0 = no such limit)
 *   vm_define(fn_id, name_len, style) -> 0 | -1
 *       name (UTF-8, dotted path "a.b.c") via take_input; style 0 = the host
 *       function's value is returned (sync and blocking styles: the import
 *       suspends the module when the host returns a Promise), 1 = the guest
 *       gets a Promise settled later by vm_settle.
 *   vm_eval(req, code_len, name_len, type) -> 0 (reported) | 1 (pending)
 *       code + filename via take_input; type 0 = script, 1 = module.  The
 *       result reaches the host through eval_done(req, ...) -- at once, or
 *       from a later entry when the completion value is a Promise.
 *   vm_settle(call_id, len, is_error) -> 0 | -1
 *       settles the Promise of Promise-style host call `call_id`; the value
 *       (len bytes) via take_reply.  Then runs the job queue dry.
 *   vm_resume() -> 0
 *       only waits for settlements (below).
 *   vm_heap() -> bytes the JS heap holds now (the memory limit's count)
 *
 * Imports (module "wasync_qjs"):
 *   host_call(fn, args, args_len, out, out_cap) -> r   (may suspend)
 *       r >= 0: the reply (r >> 1 bytes) is at out, r & 1 = it is an error;
 *       r < 0: the reply needs -r >> 1 bytes: fetch it with take_reply.
 *   host_call_promise(fn, call_id, args, args_len)
 *   take_input(ptr)        copies the pending input to ptr
 *   take_reply(ptr) -> r   copies the pending reply to ptr; r as host_call
 *   eval_done(req, is_error, ptr, len)
 *   interrupt() -> 1 to stop the running guest code (deadline, abort)
 *   next_settled(out, out_cap) -> r                      (may suspend)
 *       0: return to the host; else a Promise-style call has settled: its
 *       id is the i32 at out, its reply as host_call's (r >= 0: r >> 1
 *       bytes at out + 8, r & 1 = error; r < 0: take_reply).
 *
 * The exported entry points run the job queue dry before they return, so
 * when an entry returns, the guest is idle: nothing of QuickJS is on the
 * stack.  The embedder runs one entry at a time per instance.
 *
 * Promise-style calls are settled *inside* the entry that waits for them
 * when it can be: while Promise-style calls are pending, an entry that has
 * run its jobs dry asks next_settled for the next settlement, and the host
 * either hands one over (at once if one is queued, else by suspending the
 * entry until one comes) or says 0 (another entry is waiting for the VM, no
 * evaluation is waiting for a result, or the deadline passed) and the entry
 * returns.  So a guest awaiting host Promises one after another costs one
 * suspension per call, like a blocking-style call, instead of one export
 * call (and its job-queue drain) per settlement, and settlements that
 * arrive together are taken in one entry.
 *
 * Limits: the memory limit is QuickJS's own (JS_SetMemoryLimit, which counts
 * each block's usable size from dlmalloc plus 8 bytes of header, so many
 * small blocks cannot slip under it); the stack limit is QuickJS's stack
 * check against the shadow stack in linear memory, which throws a catchable
 * InternalError ("stack overflow") before the shadow stack ends.  The
 * depth limit (maxStackDepth) counts bytecode frames: JS_CallInternal is
 * patched (scripts/build-quickjs.sh) to keep qjs_frame_depth and to throw a
 * RangeError next to its stack check when a call would exceed
 * qjs_frame_depth_limit.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "quickjs.h"
#include "value.h"

#define EXPORT(name) __attribute__((export_name(name)))
#define IMPORT(name)                                                           \
  __attribute__((import_module("wasync_qjs"), import_name(name)))

IMPORT("host_call")
int32_t host_call(int32_t fn, const uint8_t *args, int32_t args_len,
                  uint8_t *out, int32_t out_cap);
IMPORT("host_call_promise")
void host_call_promise(int32_t fn, int32_t call_id, const uint8_t *args,
                       int32_t args_len);
IMPORT("take_input") void take_input(uint8_t *ptr);
IMPORT("take_reply") int32_t take_reply(uint8_t *ptr);
IMPORT("eval_done")
void eval_done(int32_t req, int32_t is_error, const uint8_t *ptr, int32_t len);
IMPORT("interrupt") int32_t interrupt(void);
IMPORT("next_settled") int32_t next_settled(uint8_t *out, int32_t out_cap);

EXPORT("vm_init")
int32_t vm_init(int32_t memory_limit, int32_t stack_size,
                int32_t interrupt_every, int32_t max_value, int32_t max_depth);
EXPORT("vm_define")
int32_t vm_define(int32_t fn_id, int32_t name_len, int32_t style);
EXPORT("vm_eval")
int32_t vm_eval(int32_t req, int32_t code_len, int32_t name_len, int32_t type);
EXPORT("vm_settle")
int32_t vm_settle(int32_t call_id, int32_t len, int32_t is_error);
EXPORT("vm_resume") int32_t vm_resume(void);
EXPORT("vm_heap") int32_t vm_heap(void);

static JSRuntime *rt;
static JSContext *ctx;
static JSValue promise_ctor;
static int32_t every = 1, ticks;
static QjsValueCtx vctx;

/* In the patched quickjs.c: bytecode frames on the stack, and their limit. */
extern int qjs_frame_depth, qjs_frame_depth_limit;

/* Promise-style host calls waiting for vm_settle: call id -> resolvers. */
typedef struct {
  int32_t id;
  JSValue resolve, reject;
} Pending;
static Pending *pending;
static int32_t npending, cap_pending, next_call_id = 1;

#define REPLY_BUF 4096
static uint8_t reply_buf[REPLY_BUF];

static int on_interrupt(JSRuntime *r, void *opaque) {
  (void)r;
  (void)opaque;
  if (++ticks < every) return 0;
  ticks = 0;
  return interrupt() != 0;
}

/* QuickJS's allocator hooks, as its defaults do on Linux: every block
 * counts its usable size plus 8 bytes of header against the limit.  Ours so
 * that vm_heap can read the count (rt's copy is private). */
static JSMallocState *heap;
#define HEADER 8

static void *heap_malloc(JSMallocState *s, size_t size) {
  heap = s;
  if (s->malloc_size + size > s->malloc_limit) return NULL;
  void *p = malloc(size);
  if (!p) return NULL;
  s->malloc_count++;
  s->malloc_size += malloc_usable_size(p) + HEADER;
  return p;
}

static void heap_free(JSMallocState *s, void *p) {
  if (!p) return;
  s->malloc_count--;
  s->malloc_size -= malloc_usable_size(p) + HEADER;
  free(p);
}

static void *heap_realloc(JSMallocState *s, void *p, size_t size) {
  if (!p) return size ? heap_malloc(s, size) : NULL;
  size_t old = malloc_usable_size(p);
  if (size == 0) {
    heap_free(s, p);
    return NULL;
  }
  if (s->malloc_size + size - old > s->malloc_limit) return NULL;
  void *np = realloc(p, size);
  if (!np) return NULL;
  s->malloc_size += malloc_usable_size(np) - old;
  return np;
}

static size_t heap_usable(const void *p) {
  return malloc_usable_size((void *)p);
}

static const JSMallocFunctions heap_funcs = {heap_malloc, heap_free,
                                             heap_realloc, heap_usable};

int32_t vm_init(int32_t memory_limit, int32_t stack_size,
                int32_t interrupt_every, int32_t max_value, int32_t max_depth) {
  if (rt) return -1;
  if (max_depth > 0) qjs_frame_depth_limit = max_depth;
  rt = JS_NewRuntime2(&heap_funcs, NULL);
  if (!rt) return -1;
  if (memory_limit > 0) JS_SetMemoryLimit(rt, (size_t)memory_limit);
  JS_SetMaxStackSize(rt, (size_t)stack_size);
  JS_UpdateStackTop(rt);
  every = interrupt_every > 0 ? interrupt_every : 1;
  JS_SetInterruptHandler(rt, on_interrupt, NULL);
  /* JS_NewContext's intrinsics but String.prototype.normalize (its
   * Unicode normalization tables are ~20 KB of the module). */
  ctx = JS_NewContextRaw(rt);
  if (!ctx) return -1;
  JS_AddIntrinsicBaseObjects(ctx);
  JS_AddIntrinsicDate(ctx);
  JS_AddIntrinsicEval(ctx);
  JS_AddIntrinsicRegExp(ctx);
  JS_AddIntrinsicJSON(ctx);
  JS_AddIntrinsicProxy(ctx);
  JS_AddIntrinsicMapSet(ctx);
  JS_AddIntrinsicTypedArrays(ctx);
  JS_AddIntrinsicPromise(ctx);
  JS_AddIntrinsicBigInt(ctx);
  JSValue global = JS_GetGlobalObject(ctx);
  promise_ctor = JS_GetPropertyStr(ctx, global, "Promise");
  JS_FreeValue(ctx, global);
  if (qjs_value_init(&vctx, ctx, (size_t)max_value) != 0) return -1;
  return 0;
}

/* Reads `len` bytes of pending input into a fresh NUL-terminated block. */
static char *read_input(int32_t len) {
  char *p = malloc((size_t)len + 1);
  if (!p) return NULL;
  if (len > 0) take_input((uint8_t *)p);
  p[len] = '\0';
  return p;
}

/* The reply of a host call (bytes at `buf`) as a guest value or exception. */
static JSValue reply_value(const uint8_t *buf, size_t len, int is_error) {
  JSValue v = qjs_value_decode(&vctx, buf, len);
  if (JS_IsException(v)) return v;
  if (is_error) return JS_Throw(ctx, v);
  return v;
}

/* Encodes argv as an array value; 0 on success. */
static int encode_args(QjsBuf *b, int argc, JSValueConst *argv) {
  JSValue arr = JS_NewArray(ctx);
  if (JS_IsException(arr)) return -1;
  for (int i = 0; i < argc; i++)
    JS_SetPropertyUint32(ctx, arr, (uint32_t)i, JS_DupValue(ctx, argv[i]));
  int r = qjs_value_encode(&vctx, b, arr);
  JS_FreeValue(ctx, arr);
  return r;
}

/* Guest side of a sync or blocking-style host function. */
static JSValue call_host(JSContext *c, JSValueConst this_val, int argc,
                         JSValueConst *argv, int magic, JSValue *data) {
  (void)c;
  (void)this_val;
  (void)magic;
  QjsBuf b = {0};
  if (encode_args(&b, argc, argv) != 0) return JS_EXCEPTION;
  int32_t fn = JS_VALUE_GET_INT(data[0]);
  int32_t r = host_call(fn, b.data, (int32_t)b.len, reply_buf, REPLY_BUF);
  free(b.data);
  if (r >= 0) return reply_value(reply_buf, (size_t)(r >> 1), r & 1);
  size_t need = (size_t)(-(int64_t)r) >> 1;
  uint8_t *big = malloc(need ? need : 1);
  if (!big) return JS_ThrowOutOfMemory(ctx);
  r = take_reply(big);
  JSValue v = reply_value(big, need, r & 1);
  free(big);
  return v;
}

/* Guest side of a Promise-style host function. */
static JSValue call_host_promise(JSContext *c, JSValueConst this_val, int argc,
                                 JSValueConst *argv, int magic, JSValue *data) {
  (void)c;
  (void)this_val;
  (void)magic;
  int32_t fn = JS_VALUE_GET_INT(data[0]);
  if (npending == cap_pending) {
    int32_t ncap = cap_pending ? cap_pending * 2 : 16;
    Pending *np = realloc(pending, (size_t)ncap * sizeof *np);
    if (!np) return JS_ThrowOutOfMemory(ctx);
    pending = np;
    cap_pending = ncap;
  }
  QjsBuf b = {0};
  if (encode_args(&b, argc, argv) != 0) return JS_EXCEPTION;
  JSValue funcs[2];
  JSValue promise = JS_NewPromiseCapability(ctx, funcs);
  if (JS_IsException(promise)) {
    free(b.data);
    return promise;
  }
  int32_t id = next_call_id++;
  pending[npending++] = (Pending){id, funcs[0], funcs[1]};
  host_call_promise(fn, id, b.data, (int32_t)b.len);
  free(b.data);
  return promise;
}

static void await_settlements(void);

/* Runs every pending job; exceptions of jobs (unhandled) are dropped. */
static void drain_jobs(void) {
  JSContext *jc;
  int r;
  while ((r = JS_ExecutePendingJob(rt, &jc)) != 0) {
    if (r < 0) JS_FreeValue(ctx, JS_GetException(ctx));
  }
}

int32_t vm_define(int32_t fn_id, int32_t name_len, int32_t style) {
  char *name = read_input(name_len);
  if (!name) return -1;
  JSValue obj = JS_GetGlobalObject(ctx);
  char *seg = name;
  int32_t result = 0;
  for (;;) {
    char *dot = strchr(seg, '.');
    if (!dot) break;
    *dot = '\0';
    JSValue next = JS_GetPropertyStr(ctx, obj, seg);
    if (JS_IsUndefined(next)) {
      next = JS_NewObject(ctx);
      JS_SetPropertyStr(ctx, obj, seg, JS_DupValue(ctx, next));
    }
    JS_FreeValue(ctx, obj);
    obj = next;
    if (!JS_IsObject(obj)) {
      result = -1;
      break;
    }
    seg = dot + 1;
  }
  if (result == 0) {
    JSValue id = JS_NewInt32(ctx, fn_id);
    JSValue f = JS_NewCFunctionData(
        ctx, style == 1 ? call_host_promise : call_host, 0, 0, 1, &id);
    JSAtom atom = JS_NewAtom(ctx, seg);
    JSValue fname = JS_NewString(ctx, seg);
    JS_DefinePropertyValueStr(ctx, f, "name", fname, JS_PROP_CONFIGURABLE);
    if (JS_SetProperty(ctx, obj, atom, f) < 0) {
      JS_FreeValue(ctx, JS_GetException(ctx));
      result = -1;
    }
    JS_FreeAtom(ctx, atom);
  }
  JS_FreeValue(ctx, obj);
  free(name);
  return result;
}

/* Reports value `v` (or the pending exception if is_error) for `req`. */
static void report(int32_t req, int is_error, JSValueConst v) {
  QjsBuf b = {0};
  if (qjs_value_encode(&vctx, &b, v) != 0) {
    /* The value cannot cross (too big, a function, ...): report why. */
    free(b.data);
    b = (QjsBuf){0};
    JSValue exc = JS_GetException(ctx);
    qjs_value_encode(&vctx, &b, exc);
    JS_FreeValue(ctx, exc);
    is_error = 1;
  }
  eval_done(req, is_error, b.data, (int32_t)b.len);
  free(b.data);
}

static JSValue on_settled(JSContext *c, JSValueConst this_val, int argc,
                          JSValueConst *argv, int magic, JSValue *data) {
  (void)c;
  (void)this_val;
  int32_t req;
  JS_ToInt32(ctx, &req, data[0]);
  report(req, magic, argc > 0 ? argv[0] : JS_UNDEFINED);
  return JS_UNDEFINED;
}

/* Compiles a module; one with top-level await (which QuickJS 2021-03-27
 * cannot parse) runs instead as the body of a strict async function. */
static JSValue eval_module(const char *code, size_t len, const char *file) {
  JSValue m = JS_Eval(ctx, code, len, file,
                      JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
  if (!JS_IsException(m)) return JS_EvalFunction(ctx, m);
  JSValue first = JS_GetException(ctx);
  static const char head[] = "(async function(){\"use strict\";";
  static const char tail[] = "\n})";
  size_t n = sizeof head - 1 + len + sizeof tail - 1;
  char *wrapped = malloc(n + 1);
  if (!wrapped) return JS_Throw(ctx, first);
  memcpy(wrapped, head, sizeof head - 1);
  memcpy(wrapped + sizeof head - 1, code, len);
  memcpy(wrapped + sizeof head - 1 + len, tail, sizeof tail);
  JSValue fn = JS_Eval(ctx, wrapped, n, file, JS_EVAL_TYPE_GLOBAL);
  free(wrapped);
  if (JS_IsException(fn)) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    return JS_Throw(ctx, first);
  }
  JS_FreeValue(ctx, first);
  JSValue p = JS_Call(ctx, fn, JS_UNDEFINED, 0, NULL);
  JS_FreeValue(ctx, fn);
  return p;
}

int32_t vm_eval(int32_t req, int32_t code_len, int32_t name_len, int32_t type) {
  char *in = read_input(code_len + name_len);
  if (!in) {
    report(req, 1, JS_ThrowOutOfMemory(ctx));
    return 0;
  }
  char *file = malloc((size_t)name_len + 1);
  if (!file) {
    free(in);
    report(req, 1, JS_ThrowOutOfMemory(ctx));
    return 0;
  }
  memcpy(file, in + code_len, (size_t)name_len);
  file[name_len] = '\0';
  in[code_len] = '\0';
  ticks = 0;
  JSValue v =
      type == 1 ? eval_module(in, (size_t)code_len, file)
                : JS_Eval(ctx, in, (size_t)code_len, file, JS_EVAL_TYPE_GLOBAL);
  free(in);
  free(file);
  int32_t status = 0;
  if (JS_IsException(v)) {
    JSValue exc = JS_GetException(ctx);
    report(req, 1, exc);
    JS_FreeValue(ctx, exc);
  } else if (JS_IsObject(v) && JS_IsInstanceOf(ctx, v, promise_ctor) > 0) {
    /* A Promise: report when it settles (modules: with undefined). */
    JSValue id = JS_NewInt32(ctx, req);
    JSValue fns[2] = {JS_NewCFunctionData(ctx, on_settled, 1, 0, 1, &id),
                      JS_NewCFunctionData(ctx, on_settled, 1, 1, 1, &id)};
    JSValue then = JS_GetPropertyStr(ctx, v, "then");
    JSValue r = JS_Call(ctx, then, v, 2, (JSValueConst *)fns);
    if (JS_IsException(r)) {
      JSValue exc = JS_GetException(ctx);
      report(req, 1, exc);
      JS_FreeValue(ctx, exc);
    } else {
      status = 1;
    }
    JS_FreeValue(ctx, r);
    JS_FreeValue(ctx, then);
    JS_FreeValue(ctx, fns[0]);
    JS_FreeValue(ctx, fns[1]);
  } else {
    report(req, 0, type == 1 ? JS_UNDEFINED : v);
  }
  JS_FreeValue(ctx, v);
  drain_jobs();
  await_settlements();
  return status;
}

/* Settles the Promise of call `call_id` with the value encoded in `buf`
 * (NULL: out of memory) and runs the job queue dry; -1 if no such call. */
static int32_t settle(int32_t call_id, const uint8_t *buf, size_t len,
                      int is_error) {
  int32_t i = 0;
  while (i < npending && pending[i].id != call_id)
    i++;
  if (i == npending) return -1;
  Pending p = pending[i];
  pending[i] = pending[--npending];
  JSValue v =
      buf ? qjs_value_decode(&vctx, buf, len) : JS_ThrowOutOfMemory(ctx);
  if (JS_IsException(v)) {
    v = JS_GetException(ctx);
    is_error = 1;
  }
  JSValue r = JS_Call(ctx, is_error ? p.reject : p.resolve, JS_UNDEFINED, 1,
                      (JSValueConst *)&v);
  JS_FreeValue(ctx, r);
  JS_FreeValue(ctx, v);
  JS_FreeValue(ctx, p.resolve);
  JS_FreeValue(ctx, p.reject);
  ticks = 0;
  drain_jobs();
  return 0;
}

/* While Promise-style calls are pending: takes their settlements from the
 * host for as long as it hands them over (see the top of this file). */
static void await_settlements(void) {
  while (npending > 0) {
    int32_t r = next_settled(reply_buf, REPLY_BUF);
    if (r == 0) return;
    int32_t id;
    memcpy(&id, reply_buf, sizeof id);
    if (r > 0) {
      settle(id, reply_buf + 8, (size_t)(r >> 1), r & 1);
      continue;
    }
    size_t need = (size_t)(-(int64_t)r) >> 1;
    uint8_t *big = malloc(need ? need : 1);
    if (big) r = take_reply(big);
    settle(id, big, need, r & 1);
    free(big);
  }
}

int32_t vm_settle(int32_t call_id, int32_t len, int32_t is_error) {
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if (buf) take_reply(buf);
  int32_t r = settle(call_id, buf, (size_t)len, is_error);
  free(buf);
  if (r == 0) await_settlements();
  return r;
}

int32_t vm_resume(void) {
  await_settlements();
  return 0;
}

int32_t vm_heap(void) {
  return heap ? (int32_t)heap->malloc_size : 0;
}
