// A function pointer to a JS function put into the table with addFunction
// that suspends (Asyncify.handleSleep), called from C through the pointer.
// Binaryen instruments every indirect call unless told
// asyncify-ignore-indirect, since the host may have placed such a function.
// emcc: -sASYNCIFY -sALLOW_TABLE_GROWTH -sEXPORTED_RUNTIME_METHODS=addFunction
#include <emscripten.h>
#include <stdio.h>

typedef int (*op_fn)(int);

EM_JS(op_fn, make_js_op, (void), {
  return addFunction(function(x) {
    return Asyncify.handleSleep(function(wakeUp) {
      setTimeout(function() { wakeUp(x * 3); }, 1);
    });
  }, 'ii');
});

static int twice(int x) { return x + x; }

__attribute__((noinline)) int apply(op_fn f, int x) { return f(x) + 1; }

int main(void) {
  op_fn ops[2] = {twice, make_js_op()};
  int acc = 0;
  for (int i = 0; i < 4; i++) {
    acc = apply(ops[i & 1], acc + i);
    printf("step %d: %d\n", i, acc);
  }
  return 0;
}
