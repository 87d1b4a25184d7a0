/*
 * api.c -- the entry points of wasync-transform.wasm, the WebAssembly
 * reactor that js/transform.js loads (wasync built for wasm32-wasi).
 *
 * Bytes in, bytes out, no files: JavaScript copies a module into memory it
 * got from wasync_api_alloc, calls wasync_api_asyncify / _validate / _info,
 * then reads the result (wasync_api_result, _result_size) or the error
 * (wasync_api_error_message, _error_offset, _error_code) and calls
 * wasync_api_release.  Asyncify's options are the CLI's own spellings
 * (`--imports env.sleep --asserts`), parsed by the same code as `wasync
 * asyncify` (cli/asyncify.c), so the two cannot drift apart.  A usage error
 * in them is printed to stderr (fd 2, which transform.js captures) like on
 * the command line; --verbose / --why lines go to stdout (fd 1).
 *
 * Only built for wasm32 (the Makefile leaves it out of the native CLI).
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define API(name) __attribute__((export_name("wasync_api_" #name)))

/* The last call's result or error (one call at a time: JS is single
 * threaded per instance). */
static struct {
  WasyncModule *module; /* owns `bytes` (wasync_buffer_free) */
  uint8_t *bytes;       /* asyncify's output, or info's JSON (malloc) */
  size_t size;
  bool bytes_malloced;
  WasyncError err;
} last;

API(release) void api_release(void);
API(alloc) void *api_alloc(size_t size);
API(free) void api_free(void *p);
API(result) const uint8_t *api_result(void);
API(result_size) size_t api_result_size(void);
API(error_message) const char *api_error_message(void);
API(error_offset) double api_error_offset(void);
API(error_code) int api_error_code(void);
API(validate) int api_validate(const uint8_t *bytes, size_t size);
API(asyncify)
int api_asyncify(const uint8_t *bytes, size_t size, char *args,
                 size_t args_size);
API(info) int api_info(const uint8_t *bytes, size_t size);

void api_release(void) {
  if (last.bytes_malloced)
    free(last.bytes);
  else if (last.bytes)
    wasync_buffer_free(last.module, last.bytes);
  wasync_module_free(last.module);
  memset(&last, 0, sizeof last);
}

void *api_alloc(size_t size) {
  return malloc(size ? size : 1);
}
void api_free(void *p) {
  free(p);
}
const uint8_t *api_result(void) {
  return last.bytes;
}
size_t api_result_size(void) {
  return last.size;
}
const char *api_error_message(void) {
  return last.err.message;
}
double api_error_offset(void) {
  return (double)last.err.offset;
}
int api_error_code(void) {
  return (int)last.err.code;
}

/* Decodes and validates `bytes` into last.module: 0, or 1 with last.err. */
static int load(const uint8_t *bytes, size_t size) {
  api_release();
  WasyncDecodeOptions dopt = {.defer_body_checks = true};
  last.module = wasync_module_decode(bytes, size, &dopt, &last.err);
  if (!last.module || !wasync_module_validate(last.module, &last.err)) return 1;
  return 0;
}

int api_validate(const uint8_t *bytes, size_t size) {
  return load(bytes, size);
}

/* --verbose and --why lines go to stdout, which transform.js captures. */
static void log_line(void *ctx, const char *line) {
  (void)ctx;
  printf("%s\n", line);
}

/* `args`: args_size bytes of NUL-terminated option strings.
 * Returns 0 (result: the module), 1 (error: last.err) or 2 (a usage
 * error, printed to stderr). */
int api_asyncify(const uint8_t *bytes, size_t size, char *args,
                 size_t args_size) {
  api_release();
  int argc = 1;
  for (size_t i = 0; i < args_size; i++)
    if (args[i] == '\0') argc++;
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  if (!argv) {
    last.err.code = WASYNC_ERR_NOMEM;
    snprintf(last.err.message, sizeof last.err.message, "out of memory");
    return 1;
  }
  static char name[] = "asyncify";
  argv[0] = name;
  for (size_t i = 0, k = 1; i < args_size; k++) {
    argv[k] = args + i;
    i += strlen(args + i) + 1;
  }
  WasyncAsyncifyOptions o;
  memset(&o, 0, sizeof o);
  o.log = log_line;
  WasyncCliLists ls;
  memset(&ls, 0, sizeof ls);
  int rc = wasync_cli_asyncify_options(argc, argv, &o, &ls, NULL, NULL);
  if (rc < 0) {
    rc = 1;
    if (load(bytes, size) == 0 && wasync_asyncify(last.module, &o, &last.err) &&
        wasync_module_encode(last.module, NULL, &last.bytes, &last.size,
                             &last.err))
      rc = 0;
  } else if (rc == 0) {
    rc = 2; /* --help: not an operation */
  }
  wasync_cli_lists_free(&ls);
  free(argv);
  return rc;
}

/* ---- info: the module described as JSON ---------------------------------- */

typedef struct Json {
  char *s;
  size_t n, cap;
  bool oom;
} Json;

