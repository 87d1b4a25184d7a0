/*
 * commands.c -- the `wasync` command-line tool: a table of subcommands.
 *
 *   wasync validate [--threads N] FILE...   decode + validate
 *   wasync info FILE                        sections, counts, imports,
 *                                           exports, functions
 *   wasync roundtrip [--reencode] [--threads N] IN -o OUT
 *                                           decode + validate + encode
 *   wasync asyncify ...                     see cli/asyncify.c
 *
 * Each subcommand lives in its own file (cli/NAME.c); shared file input,
 * output and error printing in cli/util.c, name lists in cli/list.c.
 * Errors are printed as `FILE:0xOFFSET: error: MESSAGE` and exit 1; usage
 * errors exit 2.  No output file is written when anything fails.  Adding a
 * subcommand is one file and one row in `commands` below.
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
#if !defined(__wasi__) /* under WASI, js/bin/wasync.mjs runs these two */
    {"cc", wasync_cli_cc, "compile C to a WebAssembly module (Node.js)"},
    {"run", wasync_cli_run, "run a WebAssembly module (Node.js)"},
#endif
};

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

const char *wasync_cli_self = "wasync";

int wasync_cli_main(int argc, char **argv) {
  if (argc > 0 && argv[0]) wasync_cli_self = argv[0];
  if (argc < 2) {
    print_usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (wasync_cli_is_help(cmd)) {
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
