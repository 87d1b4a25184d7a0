/*
 * main.c -- the `wasync` executable: the command table (cli/commands.c)
 * run on the process's arguments.  The only file left out when the CLI's
 * commands are linked into a test or another entry point.
 */
#include "cli.h"

int main(int argc, char **argv) {
  return wasync_cli_main(argc, argv);
}
