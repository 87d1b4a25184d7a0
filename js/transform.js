// transform.js -- `wasync/transform`: wasync's own transforms (asyncify,
// validate, info) in any JavaScript engine, from the same C sources as the
// `wasync` CLI built for WebAssembly (wasync-transform.wasm, a WASI
// reactor whose entry points are in cli/api.c).  Bytes in, bytes out: no
// files, no C toolchain, the same output as the native CLI byte for byte.
//
//   import { asyncify, validate, info } from "wasync/transform";
//   const out = await asyncify(bytes, { imports: ["env.sleep"], asserts: true });
//
// The .wasm (~165 KB, ~60 KB gzipped) is loaded on first use only: in Node
// from the package directory, elsewhere with fetch() relative to this file
// (`new URL("./wasync-transform.wasm", import.meta.url)`, which bundlers
// understand).  There is no `node:` import at the top level, so the module
// loads in browsers and workers too.  loadTransform() returns the loaded
// instance's synchronous methods for callers that transform many modules.
//
// Options of asyncify() are the CLI's (`wasync asyncify --help`), camel-
// cased: imports, ignoreImports, ignoreIndirect, addList, propagateAdd,
// removeList, onlyList, asserts, splitRewind ('auto' | 'never' | N),
// importGlobals, exportGlobals, memory (index or exported name), verbose,
// why (a function name); `log(line)` receives what verbose/why print;
// `name` is the file name used in error messages.  Lists are arrays of
// names (or one comma-separated string), '*' is a wildcard.
//
// Errors are thrown as TransformError: `wasync: in.wasm:0x1d: unexpected
// end`, with .offset (the absolute byte offset in the input), .code
// ('malformed', 'invalid', 'limit', 'nomem', 'unsupported', 'argument')
// and .detail (the spec's wording).

const WASM_URL = new URL("./wasync-transform.wasm", import.meta.url);
const CODES = ["ok", "malformed", "invalid", "limit", "nomem", "unsupported", "argument"];

export class TransformError extends Error {
  constructor(message, { name = "input.wasm", offset, code, detail } = {}) {
    super(message);
    this.name = "TransformError";
    this.file = name;
    this.offset = offset;
    this.code = code;
    this.detail = detail;
  }
}

let loading = null;

// Loads and instantiates the transform once (source: bytes, a
// WebAssembly.Module, a URL or a Response; default: the packaged file).
export function loadTransform(source) {
  if (!loading || source !== undefined) {
    loading = instantiate(source);
    loading.catch(() => (loading = null));
  }
  return loading;
}

async function readPackaged() {
  if (WASM_URL.protocol === "file:" && typeof process === "object" && process.versions?.node) {
    const { readFile } = await import("node:fs/promises");
    const { fileURLToPath } = await import("node:url");
    return readFile(fileURLToPath(WASM_URL));
  }
  const response = await fetch(WASM_URL);
  if (!response.ok) throw new Error(`wasync: cannot load ${WASM_URL} (HTTP ${response.status}); serve wasync-transform.wasm next to transform.js or pass its bytes to loadTransform()`);
  return response.arrayBuffer();
}

async function instantiate(source) {
  let module;
  try {
    if (source instanceof WebAssembly.Module) module = source;
    else if (source === undefined) module = await WebAssembly.compile(await readPackaged());
    else if (source instanceof URL || typeof source === "string") module = await WebAssembly.compile(await (await fetch(source)).arrayBuffer());
    else if (typeof Response !== "undefined" && source instanceof Response) module = await WebAssembly.compile(await source.arrayBuffer());
    else module = await WebAssembly.compile(source);
  } catch (e) {
    if (String(e.message).startsWith("wasync:")) throw e;
    throw new Error(`wasync: cannot load the transform (wasync-transform.wasm): ${e.message}; reinstall the wasync package or build it with 'make wasm'`);
  }
  const io = { out: "", err: "" };
  let memory;
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasiImports(io, () => memory) });
  memory = instance.exports.memory;
  instance.exports._initialize();
  return new Transform(instance.exports, io);
}

// The few WASI calls the reactor makes: its stdout/stderr are captured (a
// usage error in the options, --verbose lines); there are no files.
function wasiImports(io, mem) {
  const EBADF = 8, ENOENT = 44, ESPIPE = 70;
  const decoder = new TextDecoder();
  return {
    fd_write(fd, iovs, n, written) {
      const view = new DataView(mem().buffer);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const p = view.getUint32(iovs + 8 * i, true), len = view.getUint32(iovs + 8 * i + 4, true);
        const text = decoder.decode(new Uint8Array(mem().buffer, p, len));
        if (fd === 1) io.out += text;
        else if (fd === 2) io.err += text;
        else return EBADF;
        total += len;
      }
      view.setUint32(written, total, true);
      return 0;
    },
    fd_read(fd, iovs, n, read) {
      new DataView(mem().buffer).setUint32(read, 0, true);
      return 0;
    },
    fd_close: () => 0,
    fd_seek: () => ESPIPE,
    fd_fdstat_get(fd, out) {
      if (fd > 2) return EBADF;
      new Uint8Array(mem().buffer, out, 24).fill(0);
      new DataView(mem().buffer).setUint8(out, 2); // character device
      return 0;
    },
    fd_fdstat_set_flags: () => 0,
    fd_prestat_get: () => EBADF, // no preopened directories
    fd_prestat_dir_name: () => EBADF,
    path_open: () => ENOENT,
    proc_exit(code) {
      throw new Error(`wasync: the transform exited (${code})`);
    },
  };
}

