/*
 * truncate.c -- every truncated prefix of a valid module must fail cleanly.
 *
 *   build/tools/truncate FILE.wasm... [@LIST]...
 *
 * (@LIST names a file with one .wasm path per line.)  For each module that
 * decodes and validates, the tool decodes + validates prefixes of it, each
 * copied into a buffer of exactly its length (so a sanitizer build catches
 * any read past the end):
 *   - modules up to 16 KiB: every prefix length 0 .. size-1;
 *   - larger modules: the lengths within 8 bytes of every section boundary
 *     plus about 4096 evenly spaced ones.
 * A prefix passes if decoding or validation fails with a non-empty message,
 * a code other than WASYNC_ERR_NOMEM (running out of memory on a few bytes
 * means a declared count was trusted), and an error offset <= the prefix
 * length.  A prefix that is accepted passes only if it ends exactly on a
 * section boundary (cutting a module between sections can leave a valid
 * module); anywhere else accepting it is a failure.
 *
 * Prints each failure (up to 50 per run in detail), then totals and
 * `truncate: N passed, N failed` counted in modules.  Exit status 1 on any
 * failure, 2 on a usage or I/O error.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasync.h"

#define SMALL_LIMIT (16u * 1024u)
#define SPACED_PREFIXES 4096u
#define BOUNDARY_SLACK 8u
#define MAX_REPORTS 50

static unsigned long reports;

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  while (buf) {
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (len < cap) break;
    uint8_t *grown = realloc(buf, cap * 2);
    if (!grown) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = grown;
    cap *= 2;
  }
  if (buf && ferror(f)) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *size = len;
  return buf;
}

/* Decodes + validates; returns true if the module is valid. */
static bool check(const uint8_t *bytes, size_t size, WasyncError *err) {
  memset(err, 0, sizeof *err);
  WasyncModule *m = wasync_module_decode(bytes, size, NULL, err);
  if (!m) return false;
  bool ok = wasync_module_validate(m, err);
  wasync_module_free(m);
  return ok;
}

static bool read_leb_u32(const uint8_t *p, size_t size, size_t *pos,
                         uint32_t *out) {
  uint32_t v = 0;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    if (*pos >= size) return false;
    uint8_t b = p[(*pos)++];
    v |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* Section boundaries: 8 (after the header) and the end of every section. */
static size_t section_boundaries(const uint8_t *p, size_t size, size_t **out) {
  size_t cap = 16, n = 0;
  size_t *b = malloc(cap * sizeof *b);
  if (!b) return 0;
  b[n++] = 8;
  size_t pos = 8;
  while (pos < size) {
    uint32_t len;
    pos++; /* section id */
    if (!read_leb_u32(p, size, &pos, &len) || len > size - pos) break;
    pos += len;
    if (n == cap) {
      size_t *grown = realloc(b, cap * 2 * sizeof *b);
      if (!grown) break;
      b = grown;
      cap *= 2;
    }
    b[n++] = pos;
  }
  *out = b;
  return n;
}

static bool is_boundary(const size_t *b, size_t n, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (b[i] == len) return true;
  return false;
}

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* Checks one prefix; returns true if it behaves. */
static bool check_prefix(const char *path, const uint8_t *bytes, size_t len,
                         const size_t *bounds, size_t nbounds) {
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    fprintf(stderr, "truncate: out of memory\n");
    exit(2);
  }
  if (len) memcpy(copy, bytes, len);
  WasyncError err;
  bool valid = check(copy, len, &err);
  free(copy);
  const char *why = NULL;
  if (valid) {
    if (!is_boundary(bounds, nbounds, len))
      why = "accepted (not at a section boundary)";
  } else if (err.code == WASYNC_OK) {
    why = "failed without an error code";
  } else if (err.code == WASYNC_ERR_NOMEM) {
    why = "ran out of memory (a count trusted before checking the bytes?)";
  } else if (err.message[0] == '\0') {
    why = "failed without a message";
  } else if (err.offset > len) {
    why = "error offset beyond the end of the prefix";
  }
  if (!why) return true;
  if (reports++ < MAX_REPORTS)
    printf("FAIL %s: prefix of %zu bytes: %s (offset 0x%llx: %s)\n", path, len,
           why, (unsigned long long)err.offset, err.message);
  return false;
}

