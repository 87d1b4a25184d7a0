// wasync-quickjs: QuickJS in WebAssembly with async host functions.
//
//   const vm = await QuickJS.create({ mode, memoryLimit, stackSize, maxStackDepth });
//   vm.expose('fetchText', async (url) => ..., { style: 'blocking' });
//   const value = await vm.evalAsync('fetchText("/x").length');
//
// How it works (the module's side is quickjs/glue.c):
//
// One VM is one instance of the QuickJS module, made with the wasync
// runtime's public `instantiate()` -- the plain module in 'jspi' and
// 'worker' modes, the one made by `wasync asyncify` in 'asyncify' mode. A VM
// therefore has its own linear memory, its own C stack and its own
// suspension: a hundred VMs can each be suspended in a host call at once,
// and `dispose()` drops the whole instance (nothing to free by hand).
//
// Guest entries -- an evaluation, a defined function, the settlement of a
// Promise-style host call -- run one at a time per VM, in order (the `#queue`
// chain below): QuickJS is not re-entrant, and an entry suspended in a
// blocking-style host call keeps the VM until it returns. Each entry runs
// the guest's job queue dry before it returns, so an evaluation's result is
// delivered only when its Promise settled *and* the jobs are drained.
//
// Every byte crosses inside an import call (take_input/take_reply/eval_done),
// because in worker mode the memory is reachable only then.
//
// Deadlines are cooperative and cover suspension: the guest's interrupt
// handler asks `interrupt()` (which compares the clock with the running
// entry's deadline) and a blocking host call races the deadline, so a timed
// out or aborted evaluation rejects at once, the guest code still on the stack
// gets an uncatchable interruption, and the VM stays usable.

import { instantiate } from '../js/index.js';
import { encode, encodePrimitiveInto, decode } from './value.js';

const DEFAULTS = {
  memoryLimit: 64 << 20,
  maxValueSize: 16 << 20,
};
// Default C stack for QuickJS per mode (~240 bytes per JS call level). The
// engine's own stack must outlast it, or deep recursion ends in the engine's
// RangeError (the VM is then disposed) instead of QuickJS's catchable
// "stack overflow". Measured deepest recursion followed by a blocking host
// call, stack not limiting: asyncify 800-1000 (Node 20), 1200-1500 (Node 26);
// jspi 2000-3000 (Node 26); worker > 4000 (Node 20), less in Chromium
// (a dedicated worker has a smaller stack: 256 KiB overflowed there once).
const DEFAULT_STACK = { asyncify: 160 << 10, jspi: 256 << 10, worker: 160 << 10 };
const MAX_STACK = (1 << 20) - (64 << 10); // the module's C stack is 1 MiB
const REPLY_FLAG = 1;

const defaultWasm = {
  plain: new URL('../build/quickjs/pkg/quickjs.wasm', import.meta.url),
  asyncify: new URL('../build/quickjs/pkg/quickjs.asyncify.wasm', import.meta.url),
};
const compiled = new Map(); // url string -> Promise<WebAssembly.Module>

async function loadModule(src) {
  if (src instanceof WebAssembly.Module) return src;
  const key = String(src);
  let p = compiled.get(key);
  if (!p) {
    p = (async () => {
      let bytes;
      const url = src instanceof URL ? src : new URL(key, globalThis.location?.href ?? `file://${process.cwd()}/`);
      if (url.protocol === 'file:') {
        const { readFile } = await import('node:fs/promises');
        try {
          bytes = await readFile(url);
        } catch (e) {
          throw new Error(`wasync: cannot read the QuickJS module ${url.pathname} (${e.code}); build it with \`make quickjs\``);
        }
      } else {
        const r = await fetch(url);
        if (!r.ok) throw new Error(`wasync: fetching ${url} failed: ${r.status}; serve build/quickjs/pkg/ or pass {wasm}`);
        bytes = new Uint8Array(await r.arrayBuffer());
      }
      return WebAssembly.compile(bytes);
    })();
    compiled.set(key, p);
    p.catch(() => compiled.delete(key));
  }
  return p;
}

function jspiAvailable() {
  return typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function';
}

