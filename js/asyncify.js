// Asyncify mode: modules instrumented by `wasync asyncify` (or Binaryen's
// --asyncify) unwind and rewind their own call stack.
//
// The instrumented module exports asyncify_start_unwind(data),
// asyncify_stop_unwind(), asyncify_start_rewind(data), asyncify_stop_rewind()
// and asyncify_get_state() (0 normal, 1 unwinding, 2 rewinding). `data` points
// at a buffer in linear memory whose first two pointers are the current write
// position and the end: [u32 cur][u32 end][saved locals ...].
//
// A call runs like this:
//   1. enter: the call's shadow stack pointer is set, the export is called.
//   2. An import returns a thenable: the wrapper records it, calls
//      start_unwind(call's buffer) and returns a dummy of the right type. The
//      guest saves its locals into the buffer and returns all the way out.
//   3. The runner sees state 1, calls stop_unwind, saves the stack pointer
//      and leaves: the guest is idle, other calls may run.
//   4. The thenable settles: the runner restores the stack pointer, calls
//      start_rewind(buffer) and calls the export again with the same
//      arguments. The guest skips forward to the import call; the wrapper
//      (seeing the call is rewinding) calls stop_rewind and returns the
//      settled value -- or throws the rejection into the guest.
//   5. Back to 2 or done.
//
// Every concurrent call has its own data buffer and its own shadow stack, so
// two calls can be unwound at the same time. Buffers come from the module's
// malloc or appended pages (stack.js), or one fixed buffer given by
// options.asyncify.dataAddress (then calls run one at a time).
//
// If a buffer is too small the instrumented code traps while unwinding; the
// runner reports that as a clear error naming options.asyncify.dataSize,
// resets the asyncify state and keeps the instance usable.

import { isThenable } from './call.js';
import { dummyResult } from './sig.js';
import { InThreadRunner } from './runner.js';
import { AsyncifyImportError, AsyncifyOverflowError } from './errors.js';

const ASYNCIFY_EXPORTS = ['asyncify_start_unwind', 'asyncify_stop_unwind', 'asyncify_start_rewind', 'asyncify_stop_rewind'];

export function isAsyncified(module) {
  const names = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
  return ASYNCIFY_EXPORTS.every((n) => names.has(n));
}

const STATE_UNWINDING = 1;
const STATE_REWINDING = 2;

/**
 * The error for an import that suspended where the module cannot: its
 * caller was not instrumented (a typo or a gap in `wasync asyncify
 * --imports`). `how` says what gave it away.
 */
function notInstrumented(runner, call, how, cause) {
  const imp = call.pendingImport ?? 'an import';
  // a module instantiate() asyncified itself was told its async imports by
  // options.asyncImports; a pre-built one by the transform's command line
  const fix = runner.onTheFly
    ? `add ${imp} to options.asyncImports of instantiate() (left out, every import may suspend, or for a module from \`wasync cc\` its WASYNC_ASYNC_IMPORT marks)`
    : `add ${imp} to --imports of \`wasync asyncify\` (Binaryen: --pass-arg=asyncify-imports@...)`;
  return new AsyncifyImportError(
    `wasync: import ${imp} returned a Promise in ${call.name}(), but the module was not instrumented to suspend ` +
      `at that call (${how}); ${fix}, or make ${imp} return a plain value`,
    { importName: call.pendingImport, cause },
  );
}

/** instantiate() sets this option when it asyncified the module itself (index.js). */
export const ASYNCIFIED_ON_THE_FLY = Symbol('wasync.asyncifiedOnTheFly');

function memory64Error(where) {
  return new Error(
    `wasync: asyncify mode does not support memory64 modules (${where} is 64-bit; the asyncify data buffer ` +
      "holds 32-bit {pos, end}); run this module with mode 'jspi' or 'worker', or build it for wasm32",
  );
}

export class AsyncifyRunner extends InThreadRunner {
  static mode = 'asyncify';

  static unavailable(module) {
    // no module: "can this engine run asyncify modules" -- every engine can
    if (module && !isAsyncified(module))
      return 'the module is not asyncify-instrumented (no asyncify_* exports; run `wasync asyncify IN -o OUT`)';
    return null;
  }

  constructor(options = {}) {
    super('asyncify', options);
    const opts = options.asyncify ?? {};
    this.dataSize = opts.dataSize ?? 16384;
    this.fixedData = opts.dataAddress;
    if (this.fixedData !== undefined && opts.dataSize === undefined)
      throw new Error('wasync: options.asyncify.dataAddress needs options.asyncify.dataSize');
    this.active = 0;
    this.onTheFly = options[ASYNCIFIED_ON_THE_FLY] === true;
  }

  async instantiate(module, importObject, link) {
    // refuse memory64 up front: the buffer header is two u32s (Binaryen's ABI)
    const mem64 = link.sigs?.memory64;
    if (mem64) throw memory64Error(`memory ${mem64}`);
    const out = await super.instantiate(module, importObject, link);
    const mem = this.memory.raw();
    if (mem && isMemory64(mem)) throw memory64Error('its memory');
    return out;
  }