static void put(Json *j, const char *s, size_t n) {
  if (j->oom) return;
  if (j->n + n + 1 > j->cap) {
    size_t cap = j->cap ? j->cap * 2 : 4096;
    while (cap < j->n + n + 1)
      cap *= 2;
    char *p = realloc(j->s, cap);
    if (!p) {
      j->oom = true;
      return;
    }
    j->s = p;
    j->cap = cap;
  }
  memcpy(j->s + j->n, s, n);
  j->n += n;
  j->s[j->n] = '\0';
}

static void puts_(Json *j, const char *s) {
  put(j, s, strlen(s));
}

static void num(Json *j, const char *key, unsigned long long v) {
  char b[64];
  snprintf(b, sizeof b, "\"%s\":%llu,", key, v);
  puts_(j, b);
}

/* A JSON string (names are bytes: anything not printable ASCII is
 * escaped as \u00XX, one byte each). */
static void str(Json *j, const char *key, const char *s, size_t n) {
  char b[16];
  snprintf(b, sizeof b, "\"%s\":\"", key);
  puts_(j, b);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
      snprintf(b, sizeof b, "\\u%04x", c);
      puts_(j, b);
    } else {
      put(j, s + i, 1);
    }
  }
  puts_(j, "\",");
}

/* Drops a trailing comma before closing. */
static void close_(Json *j, const char *end) {
  if (!j->oom && j->n && j->s[j->n - 1] == ',') j->n--;
  puts_(j, end);
}

static void info_json(Json *j, const WasyncModule *m, size_t size) {
  WasyncModuleCounts c;
  wasync_module_counts(m, &c);
  puts_(j, "{");
  num(j, "size", size);
  puts_(j, "\"sections\":[");
  for (uint32_t i = 0; i < c.sections; i++) {
    WasyncSectionInfo s;
    wasync_module_section(m, i, &s);
    puts_(j, "{");
    num(j, "id", s.id);
    str(j, "name", s.name, s.name_len);
    num(j, "offset", s.offset);
    num(j, "size", s.size);
    close_(j, "},");
  }
  close_(j, "],\"counts\":{");
  num(j, "types", c.types);
  num(j, "functions", c.funcs);
  num(j, "functionImports", c.func_imports);
  num(j, "tables", c.tables);
  num(j, "tableImports", c.table_imports);
  num(j, "memories", c.memories);
  num(j, "memoryImports", c.memory_imports);
  num(j, "globals", c.globals);
  num(j, "globalImports", c.global_imports);
  num(j, "tags", c.tags);
  num(j, "tagImports", c.tag_imports);
  num(j, "imports", c.imports);
  num(j, "exports", c.exports);
  num(j, "elems", c.elems);
  num(j, "datas", c.datas);
  num(j, "customs", c.customs);
  close_(j, "},");
  if (c.has_start) num(j, "start", c.start);
  puts_(j, "\"imports\":[");
  for (uint32_t i = 0; i < c.imports; i++) {
    WasyncImportInfo im;
    wasync_module_import(m, i, &im);
    puts_(j, "{");
    str(j, "module", im.module, im.module_len);
    str(j, "name", im.field, im.field_len);
    str(j, "kind", wasync_cli_kind_name(im.kind),
        strlen(wasync_cli_kind_name(im.kind)));
    num(j, "index", im.index);
    close_(j, "},");
  }
  close_(j, "],\"exports\":[");
  for (uint32_t i = 0; i < c.exports; i++) {
    WasyncExportInfo ex;
    wasync_module_export(m, i, &ex);
    puts_(j, "{");
    str(j, "name", ex.name, ex.name_len);
    str(j, "kind", wasync_cli_kind_name(ex.kind),
        strlen(wasync_cli_kind_name(ex.kind)));
    num(j, "index", ex.index);
    close_(j, "},");
  }
  close_(j, "],\"functions\":[");
  for (uint32_t i = 0; i < c.funcs; i++) {
    WasyncFuncInfo f;
    wasync_module_func(m, i, &f);
    puts_(j, "{");
    num(j, "index", i);
    num(j, "type", f.type);
    if (f.imported) {
      puts_(j, "\"imported\":true,");
    } else {
      num(j, "offset", f.body_offset);
      num(j, "size", f.body_size);
    }
    if (f.name) str(j, "name", f.name, f.name_len);
    close_(j, "},");
  }
  close_(j, "]}");
}

/* Result: the module's description as JSON text (sections, counts,
 * imports, exports, functions: what `wasync info` prints).  Like `wasync
 * info`, it decodes without validating. */
int api_info(const uint8_t *bytes, size_t size) {
  api_release();
  last.module = wasync_module_decode(bytes, size, NULL, &last.err);
  if (!last.module) return 1;
  Json j = {0};
  info_json(&j, last.module, size);
  if (j.oom) {
    free(j.s);
    last.err.code = WASYNC_ERR_NOMEM;
    snprintf(last.err.message, sizeof last.err.message, "out of memory");
    return 1;
  }
  last.bytes = (uint8_t *)j.s;
  last.size = j.n;
  last.bytes_malloced = true;
  return 0;
}
