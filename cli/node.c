/*
 * node.c -- `wasync cc ...` and `wasync run ...`: commands written in
 * JavaScript (js/commands/cc.js, run.js), run by Node.js.  The native CLI
 * replaces itself with `node JS cc|run ARGS...`, where JS is
 * <directory of this executable>/../js/bin/wasync.mjs (a checkout's
 * build/wasync finds the checkout's js/) or $WASYNC_JS when set.
 *
 * Not in the WASI build (the Makefile leaves this file out): there,
 * js/bin/wasync.mjs dispatches these two before the CLI starts.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* js/bin/wasync.mjs next to the executable, into buf. */
static bool default_js(const char *argv0, char *buf, size_t cap) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
  } else if (strchr(argv0, '/') && strlen(argv0) < sizeof exe) {
    memcpy(exe, argv0, strlen(argv0) + 1);
  } else {
    return false;
  }
  char *slash = strrchr(exe, '/');
  if (!slash) return false;
  *slash = '\0';
  int len = snprintf(buf, cap, "%s/../js/bin/wasync.mjs", exe);
  return len > 0 && (size_t)len < cap;
}

/* argv[0] is "cc" or "run"; `self` the executable's argv[0]. */
static int run_node(const char *self, int argc, char **argv) {
  const char *cmd = argv[0];
  char buf[4200];
  const char *js = getenv("WASYNC_JS");
  if (!js || !*js) {
    if (!default_js(self, buf, sizeof buf)) {
      fprintf(stderr,
              "wasync %s: cannot tell where this executable is; set "
              "WASYNC_JS to the path of js/bin/wasync.mjs\n",
              cmd);
      return 1;
    }
    js = buf;
  }
  if (access(js, R_OK) != 0) {
    fprintf(stderr,
            "wasync %s: %s: %s (the '%s' command runs in Node.js from the "
            "wasync package's js/; set WASYNC_JS to its bin/wasync.mjs)\n",
            cmd, js, strerror(errno), cmd);
    return 1;
  }
  char **args = calloc((size_t)argc + 3, sizeof *args);
  if (!args) {
    fprintf(stderr, "wasync %s: out of memory\n", cmd);
    return 1;
  }
  static char node[] = "node";
  args[0] = node;
  args[1] = (char *)(uintptr_t)js; /* execvp does not write it */
  for (int i = 0; i < argc; i++)
    args[i + 2] = argv[i];
  fflush(stdout);
  execvp("node", args);
  int e = errno;
  free(args);
  if (e == ENOENT)
    fprintf(stderr,
            "wasync %s: node was not found in PATH (the '%s' command needs "
            "Node.js >= 20)\n",
            cmd, cmd);
  else
    fprintf(stderr, "wasync %s: cannot run node: %s\n", cmd, strerror(e));
  return 1;
}

int wasync_cli_cc(int argc, char **argv) {
  return run_node(wasync_cli_self, argc, argv);
}

int wasync_cli_run(int argc, char **argv) {
  return run_node(wasync_cli_self, argc, argv);
}