  // One fixed buffer (options.asyncify.dataAddress): calls run strictly one
  // after another. Without a switchable stack calls share it in LIFO order
  // (runner.js, SharedStackOrder); with one, each call has its own.
  get oneAtATime() {
    return this.fixedData !== undefined;
  }

  get concurrency() {
    return this.stack?.canSwitch && !this.oneAtATime ? 'parallel' : 'queued';
  }

  wrapImport(fn, ctxFor, { name, results }) {
    const runner = this;
    const dummy = dummyResult(results);
    return function wasyncAsyncifyImport(...args) {
      const call = runner.running;
      if (call !== null && call.rewinding) {
        // the rewind must come back to the import that unwound
        if (name !== call.pendingImport) {
          call.fault = notInstrumented(runner, call, `the rewind reached import ${name} instead`);
          throw call.fault;
        }
        runner.exports.asyncify_stop_rewind();
        call.rewinding = false;
        const r = call.resumeWith;
        call.resumeWith = null;
        if (!r.ok) throw r.value;
        return r.value;
      }
      if (call !== null && call.pending !== null) {
        // An unwind is under way, yet guest code runs on and calls an import:
        // the code between the suspending import and the export was not
        // instrumented, so it can never be rewound. Stop now (see #run).
        call.fault = notInstrumented(runner, call, `the guest ran on and called ${name} after the unwind began`);
        throw call.fault;
      }
      // an aborted call runs no further imports (see jspi.js)
      if (call !== null && call.settled) throw call.abortReason ?? new Error('wasync: the call has already settled');
      const r = fn.apply(ctxFor(call), args);
      if (!isThenable(r)) return r;
      if (call === null)
        throw new Error('wasync: an import returned a Promise outside an export call; only export calls can suspend');
      call.pending = r;
      call.pendingImport = name;
      runner.#writeHeader(call);
      runner.exports.asyncify_start_unwind(call.data);
      return dummy;
    };
  }

  attach() {}

  wrapExport(fn) {
    return fn;
  }

  runInit(fn) {
    fn();
  }

  admit(call) {
    if (this.oneAtATime && this.running !== null) {
      // called from an import of the running call: it would wait for that
      // call, which may be waiting for it -- say so instead of deadlocking
      call.reject(
        new Error(
          `wasync: ${call.name}() was called from an import of ${this.running.name}() on the same instance, but ` +
            'options.asyncify.dataAddress gives the instance one asyncify buffer, so calls cannot overlap; ' +
            'leave out dataAddress (each call then gets its own buffer)',
        ),
      );
      return;
    }
    if (this.running !== null || (this.oneAtATime && this.active > 0)) {
      this.queue.push(call);
      return;
    }
    this.#begin(call);
  }

