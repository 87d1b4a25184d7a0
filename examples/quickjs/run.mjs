// run.mjs -- runs JavaScript inside QuickJS-in-WebAssembly (build/quickjs/qjs.wasm).
//
//   node examples/quickjs/run.mjs [--wasm FILE] SCRIPT.js
//   node examples/quickjs/run.mjs [--wasm FILE] -e 'print(host(21))'
//   node examples/quickjs/run.mjs --async --wasm qjs.async.wasm SCRIPT.js
//
// --async: the module was transformed with
//   wasync asyncify qjs.wasm -o qjs.async.wasm --imports env.host_call
// and host(x) really suspends: the host function returns a Promise that
// settles after a setTimeout, the module unwinds out of eval_js, and is
// rewound into it when the Promise settles (Binaryen's asyncify ABI, driven
// by hand below).
//
// Prints what the script prints, then the completion value ("=> value").
// Exits 1 if the script throws.
//
// As a module: `instantiateQuickJS({ wasm, hostCall, stdout })` returns
// `{ instance, evaluate(src) -> { ok, value } }`; with `async: true` (an
// asyncified module) evaluate returns a Promise and hostCall may too.  `hostCall(value)` receives
// the value the script passed to `host(x)` and returns a JSON-serialisable
// reply (or undefined).  The default host function below is synchronous:
// numbers come back doubled, strings upper-cased, anything else as {echo: x}.
//
// The WASI shim is minimal and written here: stdout/stderr via fd_write, a
// clock, random bytes, empty args/environ, proc_exit.  Anything else answers
// ENOSYS.
import { readFileSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { tuneEngine } from "../../js/engine.js";

const here = path.dirname(fileURLToPath(import.meta.url));
export const defaultWasm = path.resolve(here, "../../build/quickjs/qjs.wasm");

const ESUCCESS = 0, EBADF = 8, ENOSYS = 52, ESPIPE = 70;

export class ProcExit extends Error {
  constructor(code) {
    super(`proc_exit(${code})`);
    this.code = code;
  }
}

// Returns the wasi_snapshot_preview1 import object.  getMemory() yields the
// instance's memory once it exists.
export function makeWasi(getMemory, write = (fd, text) => (fd === 2 ? process.stderr : process.stdout).write(text)) {
  const view = () => new DataView(getMemory().buffer);
  const bytes = () => new Uint8Array(getMemory().buffer);
  const decoder = new TextDecoder();
  const wasi = {
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const dv = view();
      let total = 0, text = "";
      for (let i = 0; i < iovsLen; i++) {
        const ptr = dv.getUint32(iovs + i * 8, true);
        const len = dv.getUint32(iovs + i * 8 + 4, true);
        text += decoder.decode(bytes().subarray(ptr, ptr + len), { stream: true });
        total += len;
      }
      write(fd, text);
      view().setUint32(nwrittenPtr, total, true);
      return ESUCCESS;
    },
    fd_close: () => ESUCCESS,
    fd_seek: () => ESPIPE,
    fd_fdstat_get(fd, statPtr) {
      if (fd > 2) return EBADF;
      const dv = view();
      for (let i = 0; i < 24; i++) dv.setUint8(statPtr + i, 0);
      dv.setUint8(statPtr, 2); // filetype: character device
      return ESUCCESS;
    },
    clock_time_get(id, _precision, outPtr) {
      const ns = id === 0 ? BigInt(Date.now()) * 1000000n : process.hrtime.bigint();
      view().setBigUint64(outPtr, ns, true);
      return ESUCCESS;
    },
    clock_res_get(_id, outPtr) {
      view().setBigUint64(outPtr, 1000n, true);
      return ESUCCESS;
    },
    random_get(ptr, len) {
      randomFillSync(bytes().subarray(ptr, ptr + len));
      return ESUCCESS;
    },
    environ_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    environ_get: () => ESUCCESS,
    args_sizes_get(countPtr, sizePtr) {
      view().setUint32(countPtr, 0, true);
      view().setUint32(sizePtr, 0, true);
      return ESUCCESS;
    },
    args_get: () => ESUCCESS,
    proc_exit(code) {
      throw new ProcExit(code);
    },
  };
  // Anything the module imports that is not above answers ENOSYS.
  return new Proxy(wasi, { get: (t, k) => (k in t ? t[k] : () => ENOSYS) });
}

export function defaultHostCall(x) {
  if (typeof x === "number") return x * 2;
  if (typeof x === "string") return x.toUpperCase();
  return { echo: x };
}

// Writes s as NUL-terminated UTF-8 into a block from qjs_alloc; returns ptr.
export function writeCString(instance, s) {
  const data = new TextEncoder().encode(s);
  const ptr = instance.exports.qjs_alloc(data.length + 1);
  if (!ptr) throw new Error("qjs_alloc failed");
  const mem = new Uint8Array(instance.exports.memory.buffer);
  mem.set(data, ptr);
  mem[ptr + data.length] = 0;
  return ptr;
}

