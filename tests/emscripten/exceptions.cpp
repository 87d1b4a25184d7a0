// C++ exceptions (Emscripten's JS-based implementation: calls in try blocks
// go through invoke_* imports) thrown before and after sleeping.
// emcc: -sASYNCIFY -fexceptions
#include <emscripten.h>
#include <stdexcept>
#include <cstdio>
#include <string>

__attribute__((noinline)) static int risky(int n) {
  emscripten_sleep(1);
  if (n % 2) throw std::runtime_error("odd " + std::to_string(n));
  return n * 10;
}

int main() {
  int sum = 0;
  for (int i = 0; i < 5; i++) {
    try {
      sum += risky(i);
      std::printf("ok %d\n", i);
    } catch (const std::exception &e) {
      emscripten_sleep(1);
      std::printf("caught %s\n", e.what());
      sum -= 1;
    }
  }
  std::printf("sum %d\n", sum);
  return 0;
}
