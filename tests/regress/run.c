/*
 * run.c -- the regression suite: every fixed bug and every fuzz crash
 * leaves a case here, so the bug stays fixed.
 *
 * A case is tests/regress/NAME.case, a few `key: value` lines:
 *
 *   # the bug, the commit that fixed it, how the case was seen to fail
 *   run: asyncify -pa asyncify-asserts $IN -o $OUT
 *   exit: 0
 *   stderr: text the command's stderr must contain (optional)
 *   stdout: text its stdout must contain (optional)
 *
 *   sweep: asyncify | decode | validate | encode
 *
 *   sh: tests/regress/header-example.sh $BUILD
 *
 * `run` runs a CLI command in this process (the commands of cli/, linked
 * in) with each argument in its own exactly-sized heap block, so that the
 * sanitized build (make test-regress builds this runner with ASan+UBSan)
 * catches a read past an argument's end.  $IN is NAME.wasm next to the
 * case, $OUT a fresh output path; when the command fails, $OUT must not
 * exist; when it succeeds, $OUT must be a valid module.  `sweep` decodes
 * NAME.wasm with an allocator that refuses the N-th allocation of the named
 * step, for every N (asyncify: every function split, asserts on): each
 * failure must be an out-of-memory error, nothing may leak.  `sh` runs a
 * shell command ($BUILD: the build directory) that must exit 0.
 *
 * Usage: regress BUILD_DIR CASE...   Prints `regress: N passed, N failed`.
 */
#include "cli.h"
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 64

typedef struct Case {
  char path[512]; /* the .case file */
  char in[512];   /* NAME.wasm */
  char run[1024], sweep[64], sh[1024];
  char out_text[256], err_text[256];
  int exit_code;
} Case;

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t')
    s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                   s[n - 1] == '\r'))
    s[--n] = '\0';
  return s;
}

static void copy(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src);
}

static bool load_case(const char *path, Case *c) {
  memset(c, 0, sizeof *c);
  copy(c->path, sizeof c->path, path);
  size_t n = strlen(path);
  if (n < 5 || strcmp(path + n - 5, ".case") != 0 || n + 1 > sizeof c->in)
    return false;
  snprintf(c->in, sizeof c->in, "%.*s.wasm", (int)(n - 5), path);
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[1024];
  bool ok = true;
  while (fgets(line, sizeof line, f)) {
    char *l = trim(line);
    if (*l == '#' || *l == '\0') continue;
    char *colon = strchr(l, ':');
    if (!colon) {
      ok = false;
      break;
    }
    *colon = '\0';
    char *v = trim(colon + 1);
    if (!strcmp(l, "run"))
      copy(c->run, sizeof c->run, v);
    else if (!strcmp(l, "sweep"))
      copy(c->sweep, sizeof c->sweep, v);
    else if (!strcmp(l, "sh"))
      copy(c->sh, sizeof c->sh, v);
    else if (!strcmp(l, "exit"))
      c->exit_code = atoi(v);
    else if (!strcmp(l, "stdout"))
      copy(c->out_text, sizeof c->out_text, v);
    else if (!strcmp(l, "stderr"))
      copy(c->err_text, sizeof c->err_text, v);
    else
      ok = false;
  }
  fclose(f);
  return ok && (c->run[0] || c->sweep[0] || c->sh[0]);
}

/* Replaces $IN, $OUT and $BUILD in one word; returns an exactly-sized
 * heap copy. */
static char *expand(const char *word, const char *in, const char *out,
                    const char *build) {
  const char *v = !strcmp(word, "$IN")      ? in
                  : !strcmp(word, "$OUT")   ? out
                  : !strcmp(word, "$BUILD") ? build
                                            : word;
  size_t n = strlen(v);
  char *s = malloc(n + 1);
  if (s) memcpy(s, v, n + 1);
  return s;
}

/* Sends fd 1 or 2 to BUILD/regress.stdout or .stderr while a command runs:
 * named files, so that a sanitizer report of a case that kills the runner
 * stays readable (make test-regress prints it). */
static const char *build_dir;

static FILE *redirect(int fd, int *saved) {
  char path[600];
  snprintf(path, sizeof path, "%s/regress.%s", build_dir,
           fd == 1 ? "stdout" : "stderr");
  FILE *tmp = fopen(path, "w+");
  fflush(fd == 1 ? stdout : stderr);
  *saved = dup(fd);
  if (tmp) dup2(fileno(tmp), fd);
  return tmp;
}

static void restore(int fd, int saved, FILE *tmp, char *text, size_t cap) {
  fflush(fd == 1 ? stdout : stderr);
  dup2(saved, fd);
  close(saved);
  text[0] = '\0';
  if (!tmp) return;
  rewind(tmp);
  size_t n = fread(text, 1, cap - 1, tmp);
  text[n] = '\0';
  fclose(tmp);
}

static bool file_exists(const char *path) {
  return access(path, F_OK) == 0;
}

static bool valid_module(const char *path) {
  WasyncCliInput in;
  int saved;
  FILE *tmp = redirect(2, &saved);
  bool ok = wasync_cli_open_input(path, &in);
  char ignored[16];
  restore(2, saved, tmp, ignored, sizeof ignored);
  if (!ok) return false;
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(in.data, in.size, NULL, &err);
  ok = m && wasync_module_validate(m, &err);
  wasync_module_free(m);
  wasync_cli_close_input(&in);
  return ok;
}

