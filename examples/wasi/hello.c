/* wasync cc hello.c -o hello.wasm && wasync run hello.wasm */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(void) {
  char name[64] = "";
  printf("What is your name? ");
  fflush(stdout);
  if (!fgets(name, sizeof name, stdin)) strcpy(name, "stranger");
  name[strcspn(name, "\n")] = 0;
  printf("thinking...\n");
  fflush(stdout);
  sleep(1);
  printf("Hello, %s!\n", name);
  return 0;
}
