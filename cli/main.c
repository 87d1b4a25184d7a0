/*
 * main.c -- the `wasync` command-line tool: a table of subcommands.
 *
 *   wasync validate [--threads N] FILE...   decode + validate
 *   wasync info FILE                        sections, counts, imports,
 *                                           exports, functions
 *   wasync roundtrip [--reencode] [--threads N] IN -o OUT
 *                                           decode + validate + encode
 *   wasync asyncify ...                     see cli/asyncify.c
 *
 * Errors are printed as `FILE:0xOFFSET: error: MESSAGE` and exit 1; usage
 * errors exit 2.  No output file is written when anything fails.  Adding a
 * subcommand is one row in `commands` below.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

typedef struct Command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
    {"validate", wasync_cli_validate, "check that modules are valid"},
    {"info", wasync_cli_info, "describe a module's sections and contents"},
    {"roundtrip", wasync_cli_roundtrip, "decode and re-encode a module"},
    {"asyncify", wasync_cli_asyncify, "apply the asyncify transform"},
};

static bool is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

static void print_usage(FILE *out) {
  fprintf(out, "usage: wasync COMMAND [ARGS...]\n\n"
               "Decode, validate, re-encode and transform WebAssembly "
               "modules.\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\n'wasync COMMAND --help' describes a command.  "
               "'-' names stdin/stdout.\n"
               "  --version  print the version\n");
}

/* ---- validate -------------------------------------------------------- */

/* Help text of the --threads option (validate, roundtrip). */
#define THREADS_HELP                                                           \
  "  --threads N  validate (and re-encode) function bodies on up to N\n"       \
  "               threads; default min(2, CPUs).  Only modules with more\n"    \
  "               than 256 KiB of code per thread use them; the output and\n"  \
  "               the errors are the same with any N.\n"

static int check_file(const char *path, unsigned threads) {
  WasyncCliInput input;
  if (!wasync_cli_open_input(path, &input)) return 1;
  WasyncError err = {0};
  WasyncDecodeOptions dopt = {.defer_body_checks = true, /* validated next */
                              .threads = threads};
  WasyncModule *m = wasync_module_decode(input.data, input.size, &dopt, &err);
  int rc = 0;
  if (!m || !wasync_module_validate(m, &err)) {
    wasync_cli_error(path, &err);
    rc = 1;
  }
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return rc;
}

int wasync_cli_validate(int argc, char **argv) {
  int nfiles = 0, rc = 0;
  unsigned threads = wasync_cli_default_threads();
  for (int i = 1; i < argc; i++) {
    if (is_help(argv[i])) {
      printf("usage: wasync validate [--threads N] FILE...\n\n"
             "Decodes and validates each module.  Prints nothing for valid "
             "modules;\nfor an invalid one prints FILE:0xOFFSET: error: "
             "MESSAGE and exits 1.\n\n" THREADS_HELP);
      return 0;
    }
    if (strcmp(argv[i], "--threads") == 0) {
      if (!wasync_cli_parse_threads("validate", i + 1 < argc ? argv[i + 1] : 0,
                                    &threads))
        return 2;
      i++;
    } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
      return wasync_cli_usage_error("validate", "unknown option");
    }
  }
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--threads") == 0) {
      i++;
      continue;
    }
    nfiles++;
    if (check_file(argv[i], threads) != 0) rc = 1;
  }
  if (nfiles == 0) return wasync_cli_usage_error("validate", "no input files");
  return rc;
}

/* ---- info -------------------------------------------------------------- */

static const char *kind_name(WasyncExternKind k) {
  switch (k) {
  case WASYNC_EXTERN_FUNC: return "func";
  case WASYNC_EXTERN_TABLE: return "table";
  case WASYNC_EXTERN_MEMORY: return "memory";
  case WASYNC_EXTERN_GLOBAL: return "global";
  default: return "tag";
  }
}

static void print_info(const char *path, size_t size, WasyncModule *m) {
  WasyncModuleCounts c;
  wasync_module_counts(m, &c);
  printf("%s: %zu bytes\n\nsections (%u):\n", path, size, c.sections);
  printf("  %3s  %-20s %10s %10s\n", "id", "name", "offset", "size");
  for (uint32_t i = 0; i < c.sections; i++) {
    WasyncSectionInfo s;
    wasync_module_section(m, i, &s);
    int len = s.name_len > 40 ? 40 : (int)s.name_len;
    if (s.id == 0)
      printf("  %3u  \"%.*s\"%*s %#10llx %10llu\n", s.id, len, s.name,
             len < 18 ? 18 - len : 0, "", (unsigned long long)s.offset,
             (unsigned long long)s.size);
    else
      printf("  %3u  %-20.*s %#10llx %10llu\n", s.id, len, s.name,
             (unsigned long long)s.offset, (unsigned long long)s.size);
  }
  printf("\ncounts:\n");
  printf("  %-10s %u\n", "types", c.types);
  printf("  %-10s %u (%u imported)\n", "functions", c.funcs, c.func_imports);
  printf("  %-10s %u (%u imported)\n", "tables", c.tables, c.table_imports);
  printf("  %-10s %u (%u imported)\n", "memories", c.memories,
         c.memory_imports);
  printf("  %-10s %u (%u imported)\n", "globals", c.globals, c.global_imports);
  printf("  %-10s %u (%u imported)\n", "tags", c.tags, c.tag_imports);
  printf("  %-10s %u\n", "imports", c.imports);
  printf("  %-10s %u\n", "exports", c.exports);
  printf("  %-10s %u\n", "elems", c.elems);
  printf("  %-10s %u\n", "datas", c.datas);
  printf("  %-10s %u\n", "customs", c.customs);
  if (c.has_start) printf("  %-10s func %u\n", "start", c.start);
  if (c.imports) {
    printf("\nimports (%u):\n", c.imports);
    for (uint32_t i = 0; i < c.imports; i++) {
      WasyncImportInfo im;
      wasync_module_import(m, i, &im);
      printf("  %5u  %-6s %-6u %.*s.%.*s\n", i, kind_name(im.kind), im.index,
             (int)im.module_len, im.module, (int)im.field_len, im.field);
    }
  }
  if (c.exports) {
    printf("\nexports (%u):\n", c.exports);
    for (uint32_t i = 0; i < c.exports; i++) {
      WasyncExportInfo ex;
      wasync_module_export(m, i, &ex);
      printf("  %5u  %-6s %-6u %.*s\n", i, kind_name(ex.kind), ex.index,
             (int)ex.name_len, ex.name);
    }
  }
  if (c.funcs) {
    printf("\nfunctions (%u):\n", c.funcs);
    printf("  %5s  %5s %10s %10s  %s\n", "index", "type", "offset", "size",
           "name");
    for (uint32_t i = 0; i < c.funcs; i++) {
      WasyncFuncInfo f;
      wasync_module_func(m, i, &f);
      if (f.imported)
        printf("  %5u  %5u %10s %10s  ", i, f.type, "import", "-");
      else
        printf("  %5u  %5u %#10llx %10llu  ", i, f.type,
               (unsigned long long)f.body_offset,
               (unsigned long long)f.body_size);
      if (f.name)
        printf("%.*s\n", (int)f.name_len, f.name);
      else
        printf("-\n");
    }
  }
}