  #begin(call) {
    this.active++;
    try {
      this.stack.assign(call);
      call.data = this.fixedData ?? this.regions.alloc(this.dataSize);
    } catch (e) {
      this.#finish(call, false, e);
      return;
    }
    call.rewinding = false;
    call.pending = null;
    if (!this.stack.canSwitch) this.order.enter(call);
    this.#run(call);
  }

  #run(call) {
    const ex = this.exports;
    this.running = call;
    this.stack.enter(call);
    let value;
    let error;
    let threw = false;
    try {
      value = call.fn(...call.args);
    } catch (e) {
      threw = true;
      error = e;
    }
    const state = ex.asyncify_get_state();
    if (state === STATE_UNWINDING) {
      const overflow = this.#stopUnwind(call);
      const saved = this.#saved;
      const p = call.pending;
      call.pending = null;
      let failure = null;
      if (overflow) failure = this.#overflow(call, threw ? error : null, overflow);
      else if (call.fault) failure = call.fault;
      else if (threw)
        // --asserts traps when a call assumed not to unwind does
        failure = error instanceof WebAssembly.RuntimeError ? notInstrumented(this, call, 'a call assumed not to unwind did (--asserts trapped)', error) : error;
      else if (saved === 0) failure = notInstrumented(this, call, 'the unwind saved no frame');
      if (failure) {
        this.#finish(call, false, failure);
        return;
      }
      this.stack.save(call);
      if (this.stack.overflowed(call)) {
        this.#finish(call, false, null);
        return;
      }
      this.running = null;
      call.suspended = true;
      Promise.resolve(p).then(
        (v) => this.#resume(call, true, v),
        (e) => this.#resume(call, false, e),
      );
      this.#next();
      return;
    }
    if (state === STATE_REWINDING) {
      // The guest never reached the import it unwound from: it trapped on the
      // way, or it returned -- the frames it rewound were not the ones saved.
      ex.asyncify_stop_rewind();
      call.rewinding = false;
      if (!threw) {
        this.#finish(call, false, notInstrumented(this, call, 'the rewind ended without reaching it'));
        return;
      }
    }
    this.#finish(call, !threw, threw ? (call.fault ?? error) : value);
  }

  // Ends an unwind. Returns null, or {needed} when the buffer overflowed:
  // the position ran past the end (Binaryen keeps counting and traps in
  // stop_unwind; `wasync asyncify` keeps counting without writing), so
  // pos - data is the size that would have been enough. Leaves the bytes of
  // frames saved in #saved (no object per suspension).
  #saved = 0;

  // A DataView of the memory, kept from one suspension to the next: when the
  // memory has grown since, an access through it throws (the old buffer is
  // detached, or for a shared memory too short) and a fresh one is taken.
  #dv = null;

  // The buffer's header for an unwind: [cur = data + 8][end = data + dataSize].
  #writeHeader(call) {
    try {
      this.#dv.setUint32(call.data, call.data + 8, true);
    } catch {
      this.#dv = this.memory.view();
      this.#dv.setUint32(call.data, call.data + 8, true);
    }
    this.#dv.setUint32(call.data + 4, call.data + this.dataSize, true);
  }

  #stopUnwind(call) {
    const ex = this.exports;
    let pos;
    try {
      pos = this.#dv.getUint32(call.data, true);
    } catch {
      // code that ran on during the unwind (not instrumented) grew the memory
      this.#dv = this.memory.view();
      pos = this.#dv.getUint32(call.data, true);
    }
    const mem = this.#dv;
    const end = mem.getUint32(call.data + 4, true);
    this.#saved = pos - (call.data + 8);
    if (pos <= end) {
      try {
        ex.asyncify_stop_unwind();
        return null;
      } catch {
        // fall through: treat as overflow
      }
    }
    // Let stop_unwind's bounds check pass so the state returns to normal.
    mem.setUint32(call.data + 4, 0xffffffff, true);
    try {
      if (ex.asyncify_get_state() === STATE_UNWINDING) ex.asyncify_stop_unwind();
    } catch {
      // the state could not be reset; nothing more to do
    }
    return { needed: pos > end ? pos - call.data : undefined };
  }

  #overflow(call, error, overflow) {
    const size = this.dataSize;
    const needed = overflow?.needed;
    const what = needed
      ? `needs ${needed} bytes but options.asyncify.dataSize is ${size}; raise options.asyncify.dataSize to at least ${needed}`
      : `needs more than the ${size} bytes of options.asyncify.dataSize; raise options.asyncify.dataSize (e.g. to ${size * 4})`;
    return new AsyncifyOverflowError(
      `wasync: asyncify data buffer overflow in ${call.name}(): unwinding the suspended call stack ${what}`,
      { dataSize: size, needed, cause: error ?? undefined },
    );
  }

  #resume(call, ok, value) {
    if (call.dead) return;
    if (!this.order.mayRun(call)) {
      // a newer call runs on top of this one's stack: resume after it
      call.parked = () => this.#resume(call, ok, value);
      return;
    }
    call.suspended = false;
    if (this.running !== null) {
      // Cannot happen with synchronous guest code, but never interleave.
      queueMicrotask(() => this.#resume(call, ok, value));
      call.suspended = true;
      return;
    }
    call.resumeWith = { ok, value };
    call.rewinding = true;
    this.running = call;
    // #run puts the call's stack pointer in place (start_rewind leaves it alone)
    this.exports.asyncify_start_rewind(call.data);
    this.#run(call);
  }

  #finish(call, ok, value) {
    if (this.running === call) this.running = null;
    if (this.stack.overflowed(call)) {
      ok = false;
      value = this.stack.overflowError(call);
    }
    this.stack.release(call, ok);
    if (call.data !== undefined && call.data !== this.fixedData) this.regions.release(call.data, this.dataSize);
    call.data = undefined;
    call.dead = true;
    call.parked = null;
    this.order.leave(call);
    this.active--;
    if (ok) call.resolve(value);
    else call.reject(value);
    this.#next();
  }

  #next() {
    while (this.running === null && this.queue.length && !(this.oneAtATime && this.active > 0)) {
      const next = this.queue.shift();
      if (next) this.#begin(next);
    }
  }

  abortStarted(call) {
    // Unwound and waiting for its import: just never rewind it.
    if (call.suspended && !call.dead) this.#finish(call, false, undefined);
  }
}

/** True for a memory with 64-bit addresses (memory64): its grow() answers a BigInt. */
function isMemory64(mem) {
  const t = typeof mem.type === 'function' ? mem.type() : null;
  if (t && (t.index === 'i64' || t.address === 'i64')) return true;
  try {
    return typeof mem.grow(0) === 'bigint';
  } catch {
    // an i64 memory refuses a Number delta
    try {
      return typeof mem.grow(0n) === 'bigint';
    } catch {
      return false;
    }
  }
}