static void run_command(const Case *c, const char *build) {
  char out[600];
  snprintf(out, sizeof out, "%s/regress-%ld.wasm", build, (long)getpid());
  remove(out);
  char line[1024];
  copy(line, sizeof line, c->run);
  char *argv[MAX_ARGS + 2];
  int argc = 0;
  argv[argc++] = expand("wasync", c->in, out, build);
  for (char *w = strtok(line, " \t"); w && argc < MAX_ARGS;
       w = strtok(NULL, " \t"))
    argv[argc++] = expand(w, c->in, out, build);
  argv[argc] = NULL;
  /* the command may reorder nothing, but keep our own pointers to free */
  char *owned[MAX_ARGS + 2];
  memcpy(owned, argv, sizeof owned);
  static char out_text[1 << 16], err_text[1 << 16];
  int so, se;
  FILE *to = redirect(1, &so), *te = redirect(2, &se);
  int rc = wasync_cli_main(argc, argv);
  restore(2, se, te, err_text, sizeof err_text);
  restore(1, so, to, out_text, sizeof out_text);
  for (int i = 0; i < argc; i++)
    free(owned[i]);
  int fails = test_failed_;
  CHECK_EQ(rc, c->exit_code);
  if (c->err_text[0]) CHECK(strstr(err_text, c->err_text) != NULL);
  if (c->out_text[0]) CHECK(strstr(out_text, c->out_text) != NULL);
  if (strstr(c->run, "$OUT")) {
    if (rc != 0)
      CHECK(!file_exists(out)); /* no output file when anything fails */
    else
      CHECK(valid_module(out));
  }
  if (test_failed_ != fails)
    fprintf(stderr, "    exit %d; stderr:\n%s", rc, err_text);
  remove(out);
}

/* ---- sweep: the N-th allocation of one step fails ---------------------- */

typedef struct Sweep {
  const char *step;
  WasyncCliInput in;
} Sweep;

static bool sweep_attempt(void *ctx, TestAlloc *t, long n, int *code) {
  const Sweep *sw = ctx;
  WasyncAllocator a = TEST_ALLOCATOR(t);
  WasyncDecodeOptions dopts = {.allocator = &a};
  WasyncError err = {0};
  bool decode_step = !strcmp(sw->step, "decode");
  if (decode_step) test_alloc_arm(t, n);
  WasyncModule *m =
      wasync_module_decode(sw->in.data, sw->in.size, &dopts, &err);
  bool ok = m != NULL;
  if (ok && !decode_step) {
    if (!strcmp(sw->step, "validate")) test_alloc_arm(t, n);
    ok = wasync_module_validate(m, &err);
    if (!ok && !t->failed) CHECK(!"the sweep's module is valid");
  }
  if (ok && !strcmp(sw->step, "encode")) {
    test_alloc_arm(t, n);
    uint8_t *out = NULL;
    size_t size = 0;
    WasyncEncodeOptions eo = {.reencode = true};
    ok = wasync_module_encode(m, &eo, &out, &size, &err);
    wasync_buffer_free(m, out);
  } else if (ok && !strcmp(sw->step, "asyncify")) {
    WasyncAsyncifyOptions o;
    memset(&o, 0, sizeof o);
    o.split_min_sites = 1;
    o.asserts = true;
    test_alloc_arm(t, n);
    ok = wasync_asyncify(m, &o, &err);
  }
  if (!ok) *code = err.code;
  wasync_module_free(m);
  return ok;
}

static void run_sweep(const Case *c) {
  Sweep sw = {c->sweep, {0}};
  if (strcmp(sw.step, "decode") && strcmp(sw.step, "validate") &&
      strcmp(sw.step, "encode") && strcmp(sw.step, "asyncify")) {
    CHECK(!"sweep: decode, validate, encode or asyncify");
    return;
  }
  if (!CHECK(wasync_cli_open_input(c->in, &sw.in))) return;
  TEST_ALLOC_SWEEP(sweep_attempt, &sw, 1000000, 1);
  wasync_cli_close_input(&sw.in);
}

static void run_sh(const Case *c, const char *build) {
  char cmd[2048];
  const char *at = strstr(c->sh, "$BUILD");
  if (at)
    snprintf(cmd, sizeof cmd, "%.*s%s%s", (int)(at - c->sh), c->sh, build,
             at + 6);
  else
    copy(cmd, sizeof cmd, c->sh);
  fflush(stdout);
  fflush(stderr);
  int rc = system(cmd);
  CHECK_EQ(rc, 0);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: regress BUILD_DIR CASE...\n");
    return 2;
  }
  const char *build = argv[1];
  build_dir = build;
  for (int i = 2; i < argc; i++) {
    Case c;
    printf("== %s\n", argv[i]);
    fflush(stdout);
    int fails = test_failed_;
    if (!load_case(argv[i], &c)) {
      CHECK(!"a readable case with run:, sweep: or sh:");
    } else {
      if (c.run[0]) run_command(&c, build);
      if (c.sweep[0]) run_sweep(&c);
      if (c.sh[0]) run_sh(&c, build);
    }
    if (test_failed_ != fails) fprintf(stderr, "  in %s\n", argv[i]);
  }
  printf("regress: %d passed, %d failed\n", test_passed_, test_failed_);
  return test_failed_ ? 1 : 0;
}
