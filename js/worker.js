// Worker side of worker mode (a Web Worker or a Node worker_thread).
//
// The unmodified module is instantiated here. Its function imports are stubs
// that post {t:'import'} to the calling thread and then block in Atomics.wait
// on the shared channel (channel.js) until the calling thread stores the
// import's result or error. While blocked, the stub also serves memory
// requests (read, write, strlen, size) so the import code on the calling
// thread can read and write guest memory synchronously, before and after its
// awaits.

import * as C from './channel.js';
import { nodeModule } from './platform.js';
import { marshalArgs, marshalResult, release } from './marshal.js';

let post;
let listen;
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined') {
  post = (m) => self.postMessage(m);
  listen = (f) => self.addEventListener('message', (ev) => f(ev.data));
} else {
  const { parentPort } = await nodeModule('node:worker_threads');
  post = (m) => parentPort.postMessage(m);
  listen = (f) => parentPort.on('message', f);
}

const decoder = new TextDecoder();
let ctl;
let data;
let f64;
let i64;
let memory = null;
let exports = null;
let fast = false;
let argF64;
let argI64;

// The fast path to the calling thread (see channel.js): returns false when
// the values do not fit, and the caller falls back to postMessage.
function request(kind, index, values) {
  if (!fast || values.length > C.ARG_SLOTS) return false;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number') {
      argF64[i] = v;
      ctl[C.ARG_TAG0 + i] = C.TAG_NUMBER;
    } else if (typeof v === 'bigint') {
      argI64[i] = v;
      ctl[C.ARG_TAG0 + i] = C.TAG_BIGINT;
    } else if (v === undefined) {
      ctl[C.ARG_TAG0 + i] = C.TAG_UNDEFINED;
    } else if (v === null) {
      ctl[C.ARG_TAG0 + i] = C.TAG_NULL;
    } else {
      return false;
    }
  }
  ctl[C.REQ_ARGC] = values.length;
  ctl[C.REQ_KIND] = kind;
  ctl[C.REQ_INDEX] = index;
  Atomics.add(ctl, C.REQ, 1);
  Atomics.notify(ctl, C.REQ);
  return true;
}

function serveMemory() {
  const op = ctl[C.OP];
  const ptr = ctl[C.PTR] >>> 0;
  const len = ctl[C.LEN] >>> 0;
  const mem = memory ? new Uint8Array(memory.buffer) : null;
  if (!mem) {
    ctl[C.STATUS] = -1;
    return;
  }
  if (op === C.OP_SIZE) {
    f64[0] = mem.length;
    ctl[C.STATUS] = 0;
  } else if (op === C.OP_STRLEN) {
    const end = ptr < mem.length ? mem.indexOf(0, ptr) : -1;
    ctl[C.STATUS] = end < 0 ? -1 : end - ptr;
  } else if (ptr + len > mem.length || len > data.length) {
    ctl[C.STATUS] = -1;
  } else if (op === C.OP_READ) {
    data.set(mem.subarray(ptr, ptr + len));
    ctl[C.STATUS] = len;
  } else if (op === C.OP_WRITE) {
    mem.set(data.subarray(0, len), ptr);
    ctl[C.STATUS] = len;
  } else {
    ctl[C.STATUS] = -1;
  }
}

function stub(index) {
  return (...args) => {
    Atomics.store(ctl, C.STATE, C.IDLE);
    Atomics.add(ctl, C.SEQ, 1);
    if (!request(C.REQ_IMPORT, index, args)) post({ t: 'import', i: index, args });
    for (;;) {
      const s = Atomics.load(ctl, C.STATE);
      if (s === C.RESULT) {
        const tag = ctl[C.TAG];
        const v = tag === C.TAG_NUMBER ? f64[0] : tag === C.TAG_BIGINT ? i64[0] : tag === C.TAG_NULL ? null : undefined;
        Atomics.store(ctl, C.STATE, C.IDLE);
        return v;
      }
      if (s === C.ERROR) {
        const text = decoder.decode(data.slice(0, ctl[C.LEN]));
        Atomics.store(ctl, C.STATE, C.IDLE);
        const nl = text.indexOf('\n');
        const e = new Error(text.slice(nl + 1));
        e.name = text.slice(0, nl);
        throw e;
      }
      if (s === C.CALLREQ) {
        // an export call while this import waits (an import awaiting a call
        // into its own instance): run it here, on top of this one
        const index = ctl[C.REQ_INDEX];
        const args = unpackArgs();
        Atomics.store(ctl, C.STATE, C.IDLE);
        runCall(-1, exportNames[index], args);
        continue;
      }
      if (s === C.MEMREQ) {
        serveMemory();
        Atomics.store(ctl, C.STATE, C.MEMDONE);
        Atomics.notify(ctl, C.STATE);
        continue;
      }
      Atomics.wait(ctl, C.STATE, s);
    }
  };
}

function unpackArgs() {
  const argc = ctl[C.REQ_ARGC];
  const args = new Array(argc);
  for (let i = 0; i < argc; i++) {
    const tag = ctl[C.ARG_TAG0 + i];
    args[i] = tag === C.TAG_NUMBER ? argF64[i] : tag === C.TAG_BIGINT ? argI64[i] : tag === C.TAG_NULL ? null : undefined;
  }
  return args;
}