export function readCString(instance, ptr) {
  const mem = new Uint8Array(instance.exports.memory.buffer);
  let end = ptr;
  while (mem[end]) end++;
  return new TextDecoder().decode(mem.subarray(ptr, end));
}

export const delayedHostCall = (ms) => (x) => new Promise((resolve) => setTimeout(() => resolve(defaultHostCall(x)), ms));

const ASYNCIFY_DATA_SIZE = 1 << 20; // room for the unwound frames
const NORMAL = 0, UNWINDING = 1, REWINDING = 2;

export async function instantiateQuickJS({ wasm = defaultWasm, hostCall, write, async = false } = {}) {
  // wasync's engine settings (js/engine.js): on Node 18/20 the interpreter
  // loop of an instrumented QuickJS would otherwise get V8's mid-tier
  // register allocator and overflow the native stack on deep recursion.
  await tuneEngine();
  hostCall ??= async ? delayedHostCall(10) : defaultHostCall;
  const bytes = typeof wasm === "string" ? readFileSync(wasm) : wasm;
  let instance;
  let asyncData = 0; // {i32 pos, i32 end} followed by the frame buffer
  let pending = null; // the Promise an unwound stack waits for
  let settled; // its reply, handed back during the rewind
  const getMemory = () => instance.exports.memory;
  const replyPtr = (reply) => (reply === undefined ? 0 : writeCString(instance, JSON.stringify(reply)));
  const imports = {
    wasi_snapshot_preview1: makeWasi(getMemory, write),
    env: {
      host_call(argPtr, argLen) {
        const ex = instance.exports;
        if (async && ex.asyncify_get_state() === REWINDING) {
          ex.asyncify_stop_rewind(); // the stack is rebuilt: return for real
          return replyPtr(settled);
        }
        const mem = new Uint8Array(ex.memory.buffer);
        const arg = JSON.parse(new TextDecoder().decode(mem.subarray(argPtr, argPtr + argLen)));
        const reply = hostCall(arg);
        if (!async) return replyPtr(reply);
        pending = Promise.resolve(reply);
        ex.asyncify_start_unwind(asyncData);
        return 0; // ignored: the caller is unwinding
      },
    },
  };
  ({ instance } = await WebAssembly.instantiate(bytes, imports));
  const ex = instance.exports;
  if (async && !ex.asyncify_start_unwind)
    throw new Error("--async needs an asyncified module (wasync asyncify qjs.wasm -o OUT --imports env.host_call)");
  ex._initialize();
  if (async) {
    asyncData = ex.qjs_alloc(8 + ASYNCIFY_DATA_SIZE);
    const dv = new DataView(ex.memory.buffer);
    dv.setUint32(asyncData, asyncData + 8, true);
    dv.setUint32(asyncData + 4, asyncData + 8 + ASYNCIFY_DATA_SIZE, true);
  }
  const finish = (ptr, resultPtr) => {
    const out = readCString(instance, resultPtr);
    ex.qjs_free(ptr);
    const ok = out.startsWith("ok:");
    return { ok, value: out.slice(ok ? 3 : 6) };
  };
  const load = (src) => {
    const data = new TextEncoder().encode(src);
    const ptr = ex.qjs_alloc(data.length);
    new Uint8Array(ex.memory.buffer).set(data, ptr);
    return [ptr, data.length];
  };
  return {
    instance,
    evaluate: async
      ? async (src) => {
          const [ptr, len] = load(src);
          let r = ex.eval_js(ptr, len);
          while (ex.asyncify_get_state() === UNWINDING) {
            ex.asyncify_stop_unwind();
            settled = await pending;
            ex.asyncify_start_rewind(asyncData);
            r = ex.eval_js(ptr, len);
          }
          if (ex.asyncify_get_state() !== NORMAL) throw new Error("asyncify: unexpected state after eval_js");
          return finish(ptr, r);
        }
      : (src) => {
          const [ptr, len] = load(src);
          return finish(ptr, ex.eval_js(ptr, len));
        },
  };
}

async function main(argv) {
  let wasm = defaultWasm, src = null, async = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--wasm") wasm = argv[++i];
    else if (argv[i] === "--async") async = true;
    else if (argv[i] === "-e") src = argv[++i];
    else if (src === null) src = readFileSync(argv[i], "utf8");
    else throw new Error(`unexpected argument ${argv[i]}`);
  }
  if (src === null) {
    console.error("usage: node examples/quickjs/run.mjs [--async] [--wasm FILE] (SCRIPT.js | -e CODE)");
    process.exit(2);
  }
  const qjs = await instantiateQuickJS({ wasm, async });
  const r = await qjs.evaluate(src);
  if (!r.ok) {
    console.error(`error: ${r.value}`);
    process.exit(1);
  }
  console.log(`=> ${r.value}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
