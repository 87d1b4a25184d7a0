/*
 * cli.h -- shared pieces of the `wasync` command-line tool.
 *
 * Each subcommand is a function `int wasync_cli_NAME(int argc, char **argv)`
 * (argv[0] is the subcommand's name) in its own file cli/NAME.c, listed in
 * the command table of cli/commands.c.  Exit codes: 0 success, 1 the input was
 * rejected or an operation failed, 2 a usage error.
 */
#ifndef WASYNC_CLI_H
#define WASYNC_CLI_H

#include "wasync.h"

#include <stdio.h>

/* The whole tool: argv[1] names the command (cli/commands.c). */
int wasync_cli_main(int argc, char **argv);

int wasync_cli_validate(int argc, char **argv);
int wasync_cli_info(int argc, char **argv);
int wasync_cli_roundtrip(int argc, char **argv);
int wasync_cli_asyncify(int argc, char **argv);
/* cli/node.c (not under WASI): exec `node js/bin/wasync.mjs cc|run ...` */
int wasync_cli_cc(int argc, char **argv);
int wasync_cli_run(int argc, char **argv);
/* The executable's argv[0] (set by wasync_cli_main). */
extern const char *wasync_cli_self;

/* "func", "table", "memory", "global" or "tag". */
const char *wasync_cli_kind_name(WasyncExternKind kind);

/* Whether an argument asks for help (--help, -h). */
bool wasync_cli_is_help(const char *arg);

/* Help text of the --threads option (validate, roundtrip). */
#define WASYNC_CLI_THREADS_HELP                                                \
  "  --threads N  validate (and re-encode) function bodies on up to N\n"       \
  "               threads; default min(2, CPUs).  Only modules with more\n"    \
  "               than 256 KiB of code per thread use them; the output and\n"  \
  "               the errors are the same with any N.\n"

/* ---- name lists (cli/list.c) --------------------------------------------- */

/* Splits a Binaryen list ("a,b" or one name per line; commas inside
 * brackets/parentheses/angle brackets do not split; items are trimmed,
 * empty ones dropped) in place: `s` is modified, up to `cap` item pointers
 * are stored; returns the count (which may exceed cap: call again with a
 * bigger array). */
size_t wasync_cli_split_list(char *s, char **items, size_t cap);

/* The lists of one command line: their texts and item arrays, freed
 * together by wasync_cli_lists_free. */
#define WASYNC_CLI_MAX_LISTS 16
typedef struct WasyncCliLists {
  char *texts[WASYNC_CLI_MAX_LISTS];
  char **items[WASYNC_CLI_MAX_LISTS];
  int count;
} WasyncCliLists;

/* Fills *out from "a,b" or "@FILE" (the file's text).  Prints an error and
 * returns false on failure (unreadable file, out of memory, too many
 * lists). */
bool wasync_cli_parse_list(WasyncCliLists *ls, const char *arg,
                           WasyncNameList *out);
void wasync_cli_lists_free(WasyncCliLists *ls);

/* Reads asyncify's options (argv[1..], the CLI's spellings) into *o, their
 * name lists kept in *ls, the input and output file names into *in and
 * *out (NULL: no file names accepted).  Returns -1 when the command should
 * go on, else its exit code (0 after --help, 1, or 2 after a usage error,
 * printed). */
int wasync_cli_asyncify_options(int argc, char **argv, WasyncAsyncifyOptions *o,
                                WasyncCliLists *ls, const char **in,
                                const char **out);

/* An input file, mapped when it can be (no copy, no zeroed buffer: the
 * pages come straight from the page cache), else read into memory. */
typedef struct WasyncCliInput {
  const uint8_t *data;
  size_t size;
  uint8_t *owned; /* read into memory: free() */
  void *map;      /* mapped: munmap(map, size) */
} WasyncCliInput;
bool wasync_cli_open_input(const char *path, WasyncCliInput *in);
void wasync_cli_close_input(WasyncCliInput *in);
/* Writes a whole file ("-" = stdout) atomically: a temporary file in the
 * same directory renamed over the target, so a failure leaves no partial
 * output. */
bool wasync_cli_write_file(const char *path, const uint8_t *data, size_t size);
/* `--threads N` (the option's value in `arg`): N in [1, 64] into *out.
 * Prints a usage error and returns false otherwise. */
bool wasync_cli_parse_threads(const char *cmd, const char *arg, unsigned *out);
/* The default thread count for function bodies: min(2, online CPUs). */
unsigned wasync_cli_default_threads(void);
/* Prints "FILE:0xOFFSET: error: MESSAGE" to stderr. */
void wasync_cli_error(const char *path, const WasyncError *err);
/* Prints "wasync CMD: MESSAGE" to stderr and returns 2 (usage error). */
int wasync_cli_usage_error(const char *cmd, const char *message);

#endif
