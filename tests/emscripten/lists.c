// A JS import that suspends through Asyncify.handleSleep, named in
// ASYNCIFY_IMPORTS, reached directly and through a function pointer, and
// the ONLY / REMOVE / ADD lists in the variants that still leave every
// function on the suspending path instrumented.  ADD is the classic use:
// with ASYNCIFY_IGNORE_INDIRECT the indirect call is assumed not to
// suspend, so the functions on that path are added by hand.
// emcc: -sASYNCIFY -sASYNCIFY_IMPORTS=js_wait
// variant imports:
// variant only: -sASYNCIFY_ONLY=main,__original_main,__main_argc_argv,outer,middle,inner,via_pointer
// variant remove: -sASYNCIFY_REMOVE=pure_sum
// variant add: -sASYNCIFY_IGNORE_INDIRECT -sASYNCIFY_ADD=main,__original_main,__main_argc_argv,outer,middle,via_pointer
#include <emscripten.h>
#include <stdio.h>

EM_JS(int, js_wait, (int v), {
  return Asyncify.handleSleep(function(wakeUp) {
    setTimeout(function() { wakeUp(v + 100); }, 1);
  });
});

EMSCRIPTEN_KEEPALIVE __attribute__((noinline)) int pure_sum(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += i * i;
  return s;
}

__attribute__((noinline)) int inner(int x) { return js_wait(x) + pure_sum(x); }
int (*volatile inner_ptr)(int) = inner;
__attribute__((noinline)) int via_pointer(int x) { return inner_ptr(x); }
__attribute__((noinline)) int middle(int x) { return inner(x) * 2 + via_pointer(x + 1); }
__attribute__((noinline)) int outer(int x) {
  int a = middle(x);
  int b = pure_sum(a % 7);
  return a + b;
}

int main(void) {
  for (int i = 0; i < 3; i++) printf("outer(%d) = %d\n", i, outer(i));
  return 0;
}