function toBytes(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer !== "undefined" && bytes instanceof SharedArrayBuffer)) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError("wasync: expected the module's bytes (Uint8Array, ArrayBuffer or a typed array view)");
}

const list = (v) => (Array.isArray(v) ? v.join("\n") : String(v));

// asyncify() options -> the CLI's arguments.
export function asyncifyArgs(options = {}) {
  const args = [];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined || value === false) continue;
    switch (key) {
      case "name": case "log": break;
      case "imports": args.push("--imports", list(value)); break;
      case "addList": args.push("--add-list", list(value)); break;
      case "removeList": args.push("--remove-list", list(value)); break;
      case "onlyList": args.push("--only-list", list(value)); break;
      case "ignoreImports": args.push("--ignore-imports"); break;
      case "ignoreIndirect": args.push("--ignore-indirect"); break;
      case "propagateAdd": args.push("--propagate-add"); break;
      case "asserts": args.push("--asserts"); break;
      case "importGlobals": args.push("--import-globals"); break;
      case "exportGlobals": args.push("--export-globals"); break;
      case "verbose": args.push("--verbose"); break;
      case "splitRewind": args.push(`--split-rewind=${value}`); break;
      case "memory": args.push("--memory", String(value)); break;
      case "why": args.push("--why", String(value)); break;
      case "args": args.push(...value.map(String)); break;
      default:
        throw new TransformError(`wasync: unknown asyncify option '${key}' (see 'wasync asyncify --help'; options are camel-cased: splitRewind, ignoreImports, ...)`, { code: "argument" });
    }
  }
  for (const a of args) if (a.includes("\0")) throw new TransformError("wasync: an asyncify option contains a NUL character", { code: "argument" });
  return args;
}

class Transform {
  constructor(exports, io) {
    this.x = exports;
    this.io = io;
  }

  // Copies `bytes` (and the NUL-separated `args`) in, runs `call`, returns
  // the result's bytes or throws.
  run(bytes, name, call, args = null) {
    const x = this.x;
    const input = toBytes(bytes);
    const enc = args && new TextEncoder().encode(args.map((a) => a + "\0").join(""));
    const inPtr = x.wasync_api_alloc(input.length);
    const argPtr = enc ? x.wasync_api_alloc(enc.length) : 0;
    if (!inPtr || (enc && !argPtr)) throw new TransformError(`wasync: ${name}: out of memory (the module is too large for a 4 GiB wasm memory)`, { name, code: "nomem" });
    this.io.out = this.io.err = "";
    try {
      new Uint8Array(x.memory.buffer).set(input, inPtr);
      if (enc) new Uint8Array(x.memory.buffer).set(enc, argPtr);
      const rc = enc ? call(inPtr, input.length, argPtr, enc.length) : call(inPtr, input.length);
      if (rc === 2) throw new TransformError(`wasync: ${this.io.err.trim().replace(/^wasync /, "").replace(/ \(see 'wasync asyncify --help'\)$/, "") || "bad options"}`, { name, code: "argument" });
      if (rc !== 0) {
        const mem = new Uint8Array(x.memory.buffer);
        const p = x.wasync_api_error_message();
        let end = p;
        while (mem[end]) end++;
        const detail = new TextDecoder().decode(mem.subarray(p, end));
        const offset = x.wasync_api_error_offset();
        const code = CODES[x.wasync_api_error_code()] ?? "error";
        throw new TransformError(`wasync: ${name}:0x${offset.toString(16)}: ${detail}`, { name, offset, code, detail });
      }
      const size = x.wasync_api_result_size();
      const ptr = x.wasync_api_result();
      return new Uint8Array(x.memory.buffer, ptr, size).slice();
    } finally {
      x.wasync_api_release();
      x.wasync_api_free(inPtr);
      if (argPtr) x.wasync_api_free(argPtr);
    }
  }

  asyncify(bytes, options = {}) {
    const name = options.name ?? "input.wasm";
    const args = asyncifyArgs(options);
    const out = this.run(bytes, name, this.x.wasync_api_asyncify, args);
    if (this.io.out) for (const line of this.io.out.replace(/\n$/, "").split("\n")) (options.log ?? console.log)(line);
    return out;
  }

  validate(bytes, { name = "input.wasm" } = {}) {
    try {
      this.run(bytes, name, this.x.wasync_api_validate);
      return { valid: true };
    } catch (e) {
      if (!(e instanceof TransformError) || e.code === "nomem") throw e;
      return { valid: false, error: e.message, offset: e.offset, code: e.code };
    }
  }

  info(bytes, { name = "input.wasm" } = {}) {
    return JSON.parse(new TextDecoder().decode(this.run(bytes, name, this.x.wasync_api_info)));
  }
}

// The module asyncified (Binaryen's ABI; the same bytes as `wasync asyncify`).
export async function asyncify(bytes, options = {}) {
  return (await loadTransform()).asyncify(bytes, options);
}

// { valid: true } or { valid: false, error, offset, code }.
export async function validate(bytes, options = {}) {
  return (await loadTransform()).validate(bytes, options);
}

// Sections, counts, imports, exports and functions (what `wasync info` prints).
export async function info(bytes, options = {}) {
  return (await loadTransform()).info(bytes, options);
}
