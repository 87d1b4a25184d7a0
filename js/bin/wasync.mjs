#!/usr/bin/env node
// wasync.mjs -- `npx wasync COMMAND ...`: the wasync CLI without a C
// toolchain.  The CLI built for wasm32-wasi (wasync.wasm, next to this
// package's index.js; the same C sources as the native `wasync`) runs
// under Node's WASI with the real arguments, working directory, standard
// streams and exit code, so its output files are byte for byte those of
// the native CLI.  `cc` and `run` are JavaScript commands
// (js/commands/cc.js, run.js), dispatched here.
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const JS_COMMANDS = new Set(["cc", "run"]);

function fail(message) {
  process.stderr.write(`wasync: ${message}\n`);
  return 1;
}

async function runJsCommand(name, argv) {
  const file = path.join(here, "..", "commands", `${name}.js`);
  if (!existsSync(file))
    return fail(`the '${name}' command is not part of this build (${file} is missing); update the wasync package`);
  const mod = await import(new URL(`../commands/${name}.js`, import.meta.url));
  if (typeof mod.main !== "function") return fail(`${file} exports no main(argv)`);
  return await mod.main(argv);
}

// The CLI may name any file: the whole file system is preopened as "/",
// and the working directory passed as PWD (cli/main.c enters it, so that
// wasi-libc resolves relative paths the way the native CLI does).

async function runWasm(argv) {
  const file = path.join(here, "..", "wasync.wasm");
  let bytes;
  try {
    bytes = await readFile(file);
  } catch {
    return fail(`${file} is missing: this package was packed without its wasm build (run 'make wasm' in the wasync repository, then pack again)`);
  }
  // node:wasi announces itself as experimental on stderr; the CLI's stderr
  // must carry the CLI's output only.
  const emit = process.emitWarning;
  process.emitWarning = (w, ...rest) => {
    if (String(w?.message ?? w).includes("WASI")) return;
    return emit.call(process, w, ...rest);
  };
  const { WASI } = await import("node:wasi");
  const wasi = new WASI({
    version: "preview1",
    args: ["wasync", ...argv],
    env: { PWD: process.cwd() },
    preopens: { "/": "/" },
    returnOnExit: true,
  });
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  return wasi.start(instance);
}

export async function main(argv) {
  if (JS_COMMANDS.has(argv[0])) return runJsCommand(argv[0], argv.slice(1));
  return runWasm(argv);
}

const invoked = process.argv[1] && path.resolve(process.argv[1]);
if (invoked === fileURLToPath(import.meta.url) || (invoked && existsSync(invoked) && (await import("node:fs")).realpathSync(invoked) === fileURLToPath(import.meta.url))) {
  process.exitCode = await main(process.argv.slice(2));
}