function abortError(message, name = 'AbortError') {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Wall clock in ms (monotonic where available). */
const now = typeof performance === 'object' ? () => performance.now() : () => Date.now();

// One evaluation (or the settlement work done on its behalf).
class Token {
  constructor(deadline) {
    this.deadline = deadline;
    this.cancelled = null; // the rejection reason once timed out/aborted
    this.cancelListeners = new Set();
    this.controller = new AbortController(); // host functions' this.signal
    this.hostThis = null; // `this` of host functions called for it
    this.cancellable = deadline !== undefined; // a deadline or signal may end it while the VM lives
  }
  cancel(reason) {
    if (this.cancelled) return;
    this.cancelled = reason;
    this.controller.abort(reason);
    const fs = [...this.cancelListeners];
    this.cancelListeners.clear();
    for (const f of fs) f(reason);
  }
  check() {
    if (!this.cancelled && this.deadline !== undefined && now() >= this.deadline)
      this.cancel(abortError(`wasync: the QuickJS evaluation timed out after ${this.timeout} ms`, 'TimeoutError'));
    return this.cancelled;
  }
}

export class QuickJS {
  /**
   * Creates a VM. options: {mode: 'auto'|'jspi'|'asyncify'|'worker',
   * memoryLimit (bytes, default 64 MiB; 0 = none), stackSize (bytes of C
   * stack QuickJS may use, default 160 KiB in asyncify mode, else 256 KiB;
   * max 960 KiB), maxStackDepth (JS call levels, the script's own
   * included; a deeper call throws a catchable RangeError; default 0 = only
   * stackSize limits), maxValueSize
   * (bytes, default 16 MiB), wasm: {plain, asyncify} (URLs/paths/Modules)}.
   */
  static async create(options = {}) {
    let mode = options.mode ?? 'auto';
    if (mode === 'auto') mode = jspiAvailable() ? 'jspi' : 'asyncify';
    if (!['jspi', 'asyncify', 'worker'].includes(mode))
      throw new TypeError(`wasync: unknown mode '${mode}' (use 'jspi', 'asyncify', 'worker' or 'auto')`);
    const memoryLimit = options.memoryLimit ?? DEFAULTS.memoryLimit;
    const stackSize = options.stackSize ?? DEFAULT_STACK[mode];
    if (!(Number.isInteger(memoryLimit) && memoryLimit >= 0 && memoryLimit < 2 ** 31))
      throw new RangeError('wasync: memoryLimit must be a whole number of bytes below 2 GiB (0 = no limit)');
    if (!(Number.isInteger(stackSize) && stackSize >= 16384 && stackSize <= MAX_STACK))
      throw new RangeError(`wasync: stackSize must be a whole number of bytes from 16384 to ${MAX_STACK}`);
    const maxStackDepth = options.maxStackDepth ?? 0;
    if (!(Number.isInteger(maxStackDepth) && maxStackDepth >= 0 && maxStackDepth < 2 ** 31))
      throw new RangeError('wasync: maxStackDepth must be a whole number of JS call levels (0 = no limit but stackSize)');
    const wasm = { ...defaultWasm, ...options.wasm };
    const module = await loadModule(mode === 'asyncify' ? wasm.asyncify : wasm.plain);
    const vm = new QuickJS(mode, options.maxValueSize ?? DEFAULTS.maxValueSize);
    await vm.#start(module, mode, { memoryLimit, stackSize, maxStackDepth });
    return vm;
  }

  #inst = null;
  #mode;
  #maxValue;
  #queue = Promise.resolve();
  #queued = 0;
  #current = null; // Token of the entry running now
  #fns = []; // fn id -> {fn, style, name}
  #names = new Set();
  #input = null; // bytes for take_input
  #reply = null; // {bytes, isError} for take_reply
  #evals = new Map(); // req -> {token, resolve, reject, done}
  #nextReq = 1;
  #promiseCalls = 0; // Promise-style host calls not yet handed to the guest
  #settled = []; // settlements of Promise-style calls waiting for the guest
  #waiter = null; // {resolve, ctx, out, cap}: the entry suspended in next_settled
  #resumeQueued = false; // an entry to take #settled is queued
  #dead = null;
  #local; // the guest memory is on this thread (jspi, asyncify): read and written in place

  constructor(mode, maxValue) {
    this.#mode = mode;
    this.#local = mode !== 'worker';
    this.#maxValue = maxValue;
  }

  /** 'jspi' | 'asyncify' | 'worker' */
  get mode() {
    return this.#mode;
  }

  /** True once disposed (or crashed). */
  get disposed() {
    return this.#dead !== null;
  }

  async #start(module, mode, { memoryLimit, stackSize, maxStackDepth }) {
    const vm = this;
    const imports = {
      wasync_qjs: {
        take_input(ptr) {
          this.writeBytes(ptr, vm.#input);
          vm.#input = null;
        },
        take_reply(ptr) {
          const { bytes, isError } = vm.#reply;
          vm.#reply = null;
          this.writeBytes(ptr, bytes);
          return bytes.length * 2 + (isError ? REPLY_FLAG : 0);
        },
        eval_done(req, isError, ptr, len) {
          const e = vm.#evals.get(req);
          if (!e) return;
          let value;
          try {
            value = decode(this.readBytes(ptr, len));
          } catch (err) {
            value = err;
            isError = 1;
          }
          e.done = { value, isError: !!isError };
        },
        interrupt() {
          return vm.#current?.check() ? 1 : 0;
        },
        host_call(fn, argsPtr, argsLen, out, cap) {
          return vm.#hostCall(this, fn, argsPtr, argsLen, out, cap);
        },
        host_call_promise(fn, callId, argsPtr, argsLen) {
          vm.#hostCallPromise(this, fn, callId, argsPtr, argsLen);
        },
        next_settled(out, cap) {
          return vm.#nextSettled(this, out, cap);
        },
      },
      wasi_snapshot_preview1: wasiImports(),
    };
    // Unwinding QuickJS needs ~330 bytes of asyncify data per JS call level
    // where the C stack needs ~240: twice the stack always suffices.
    const dataSize = stackSize * 2 + 16384;
    this.#inst = await instantiate(module, imports, {
      mode,
      asyncify: { dataSize },
      tuneEngine: true,
    });
    const r = await this.#inst.exports.vm_init(memoryLimit, stackSize, mode === 'worker' ? 16 : 1, this.#maxValue, maxStackDepth);
    if (r !== 0) {
      this.#inst.terminate();
      throw new Error(`wasync: QuickJS could not start (memoryLimit ${memoryLimit} bytes is too small?)`);
    }
  }

  // ---- host calls ---------------------------------------------------------

  #hostThis(token) {
    if (!token) return { signal: undefined, vm: this };
    return (token.hostThis ??= { signal: token.controller.signal, vm: this });
  }

  // A host result as bytes; one that cannot cross becomes the error why.
  // (The bytes are encode()'s: valid until the next encode.)
  #encodeReply(value, isError) {
    try {
      return { bytes: encode(value, this.#maxValue), isError };
    } catch (err) {
      return { bytes: encode(err), isError: true };
    }
  }

  // Writes the reply for a host call at out (cap bytes there) and returns
  // the import's r: length * 2 + error flag, or its negation when the reply
  // does not fit and waits for take_reply.
  #replyTo(ctx, value, isError0, out, cap) {
    if (this.#local) {
      // primitives straight into guest memory: no bytes in between
      const mem = ctx.memory;
      const n = encodePrimitiveInto(value, mem.bytes(), mem.view(), out, cap);
      if (n >= 0) return n * 2 + (isError0 ? REPLY_FLAG : 0);
    }
    const { bytes, isError } = this.#encodeReply(value, isError0);
    const flag = isError ? REPLY_FLAG : 0;
    if (bytes.length <= cap) {
      ctx.writeBytes(out, bytes);
      return bytes.length * 2 + flag;
    }
    this.#reply = { bytes: bytes.slice(), isError };
    return -(bytes.length * 2 + flag);
  }

  // The arguments of a host call: decoded in place where the memory is local.
  #readArgs(ctx, ptr, len) {
    if (!this.#local) return decode(ctx.readBytes(ptr, len));
    const mem = ctx.memory;
    const u8 = mem.bytes();
    if (!(ptr >= 0 && len >= 0 && ptr + len <= u8.length)) throw new RangeError(`wasync: host call arguments out of bounds (ptr ${ptr}, len ${len})`);
    return decode(u8, ptr, ptr + len, mem.view());
  }

  #hostCall(ctx, fnId, argsPtr, argsLen, out, cap) {
    const token = this.#current;
    const { fn, style, name } = this.#fns[fnId];
    if (token?.cancelled) return this.#replyTo(ctx, token.cancelled, true, out, cap);
    let r;
    try {
      const args = this.#readArgs(ctx, argsPtr, argsLen);
      r = fn.apply(this.#hostThis(token), args);
    } catch (err) {
      return this.#replyTo(ctx, err, true, out, cap);
    }
    if (r === null || (typeof r !== 'object' && typeof r !== 'function') || typeof r.then !== 'function')
      return this.#replyTo(ctx, r, false, out, cap);
    if (style === 'sync') {
      Promise.resolve(r).catch(() => {});
      return this.#replyTo(ctx, new TypeError(`wasync: host function ${name} returned a Promise; expose it with {style: 'blocking'} or {style: 'promise'}`), true, out, cap);
    }
    // Blocking style: the guest suspends until this settles -- or until
    // the evaluation's deadline/abort, whichever comes first. With neither,
    // only dispose ends the wait early, and it ends the instance too.
    if (!token?.cancellable) {
      return Promise.resolve(r).then(
        (v) => (this.#dead ? 0 : this.#replyTo(ctx, v, false, out, cap)),
        (e) => (this.#dead ? 0 : this.#replyTo(ctx, e, true, out, cap)),
      );
    }
    return new Promise((resolve) => {
      let finished = false;
      const finish = (v, isError) => {
        if (finished) return;
        finished = true;
        resolve(this.#replyTo(ctx, v, isError, out, cap));
      };
      const onCancel = (reason) => finish(reason, true);
      token?.cancelListeners.add(onCancel);
      r.then(
        (v) => {
          token?.cancelListeners.delete(onCancel);
          finish(v, false);
        },
        (e) => {
          token?.cancelListeners.delete(onCancel);
          finish(e, true);
        },
      );
    });
  }

  #hostCallPromise(ctx, fnId, callId, argsPtr, argsLen) {
    const token = this.#current;
    const { fn } = this.#fns[fnId];
    this.#promiseCalls++;
    let p;
    try {
      const args = this.#readArgs(ctx, argsPtr, argsLen);
      p = Promise.resolve(fn.apply(this.#hostThis(token), args));
    } catch (err) {
      p = Promise.reject(err);
    }
    const settle = (value, isError) => {
      if (this.#dead) return;
      const item = { callId, value, isError, token };
      const w = this.#waiter;
      if (w) {
        // The guest waits in next_settled: hand it over, no new entry.
        this.#waiter = null;
        w.resolve(this.#handOver(w.ctx, item, w.out, w.cap));
        return;
      }
      this.#settled.push(item);
      if (this.#resumeQueued) return;
      this.#resumeQueued = true;
      this.#enter(token, async () => {
        this.#resumeQueued = false;
        await this.#inst.exports.vm_resume();
      });
    };
    p.then((v) => settle(v, false), (e) => settle(e, true));
  }

  // next_settled: the guest has run its jobs dry while Promise-style calls
  // are pending. Hand over a queued settlement, or suspend the entry until
  // one comes -- unless the VM is wanted elsewhere: another entry is queued,
  // no evaluation waits for its result, or the waiting ones are cancelled
  // (then 0: the entry returns, and a later settlement gets an entry of its
  // own).
  #nextSettled(ctx, out, cap) {
    this.#deliverDone(); // the guest is idle here: results reported so far go out now
    const item = this.#settled.shift();
    if (item) return this.#handOver(ctx, item, out, cap);
    if (this.#queued > 1 || this.#promiseCalls === 0 || !this.#awaited()) return 0;
    return new Promise((resolve) => {
      this.#waiter = { resolve, ctx, out, cap };
    });
  }

  // Wakes an entry suspended in next_settled with 0: it returns to the host.
  #wake() {
    const w = this.#waiter;
    this.#waiter = null;
    w?.resolve(0);
  }

  // True if an evaluation that has started waits for its result.
  #awaited() {
    for (const e of this.#evals.values()) if (e.started && !e.done && !e.token.cancelled) return true;
    return false;
  }

  // Writes settlement `item` for next_settled: call id at out, reply at
  // out + 8 (or for take_reply); returns next_settled's r.
  #handOver(ctx, item, out, cap) {
    this.#promiseCalls--;
    this.#current = item.token;
    ctx.memory.writeU32(out, item.callId);
    const r = this.#replyTo(ctx, item.value, item.isError, out + 8, cap - 8);
    return r;
  }

  // ---- entries --------------------------------------------------------------

  // Queues `work` (an async function calling one export) to run when the VM
  // is free, with `token` as the running entry.
  #enter(token, work) {
    this.#queued++;
    this.#wake(); // an entry waiting in next_settled gives the VM up
    const run = async () => {
      if (this.#dead) return;
      this.#current = token;
      try {
        await work();
      } catch (err) {
        this.#crash(err);
      } finally {
        this.#current = null;
        this.#queued--;
        this.#deliver();
      }
    };
    const p = this.#queue.then(run);
    this.#queue = p;
    return p;
  }

  // Settles every evaluation whose result arrived; rejects those that can
  // never settle (their Promise waits, but no host call is left to settle it).
  #deliver() {
    this.#deliverDone();
    if (this.#queued === 0 && this.#promiseCalls === 0) {
      for (const [req, e] of this.#evals) {
        if (!e.started) continue;
        this.#evals.delete(req);
        e.finish();
        e.reject(new Error('wasync: the evaluation returned a Promise that can never settle (no host call is pending to settle it)'));
      }
    }
  }

  #deliverDone() {
    for (const [req, e] of this.#evals) {
      if (e.done) {
        this.#evals.delete(req);
        e.finish();
        if (e.done.isError) e.reject(e.done.value);
        else e.resolve(e.done.value);
      }
    }
  }

  #crash(err) {
    if (this.#dead) return;
    const e = new Error(`wasync: the QuickJS VM crashed (${err?.name}: ${err?.message}) and was disposed; create a new VM`);
    e.cause = err;
    this.#kill(e);
  }

  #kill(reason) {
    this.#dead = reason;
    this.#waiter = null;
    this.#settled = [];
    for (const [, e] of this.#evals) {
      e.token.cancel(reason);
      e.finish();
      e.reject(reason);
    }
    this.#evals.clear();
    try {
      this.#inst?.terminate();
    } catch {
      // already gone
    }
  }

  /**
   * Makes `fn` callable from the guest as global `name` (a dotted path such
   * as "db.get" creates the objects on the way). `fn` may also be an object
   * of functions (nested objects too): each becomes `name.key`.
   * options.style: 'sync' (returns a value), 'blocking' (default; may return
   * a Promise -- the guest gets the settled value), 'promise' (the guest gets
   * a Promise). Returns this.
   */
  expose(name, fn, { style = 'blocking' } = {}) {
    if (this.#dead) throw this.#dead;
    if (typeof name !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(name))
      throw new TypeError('wasync: expose(name, fn): name must be a non-empty string (dots separate namespaces)');
    if (!['sync', 'blocking', 'promise'].includes(style))
      throw new TypeError(`wasync: unknown style '${style}' (use 'sync', 'blocking' or 'promise')`);
    if (fn && typeof fn === 'object') {
      for (const [k, v] of Object.entries(fn)) this.expose(`${name}.${k}`, v, { style });
      return this;
    }
    if (typeof fn !== 'function') throw new TypeError(`wasync: expose('${name}', fn): fn must be a function or an object of functions`);
    const id = this.#fns.length;
    this.#fns.push({ fn, style, name });
    this.#names.add(name);
    const bytes = new TextEncoder().encode(name);
    this.#enter(null, async () => {
      this.#input = bytes;
      const r = await this.#inst.exports.vm_define(id, bytes.length, style === 'promise' ? 1 : 0);
      if (r !== 0) console.warn(`wasync: expose('${name}') failed: a part of the path is not an object in the guest`);
    });
    return this;
  }

  /**
   * Evaluates `code`. options: {type: 'script' (default) | 'module',
   * filename, timeout (ms), signal}. Resolves with the completion value
   * (a Promise completion value is awaited; modules give undefined) once
   * the guest's job queue is drained; rejects with the guest's exception.
   */
  evalAsync(code, { type = 'script', filename, timeout, signal } = {}) {
    if (this.#dead) return Promise.reject(this.#dead);
    if (typeof code !== 'string') return Promise.reject(new TypeError('wasync: evalAsync(code): code must be a string'));
    if (type !== 'script' && type !== 'module')
      return Promise.reject(new TypeError(`wasync: unknown type '${type}' (use 'script' or 'module')`));
    if (signal?.aborted) return Promise.reject(signal.reason ?? abortError('wasync: the evaluation was aborted'));
    filename ??= type === 'module' ? '<module>' : '<eval>';
    const token = new Token(timeout !== undefined ? now() + timeout : undefined);
    token.timeout = timeout;
    if (signal) token.cancellable = true;
    const req = this.#nextReq++;
    return new Promise((resolve, reject) => {
      let timer;
      const onAbort = () => {
        token.cancel(signal.reason ?? abortError('wasync: the evaluation was aborted'));
      };
      const entry = {
        token,
        resolve,
        reject,
        done: null,
        started: false,
        finish: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
        },
      };
      token.cancelListeners.add((reason) => {
        if (this.#evals.get(req) !== entry) return;
        this.#evals.delete(req);
        entry.finish();
        reject(reason);
        if (!this.#awaited()) this.#wake();
      });
      this.#evals.set(req, entry);
      if (timeout !== undefined) timer = setTimeout(() => token.check(), Math.max(0, timeout) + 1);
      signal?.addEventListener('abort', onAbort, { once: true });
      const enc = new TextEncoder();
      const codeBytes = enc.encode(code);
      const nameBytes = enc.encode(filename);
      this.#enter(token, async () => {
        if (token.cancelled) return;
        entry.started = true;
        const input = new Uint8Array(codeBytes.length + nameBytes.length);
        input.set(codeBytes);
        input.set(nameBytes, codeBytes.length);
        this.#input = input;
        await this.#inst.exports.vm_eval(req, codeBytes.length, nameBytes.length, type === 'module' ? 1 : 0);
      });
    });
  }

  /** Bytes the guest's heap holds now (what memoryLimit counts). */
  async heapSize() {
    if (this.#dead) throw this.#dead;
    let n;
    await this.#enter(null, async () => {
      n = await this.#inst.exports.vm_heap();
    });
    return n;
  }

  /**
   * Frees the VM: pending evaluations reject with an AbortError, host
   * functions' signals fire, the instance (and its worker) goes away.
   */
  dispose() {
    if (this.#dead) return;
    this.#kill(abortError('wasync: the QuickJS VM was disposed'));
  }
}

// The WASI functions the module imports: a clock, and writes to stdout/
// stderr (QuickJS prints only on internal errors).
function wasiImports() {
  return {
    clock_time_get(id, _precision, out) {
      const ns = id === 0 ? BigInt(Date.now()) * 1000000n : BigInt(Math.round(now() * 1e6));
      this.memory.writeI64(out, ns);
      return 0;
    },
    fd_write(fd, iovs, n, written) {
      let total = 0;
      let text = '';
      for (let i = 0; i < n; i++) {
        const p = this.memory.readU32(iovs + i * 8);
        const len = this.memory.readU32(iovs + i * 8 + 4);
        text += new TextDecoder().decode(this.readBytes(p, len));
        total += len;
      }
      if (fd === 1 || fd === 2) console.error(`quickjs: ${text.trimEnd()}`);
      this.memory.writeU32(written, total);
      return 0;
    },
    fd_close: () => 0,
    fd_fdstat_get: () => 8,
    fd_seek: () => 70,
  };
}

export default QuickJS;
