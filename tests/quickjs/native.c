/*
 * native.c -- quickjs/glue.c and quickjs/value.c on the build machine,
 * under AddressSanitizer + UndefinedBehaviorSanitizer
 * (tests/quickjs/asan.sh builds and runs it; QuickJS itself is compiled
 * without sanitizers, the glue with them).
 *
 * The module's imports are played by this file: host functions answer with
 * fixed replies (small, and larger than the 4 KiB reply buffer), a
 * Promise-style call is settled after the evaluation, and every reported
 * value is checked byte by byte where its encoding is fixed.  Prints
 * "native: N passed, N failed".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int32_t vm_init(int32_t memory_limit, int32_t stack_size,
                int32_t interrupt_every, int32_t max_value, int32_t max_depth);
extern int qjs_frame_depth, qjs_frame_depth_limit;
int32_t vm_define(int32_t fn_id, int32_t name_len, int32_t style);
int32_t vm_eval(int32_t req, int32_t code_len, int32_t name_len, int32_t type);
int32_t vm_settle(int32_t call_id, int32_t len, int32_t is_error);
int32_t vm_resume(void);
int32_t vm_heap(void);

int32_t host_call(int32_t fn, const uint8_t *args, int32_t args_len,
                  uint8_t *out, int32_t out_cap);
void host_call_promise(int32_t fn, int32_t call_id, const uint8_t *args,
                       int32_t args_len);
void take_input(uint8_t *ptr);
int32_t take_reply(uint8_t *ptr);
void eval_done(int32_t req, int32_t is_error, const uint8_t *ptr, int32_t len);
int32_t interrupt(void);
int32_t next_settled(uint8_t *out, int32_t out_cap);

static const uint8_t *input;
static size_t input_len;
static uint8_t *reply;
static size_t reply_len;
static uint8_t result[1 << 16];
static size_t result_len;
static int result_error, result_req, last_call_id;

void take_input(uint8_t *ptr) {
  memcpy(ptr, input, input_len);
}

int32_t take_reply(uint8_t *ptr) {
  memcpy(ptr, reply, reply_len);
  return (int32_t)(reply_len * 2);
}

/* fn 0: replies with its argument array; fn 1: a 10,000-byte string. */
int32_t host_call(int32_t fn, const uint8_t *args, int32_t args_len,
                  uint8_t *out, int32_t out_cap) {
  free(reply);
  if (fn == 0) {
    reply_len = (size_t)args_len;
    reply = malloc(reply_len);
    memcpy(reply, args, reply_len);
  } else {
    reply_len = 5 + 10000;
    reply = malloc(reply_len);
    reply[0] = 5; /* string */
    uint32_t n = 10000;
    memcpy(reply + 1, &n, 4);
    memset(reply + 5, 'z', 10000);
  }
  if ((int32_t)reply_len <= out_cap) {
    memcpy(out, reply, reply_len);
    return (int32_t)(reply_len * 2);
  }
  return -(int32_t)(reply_len * 2);
}

void host_call_promise(int32_t fn, int32_t call_id, const uint8_t *args,
                       int32_t args_len) {
  (void)fn;
  (void)args;
  (void)args_len;
  last_call_id = call_id;
}

void eval_done(int32_t req, int32_t is_error, const uint8_t *ptr, int32_t len) {
  result_req = req;
  result_error = is_error;
  result_len = (size_t)len;
  memcpy(result, ptr, result_len);
}

int32_t interrupt(void) {
  return 0;
}

/* Settlements handed over by next_settled: call ids, each replied to with
 * int 100 + its position (a one-item queue per call is enough here). */
static int32_t handed_ids[4];
static int handed_n, handed_calls;

int32_t next_settled(uint8_t *out, int32_t out_cap) {
  handed_calls++;
  if (handed_n == 0 || out_cap < 13) return 0;
  int32_t id = handed_ids[0];
  memmove(handed_ids, handed_ids + 1, sizeof handed_ids - sizeof id);
  handed_n--;
  memcpy(out, &id, 4);
  const uint8_t v[] = {12, (uint8_t)(100 + handed_n), 0, 0, 0};
  memcpy(out + 8, v, 5);
  return 5 * 2;
}

static int passed, failed;

static void check(int ok, const char *what) {
  if (ok) {
    passed++;
    printf("ok %s\n", what);
  } else {
    failed++;
    printf("FAIL %s\n", what);
  }
}

static int run(int32_t req, const char *code, int type) {
  static char buf[1 << 16];
  size_t n = strlen(code);
  memcpy(buf, code, n);
  memcpy(buf + n, "t.js", 4);
  input = (const uint8_t *)buf;
  input_len = n + 4;
  result_len = 0;
  return vm_eval(req, (int32_t)n, 4, type);
}

