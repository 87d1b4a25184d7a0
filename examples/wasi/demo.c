/* The wasync WASI demo: ordinary blocking C -- printf, sleep, fgets on
 * stdin, fopen of a file -- that runs unchanged in a browser tab (without
 * freezing it) and in Node under wasync/wasi, in every mode.
 *
 *   wasync cc demo.c -o demo.wasm
 *
 * The same file builds with Emscripten for comparison (bench/wasi.mjs):
 *   emcc -O2 -sASYNCIFY demo.c -o demo-emcc.js
 * where the sleep is emscripten_sleep and the remote file (URL in argv[2]) is
 * fetched with emscripten_wget -- Emscripten's own way of doing the same. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#endif

#define DATA_FILE "/data/remote.txt"

static void nap(unsigned ms) {
#ifdef __EMSCRIPTEN__
  emscripten_sleep(ms);
#else
  usleep(ms * 1000);
#endif
}

int main(int argc, char **argv) {
  char line[256];
  int n = 0;
  unsigned ms = argc > 1 ? (unsigned)atoi(argv[1]) : 300;

  printf("hello from C\n");
  printf("sleeping %u ms\n", ms);
  fflush(stdout);
  nap(ms);
  printf("awake\n");

  printf("type lines (end with an empty line or EOF)\n");
  fflush(stdout);
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\r\n")] = 0;
    if (!line[0]) break;
    printf("you said: %s\n", line);
    fflush(stdout);
    n++;
  }
  printf("%d lines\n", n);

  printf("reading %s\n", DATA_FILE);
  fflush(stdout);
#ifdef __EMSCRIPTEN__
  /* Emscripten's way: fetch the URL (argv[2]) into its in-memory FS */
  emscripten_wget(argc > 2 ? argv[2] : "remote.txt", DATA_FILE);
#endif
  FILE *f = fopen(DATA_FILE, "r");
  if (!f) {
    printf("cannot open %s\n", DATA_FILE);
    return 1;
  }
  while (fgets(line, sizeof line, f))
    printf("file: %s", line);
  fclose(f);
  printf("bye\n");
  return 0;
}