int wasync_cli_info(int argc, char **argv) {
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (is_help(argv[i])) {
      printf("usage: wasync info FILE\n\n"
             "Prints a module's sections (id, name, offset, size), entity "
             "counts,\nimports, exports and functions (names from the name "
             "section, body\noffsets and sizes).\n");
      return 0;
    }
    if (argv[i][0] == '-' && argv[i][1] != '\0')
      return wasync_cli_usage_error("info", "unknown option");
    if (path) return wasync_cli_usage_error("info", "one input file expected");
    path = argv[i];
  }
  if (!path) return wasync_cli_usage_error("info", "no input file");
  WasyncCliInput input;
  if (!wasync_cli_open_input(path, &input)) return 1;
  WasyncError err = {0};
  WasyncModule *m = wasync_module_decode(input.data, input.size, NULL, &err);
  if (!m) {
    wasync_cli_error(path, &err);
    wasync_cli_close_input(&input);
    return 1;
  }
  print_info(path, input.size, m);
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return 0;
}

/* ---- roundtrip ----------------------------------------------------------- */

int wasync_cli_roundtrip(int argc, char **argv) {
  const char *in = NULL, *out = NULL;
  bool reencode = false;
  unsigned threads = wasync_cli_default_threads();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (is_help(a)) {
      printf("usage: wasync roundtrip [--reencode] [--threads N] IN -o OUT\n\n"
             "Decodes and validates IN and encodes it again to OUT.  "
             "Unchanged function\nbodies are copied; with --reencode every "
             "body and constant expression is\nre-encoded instruction by "
             "instruction.  A canonically encoded module\ncomes back byte "
             "for byte.\n\n" THREADS_HELP);
      return 0;
    } else if (strcmp(a, "--reencode") == 0) {
      reencode = true;
    } else if (strcmp(a, "--threads") == 0) {
      if (!wasync_cli_parse_threads("roundtrip", i + 1 < argc ? argv[i + 1] : 0,
                                    &threads))
        return 2;
      i++;
    } else if (strcmp(a, "-o") == 0) {
      if (i + 1 >= argc)
        return wasync_cli_usage_error("roundtrip", "-o needs a file");
      out = argv[++i];
    } else if (a[0] == '-' && a[1] != '\0') {
      return wasync_cli_usage_error("roundtrip", "unknown option");
    } else if (in) {
      return wasync_cli_usage_error("roundtrip", "one input file expected");
    } else {
      in = a;
    }
  }
  if (!in) return wasync_cli_usage_error("roundtrip", "no input file");
  if (!out) return wasync_cli_usage_error("roundtrip", "no output (-o OUT)");
  WasyncCliInput input;
  if (!wasync_cli_open_input(in, &input)) return 1;
  WasyncError err = {0};
  WasyncDecodeOptions dopt = {.defer_body_checks = true, /* validated next */
                              .threads = threads,
                              /* one decoding per body */
                              .reencode_in_validate = reencode};
  WasyncModule *m = wasync_module_decode(input.data, input.size, &dopt, &err);
  int rc = 1;
  if (!m || !wasync_module_validate(m, &err)) {
    wasync_cli_error(in, &err);
  } else {
    WasyncEncodeOptions opts = {reencode};
    uint8_t *bytes;
    size_t n;
    if (!wasync_module_encode(m, &opts, &bytes, &n, &err)) {
      wasync_cli_error(in, &err);
    } else {
      if (wasync_cli_write_file(out, bytes, n)) rc = 0;
      wasync_buffer_free(m, bytes);
    }
  }
  wasync_module_free(m);
  wasync_cli_close_input(&input);
  return rc;
}

/* ---- main ------------------------------------------------------------------
 */

int main(int argc, char **argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (is_help(cmd)) {
    print_usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("wasync %s\n", WASYNC_VERSION);
    return 0;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "wasync: unknown command '%s'\n\n", cmd);
  print_usage(stderr);
  return 2;
}