let exportNames = [];

// Fast-path export calls: wait (asynchronously, so postMessage calls still
// arrive) for CALL to move. A {t:'nudge'} message takes the call too, for
// engines whose waitAsync does not wake this thread (channel.js).
let callsSeen = 0; // CALL's initial value: a call may arrive before we get here

function takeCall() {
  const now = Atomics.load(ctl, C.CALL);
  if (now === callsSeen) return;
  callsSeen = now;
  Atomics.store(ctl, C.CALL_TAKEN, now);
  runCall(-1, exportNames[ctl[C.REQ_INDEX]], unpackArgs());
}

async function serveCalls() {
  for (;;) {
    const w = Atomics.waitAsync(ctl, C.CALL, callsSeen);
    if (w.async) await w.value;
    takeCall();
  }
}

// The C stack pointer, when the module exports it (or stackSave/stackRestore):
// a call that ends by an exception (an import's rejection or an abort thrown
// into the guest) skips the epilogues that pop its C frames, so the pointer
// is put back by hand; else every failed call would leak its frames.
let stackPointer = null;

function findStackPointer() {
  const g = exports.__stack_pointer;
  if (g instanceof WebAssembly.Global) {
    try {
      g.value = g.value; // throws on an immutable global
      return { get: () => g.value, set: (v) => (g.value = v) };
    } catch {
      // fall through
    }
  }
  if (typeof exports.stackSave === 'function' && typeof exports.stackRestore === 'function')
    return { get: () => exports.stackSave(), set: (v) => exports.stackRestore(v) };
  return null;
}

function runCall(id, name, args) {
  let value;
  const sp = stackPointer?.get();
  try {
    value = exports[name](...args);
  } catch (e) {
    stackPointer?.set(sp);
    post(errorMessage(id, e));
    return;
  }
  if (!request(C.REQ_RETURN, 0, [value])) post({ t: 'ret', id, value });
}

// A marshalled call (marshal.js): arguments converted here, where the memory is.
function runMarshalled(id, name, args, spec) {
  const bytes = () => new Uint8Array(memory.buffer);
  let state = null;
  const sp = stackPointer?.get();
  try {
    state = marshalArgs(name, exports, bytes, spec.argTypes, args);
    const raw = exports[name](...state.values);
    post({ t: 'ret', id, value: marshalResult(bytes, spec.returns, raw, state) });
  } catch (e) {
    stackPointer?.set(sp);
    post(errorMessage(id, e));
  } finally {
    if (state) release(state);
  }
}

function init(msg) {
  ctl = new Int32Array(msg.sab, 0, C.DATA_OFFSET / 4);
  f64 = new Float64Array(msg.sab, C.F64_OFFSET, 1);
  i64 = new BigInt64Array(msg.sab, C.I64_OFFSET, 1);
  data = new Uint8Array(msg.sab, C.DATA_OFFSET);
  argF64 = new Float64Array(msg.sab, C.ARG_OFFSET, C.ARG_SLOTS);
  argI64 = new BigInt64Array(msg.sab, C.ARG_OFFSET, C.ARG_SLOTS);
  fast = msg.fast === true;
  const imports = {};
  for (const imp of msg.imports) {
    const ns = (imports[imp.module] ??= {});
    if (imp.kind === 'function') ns[imp.name] = stub(imp.index);
    else if (imp.kind === 'memory') {
      ns[imp.name] = imp.memory ?? new WebAssembly.Memory(imp.descriptor);
      memory = ns[imp.name];
    } else if (imp.kind === 'global') ns[imp.name] = imp.value;
  }
  const instance = new WebAssembly.Instance(msg.module, imports);
  exports = instance.exports;
  for (const v of Object.values(exports)) {
    if (v instanceof WebAssembly.Memory) {
      memory = v;
      break;
    }
  }
  if (exports.memory instanceof WebAssembly.Memory) memory = exports.memory;
  if (typeof exports._initialize === 'function') exports._initialize();
  stackPointer = findStackPointer();
  const list = Object.entries(exports).map(([name, v]) => ({ name, kind: typeof v === 'function' ? 'function' : 'other' }));
  exportNames = list.map((e) => e.name);
  if (fast) serveCalls();
  post({ t: 'ready', exports: list });
}

function errorMessage(id, e) {
  return {
    t: 'err',
    id,
    name: e?.name ?? 'Error',
    message: e?.message ?? String(e),
    stack: e?.stack,
    trap: e instanceof WebAssembly.RuntimeError,
  };
}

listen((msg) => {
  if (msg.t === 'init') {
    try {
      init(msg);
    } catch (e) {
      post(errorMessage(0, e));
    }
  } else if (msg.t === 'nudge') {
    if (fast) takeCall();
  } else if (msg.t === 'call') {
    runCall(msg.id, msg.name, msg.args);
  } else if (msg.t === 'ccall') {
    runMarshalled(msg.id, msg.name, msg.args, msg.marshal);
  }
});