static void define(int32_t id, const char *name, int style) {
  input = (const uint8_t *)name;
  input_len = strlen(name);
  check(vm_define(id, (int32_t)input_len, style) == 0, name);
}

int main(void) {
  check(vm_init(8 << 20, 256 << 10, 1, 1 << 20, 0) == 0, "vm_init");
  define(0, "echo", 0);
  define(1, "ns.big", 0);
  define(2, "later", 1);

  run(1, "1 + 2", 0);
  static const uint8_t three[] = {12, 3, 0, 0, 0};
  check(result_req == 1 && !result_error && result_len == 5 &&
            !memcmp(result, three, 5),
        "1 + 2 is int 3");

  run(2,
      "const r = echo({a: [1, 'x', null, undefined, 2n ** 70n, "
      "new Uint8Array([1, 2]), new Date(5), new TypeError('t')]})[0].a; "
      "[r.length, r[1], r[3], typeof r[4], r[4] === 2n ** 70n, r[5][1], "
      "r[6].getTime(), r[7] instanceof TypeError, r[7].message].join()",
      0);
  const char *want = "8,x,,bigint,true,2,5,true,t";
  check(!result_error && result_len == 5 + strlen(want) && result[0] == 5 &&
            !memcmp(result + 5, want, strlen(want)),
        "echo round trip");

  run(3, "ns.big().length", 0);
  static const uint8_t tenk[] = {12, 0x10, 0x27, 0, 0};
  check(!result_error && result_len == 5 && !memcmp(result, tenk, 5),
        "a reply larger than the reply buffer");

  check(run(4, "later(1).then((v) => v + 1)", 0) == 1 && result_len == 0,
        "a Promise-style call leaves the evaluation pending");
  static const uint8_t forty[] = {12, 40, 0, 0, 0};
  reply = realloc(reply, 5);
  memcpy(reply, forty, 5);
  reply_len = 5;
  check(vm_settle(last_call_id, 5, 0) == 0, "vm_settle");
  static const uint8_t fortyone[] = {12, 41, 0, 0, 0};
  check(result_req == 4 && !result_error && result_len == 5 &&
            !memcmp(result, fortyone, 5),
        "settled to 41");

  run(5, "throw new RangeError('r')", 0);
  check(result_error && result[0] == 11, "an exception is an error value");

  run(6, "await later(2); globalThis.m = 1", 1);
  check(vm_settle(last_call_id, 5, 0) == 0 && result_req == 6 && !result_error,
        "module with top-level await");

  /* Two Promise-style calls settled inside one entry (vm_resume), the
   * second one made by the job that the first settlement ran. */
  check(run(12, "later(1).then(() => later(2)).then((v) => v + 1)", 0) == 1,
        "two chained Promise-style calls: pending");
  handed_ids[handed_n++] = last_call_id;
  handed_calls = 0;
  int32_t first = last_call_id;
  check(vm_resume() == 0 && result_req != 12 && last_call_id != first &&
            handed_calls == 2,
        "vm_resume takes the first settlement, then asks again and returns");
  handed_ids[handed_n++] = last_call_id;
  static const uint8_t hundredone[] = {12, 101, 0, 0, 0};
  check(vm_resume() == 0 && result_req == 12 && !result_error &&
            result_len == 5 && !memcmp(result, hundredone, 5),
        "the second settlement finishes the evaluation");

  run(7, "const o = {}; o.o = o; o", 0);
  check(result_error, "a cycle is refused");

  run(8,
      "const k = []; try { for (;;) k.push({}); } catch (e) { k.length = 0; "
      "String(e) }",
      0);
  check(!result_error && vm_heap() <= 8 << 20, "memory limit holds");

  run(9, "function f() { return f() + 1 } try { f() } catch (e) { e.name }", 0);
  check(!result_error && result[0] == 5, "stack overflow is catchable");
  check(qjs_frame_depth == 0, "no frame left after a stack overflow");

  /* maxStackDepth: 50 frames, the script's own included. */
  qjs_frame_depth_limit = 50;
  run(10,
      "let d = 0; function g() { d++; g() } try { g() } catch (e) { "
      "e instanceof RangeError ? d : -1 }",
      0);
  static const uint8_t fortynine[] = {12, 49, 0, 0, 0};
  check(!result_error && result_len == 5 && !memcmp(result, fortynine, 5),
        "the depth limit stops g at 49 levels below the script");
  run(11, "function* h(n) { yield n ? [...h(n - 1)] : 0 } [...h(10)].length",
      0);
  check(!result_error && qjs_frame_depth == 0,
        "generators below the depth limit; no frame left");
  qjs_frame_depth_limit = 0x7fffffff;

  free(reply);
  printf("native: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}
