// A JS import that suspends through Asyncify.handleSleep, named in
// ASYNCIFY_IMPORTS, and the ONLY / REMOVE / ADD lists in the variants that
// still leave every function on the suspending path instrumented.
// emcc: -sASYNCIFY -sASYNCIFY_IMPORTS=js_wait
// variant imports:
// variant only: -sASYNCIFY_ONLY=main,__original_main,__main_argc_argv,outer,middle,inner
// variant remove: -sASYNCIFY_REMOVE=pure_sum
// variant add: -sASYNCIFY_ADD=pure_sum -sASYNCIFY_REMOVE=pure_sum_unused
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
__attribute__((noinline)) int middle(int x) { return inner(x) * 2 + inner(x + 1); }
__attribute__((noinline)) int outer(int x) {
  int a = middle(x);
  int b = pure_sum(a % 7);
  return a + b;
}

int main(void) {
  for (int i = 0; i < 3; i++) printf("outer(%d) = %d\n", i, outer(i));
  return 0;
}
