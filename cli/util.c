/*
 * util.c -- file input/output and error printing for the CLI.
 */
#define _GNU_SOURCE 1 /* MAP_POPULATE, renameat2 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Inputs are mapped where the system can map files; WASI cannot (wasync
 * built for wasm32-wasi reads every input with read()). */
#if defined(__wasi__)
#define HAVE_MMAP 0
#else
#define HAVE_MMAP 1
#include <sys/mman.h>
#endif

/* Reads a whole file ("-" = stdin).  Prints an error and returns false on
 * failure.  Free *data with free(). */
static bool read_file(const char *path, uint8_t **data, size_t *size) {
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
    return false;
  }
  size_t cap = 1 << 16, n = 0;
  if (!is_stdin && fseek(f, 0, SEEK_END) == 0) {
    long len = ftell(f);
    if (len >= 0) cap = (size_t)len + 1;
    rewind(f);
  }
  uint8_t *buf = malloc(cap);
  if (!buf) {
    fprintf(stderr, "%s: error: out of memory\n", path);
    if (!is_stdin) fclose(f);
    return false;
  }
  for (;;) {
    if (n == cap) {
      uint8_t *p = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
      if (!p) {
        fprintf(stderr, "%s: error: out of memory\n", path);
        free(buf);
        if (!is_stdin) fclose(f);
        return false;
      }
      buf = p;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  bool bad = ferror(f) != 0;
  if (!is_stdin) fclose(f);
  if (bad) {
    fprintf(stderr, "%s: error: read failed\n", path);
    free(buf);
    return false;
  }
  *data = buf;
  *size = n;
  return true;
}

bool wasync_cli_open_input(const char *path, WasyncCliInput *in) {
  memset(in, 0, sizeof *in);
  if (HAVE_MMAP && strcmp(path, "-") != 0) {
#if HAVE_MMAP
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
      fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
      return false;
    }
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size <= SIZE_MAX) {
      int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
      flags |= MAP_POPULATE; /* all of it is read: map it in one go */
#endif
      void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, flags, fd, 0);
      if (p != MAP_FAILED) {
        close(fd);
        in->map = p;
        in->data = p;
        in->size = (size_t)st.st_size;
        return true;
      }
    }
    close(fd); /* not mappable (empty, a pipe...): read it */
#endif
  }
  uint8_t *data;
  if (!read_file(path, &data, &in->size)) return false;
  in->owned = data;
  in->data = data;
  return true;
}

void wasync_cli_close_input(WasyncCliInput *in) {
#if HAVE_MMAP
  if (in->map) munmap(in->map, in->size);
#endif
  free(in->owned);
  memset(in, 0, sizeof *in);
}

/* Writes all of data to fd, retrying short writes. */
static bool write_all(int fd, const uint8_t *data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= (size_t)n;
  }
  return true;
}

/* Puts the finished temporary file `tmp` in place of `path`, atomically.
 * Over an existing regular file on Linux the two names are exchanged and
 * the old file is then unlinked: a plain rename() over an existing file
 * makes ext4 (auto_da_alloc) start writing the new file back inside the
 * rename call, which costs about as much as encoding a 10 MB module.  The
 * result is the same (the path names the old file, then the new one);
 * like the plain rename without fsync, it is not a durability barrier. */
static bool replace_file(const char *tmp, const char *path) {
#if defined(__linux__) && defined(RENAME_EXCHANGE)
  struct stat st;
  if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
      renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0)
    return unlink(tmp) == 0; /* tmp now names the old file */
#endif
  return rename(tmp, path) == 0;
}

/* What makes the temporary name unique to this process: its id, or on WASI
 * (no process ids) a random number. */
static long tmp_suffix(void) {
#if defined(__wasi__)
  unsigned v = 0;
  if (getentropy(&v, sizeof v) != 0) v = 0;
  return (long)(v & 0x7fffffff);
#else
  return (long)getpid();
#endif
}

bool wasync_cli_write_file(const char *path, const uint8_t *data, size_t size) {
  if (strcmp(path, "-") == 0) {
    if (fwrite(data, 1, size, stdout) != size || fflush(stdout) != 0) {
      fprintf(stderr, "-: error: write failed\n");
      return false;
    }
    return true;
  }
  size_t len = strlen(path);
  char *tmp = malloc(len + 32);
  if (!tmp) {
    fprintf(stderr, "%s: error: out of memory\n", path);
    return false;
  }
  snprintf(tmp, len + 32, "%s.tmp%ld", path, tmp_suffix());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) {
    fprintf(stderr, "%s: error: %s\n", path, strerror(errno));
    free(tmp);
    return false;
  }
  bool ok = write_all(fd, data, size); /* one write() for the whole file */
  ok = (close(fd) == 0) && ok;
  if (ok && !replace_file(tmp, path)) ok = false;
  if (!ok) {
    fprintf(stderr, "%s: error: write failed: %s\n", path, strerror(errno));
    remove(tmp);
  }
  free(tmp);
  return ok;
}

bool wasync_cli_parse_threads(const char *cmd, const char *arg, unsigned *out) {
  char *end = NULL;
  long n = arg ? strtol(arg, &end, 10) : 0;
  if (!arg || *arg == '\0' || *end != '\0' || n < 1 || n > 64) {
    wasync_cli_usage_error(cmd, "--threads needs a number from 1 to 64");
    return false;
  }
  *out = (unsigned)n;
  return true;
}

unsigned wasync_cli_default_threads(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 2 ? 2u : 1u;
}

void wasync_cli_error(const char *path, const WasyncError *err) {
  fprintf(stderr, "%s:0x%llx: error: %s\n", path,
          (unsigned long long)err->offset, err->message);
}

const char *wasync_cli_kind_name(WasyncExternKind k) {
  switch (k) {
  case WASYNC_EXTERN_FUNC: return "func";
  case WASYNC_EXTERN_TABLE: return "table";
  case WASYNC_EXTERN_MEMORY: return "memory";
  case WASYNC_EXTERN_GLOBAL: return "global";
  default: return "tag";
  }
}

bool wasync_cli_is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int wasync_cli_usage_error(const char *cmd, const char *message) {
  fprintf(stderr, "wasync %s: %s (see 'wasync %s --help')\n", cmd, message,
          cmd);
  return 2;
}
