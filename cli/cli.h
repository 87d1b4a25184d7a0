/*
 * cli.h -- shared pieces of the `wasync` command-line tool.
 *
 * Each subcommand is a function `int wasync_cli_NAME(int argc, char **argv)`
 * (argv[0] is the subcommand's name) listed in the command table of
 * main.c.  Exit codes: 0 success, 1 the input was rejected or an operation
 * failed, 2 a usage error.
 */
#ifndef WASYNC_CLI_H
#define WASYNC_CLI_H

#include "wasync.h"

#include <stdio.h>

int wasync_cli_validate(int argc, char **argv);
int wasync_cli_info(int argc, char **argv);
int wasync_cli_roundtrip(int argc, char **argv);
/* cli/asyncify.c */
int wasync_cli_asyncify(int argc, char **argv);

/* Reads a whole file ("-" = stdin).  Prints an error and returns false on
 * failure.  Free *data with free(). */
bool wasync_cli_read_file(const char *path, uint8_t **data, size_t *size);
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