/* Returns 1 if checked and passed, 0 if failed, -1 if skipped (invalid). */
static int check_module(const char *path, unsigned long long *prefixes,
                        unsigned long long *bad_prefixes) {
  size_t size;
  uint8_t *bytes = read_file(path, &size);
  if (!bytes) {
    printf("FAIL %s: cannot read\n", path);
    return 0;
  }
  WasyncError err;
  if (!check(bytes, size, &err)) {
    free(bytes);
    return -1;
  }
  size_t *bounds = NULL;
  size_t nbounds = section_boundaries(bytes, size, &bounds);
  size_t *lens;
  size_t nlens = 0;
  if (size <= SMALL_LIMIT) {
    lens = malloc((size ? size : 1) * sizeof *lens);
    for (size_t i = 0; lens && i < size; i++)
      lens[nlens++] = i;
  } else {
    size_t cap = SPACED_PREFIXES + nbounds * (2 * BOUNDARY_SLACK + 1) + 1;
    lens = malloc(cap * sizeof *lens);
    for (size_t i = 0; lens && i < SPACED_PREFIXES; i++)
      lens[nlens++] = (size_t)((unsigned long long)size * i / SPACED_PREFIXES);
    for (size_t i = 0; lens && i < nbounds; i++) {
      size_t lo = bounds[i] > BOUNDARY_SLACK ? bounds[i] - BOUNDARY_SLACK : 0;
      for (size_t l = lo; l <= bounds[i] + BOUNDARY_SLACK; l++)
        if (l < size) lens[nlens++] = l;
    }
    if (lens) qsort(lens, nlens, sizeof *lens, cmp_size);
  }
  if (!lens) {
    fprintf(stderr, "truncate: out of memory\n");
    exit(2);
  }
  bool ok = true;
  for (size_t i = 0; i < nlens; i++) {
    if (i > 0 && lens[i] == lens[i - 1]) continue;
    ++*prefixes;
    if (!check_prefix(path, bytes, lens[i], bounds, nbounds)) {
      ok = false;
      ++*bad_prefixes;
    }
  }
  free(lens);
  free(bounds);
  free(bytes);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE.wasm... [@LIST]...\n", argv[0]);
    return 2;
  }
  unsigned long passed = 0, failed = 0, skipped = 0;
  unsigned long long prefixes = 0, bad_prefixes = 0;
  for (int i = 1; i < argc; i++) {
    FILE *list = NULL;
    char line[4096];
    if (argv[i][0] == '@') {
      list = fopen(argv[i] + 1, "r");
      if (!list) {
        fprintf(stderr, "truncate: cannot open %s\n", argv[i] + 1);
        return 2;
      }
    }
    for (;;) {
      const char *path = argv[i];
      if (list) {
        if (!fgets(line, sizeof line, list)) break;
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0') continue;
        path = line;
      }
      int r = check_module(path, &prefixes, &bad_prefixes);
      if (r < 0)
        skipped++;
      else if (r)
        passed++;
      else
        failed++;
      if (!list) break;
    }
    if (list) fclose(list);
  }
  if (reports > MAX_REPORTS)
    printf("... %lu more failing prefixes not shown\n", reports - MAX_REPORTS);
  printf("truncate: %lu modules checked (%lu skipped: not valid), %llu "
         "prefixes, %llu failing\n",
         passed + failed, skipped, prefixes, bad_prefixes);
  printf("truncate: %lu passed, %lu failed\n", passed, failed);
  return failed ? 1 : 0;
}
