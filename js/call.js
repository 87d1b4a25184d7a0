// One export call: its promise, its abort signal and timeout, and the
// per-call state the runners keep (stack, asyncify buffer, pending import).
// Every field is declared in the constructor, grouped by the file that owns
// it; runners write no other fields.
//
// A call settles exactly once. Aborting (signal or timeout) settles it with
// the abort reason right away and then tells the runner, which cleans up in
// its own way (drop it from the queue, throw into the suspended guest code,
// or simply never rewind it) so that the instance stays usable.

let nextId = 1;

export function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

import { AbortError, TimeoutError } from './errors.js';

export function abortError(message = 'The operation was aborted') {
  return new AbortError(`wasync: ${message}`);
}

export function timeoutError(ms) {
  return new TimeoutError(`wasync: call timed out after ${ms} ms`, ms);
}

export class Call {
  constructor(name, fn, args, signal, timeout, marshal = null) {
    // -- the call itself (set here, read by everyone) --
    this.id = nextId++;
    this.name = name;
    this.fn = fn; // the runner's callable for the export
    this.args = args;
    this.controller = null; // AbortController behind `signal`, made on first use
    this.settled = false;
    this.abortReason = undefined; // set by abort()
    this.ctx = null; // the call's ImportContext (index.js), made on first import
    this.owner = null; // the PendingCalls that holds this one (index.js); left on settling
    this.prevPending = null; // neighbours in the owner's list
    this.nextPending = null;
    // -- what every runner sets (runner.js) --
    this.onAbort = null; // (call, reason) => void: the runner's clean-up for an aborted call (one per runner)
    this.dead = false; // the runner is done with the call (stack and buffers released)
    // -- C shadow stack (stack.js) --
    this.stack = undefined; // 'main', a region address, or undefined (none assigned)
    this.sp = undefined; // the saved stack pointer while the call is not running
    // -- a suspension in progress (asyncify.js, jspi.js, worker-host.js) --
    this.suspended = false; // unwound / waiting for an import's promise
    this.pending = null; // the thenable an import returned (asyncify, until stop_unwind)
    this.pendingImport = null; // 'module.name' of the import the call suspended in
    this.wake = null; // (reason) => void: throw `reason` into the suspended import
    this.parked = null; // () => void: a resumption waiting for newer calls on a shared stack (runner.js)
    // -- asyncify mode (asyncify.js) --
    this.data = undefined; // address of the call's asyncify data buffer
    this.rewinding = false; // start_rewind called, the import not reached yet
    this.resumeWith = null; // {ok, value}: what the import hands the guest on rewind
    this.fault = null; // the error an import wrapper detected (asyncify.js: not instrumented)
    // -- a marshalled call in worker mode: {returns, argTypes} (marshal.js) --
    this.marshal = marshal;
    // -- worker mode (worker-host.js) --
    this.wireId = undefined; // -1 when sent over the fast channel, else the id
    this.importError = undefined; // the first error an import threw into the guest
    // -- settling; the abort signal and timeout, only when given --
    this._resolve = null;
    this._reject = null;
    this.promise = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    // {signal, onSignal, timer}: the caller's AbortSignal and our listener on
    // it, the timeout's timer -- only for a call given a signal or a timeout
    this._hooks = null;
    if (signal) {
      if (signal.aborted) {
        queueMicrotask(() => this.abort(signal.reason ?? abortError()));
      } else {
        const onSignal = () => this.abort(signal.reason ?? abortError());
        this._hooks = { signal, onSignal, timer: null };
        signal.addEventListener('abort', onSignal, { once: true });
      }
    }
    if (timeout !== undefined && timeout !== null && timeout !== Infinity) {
      this._hooks ??= { signal: null, onSignal: null, timer: null };
      this._hooks.timer = setTimeout(() => this.abort(timeoutError(timeout)), timeout);
    }
  }

  /**
   * The AbortSignal import code sees (ctx.signal): fires when the call is
   * aborted by its signal or its timeout. Created on first use.
   */
  get signal() {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  // Stops listening to the caller's signal and timeout; leaves the owner's list.
  #settle() {
    this.settled = true;
    const h = this._hooks;
    if (h !== null) {
      this._hooks = null;
      if (h.signal !== null) h.signal.removeEventListener('abort', h.onSignal);
      if (h.timer !== null) clearTimeout(h.timer);
    }
    if (this.owner !== null) this.owner.delete(this);
  }

  resolve(v) {
    if (this.settled) return;
    this.#settle();
    this._resolve(v);
  }

  reject(e) {
    if (this.settled) return;
    this.#settle();
    this._reject(e);
  }

  abort(reason) {
    if (this.settled) return;
    this.abortReason = reason;
    this.reject(reason);
    this.controller?.abort(reason);
    if (this.onAbort) this.onAbort(this, reason);
  }
}

/**
 * The calls of one instance that have not settled (index.js): a list
 * threaded through the calls themselves, so that a call joins and leaves it
 * without hashing or allocating anything.
 */
export class PendingCalls {
  size = 0;
  #head = null;

  add(call) {
    call.owner = this;
    call.prevPending = null;
    call.nextPending = this.#head;
    if (this.#head !== null) this.#head.prevPending = call;
    this.#head = call;
    this.size++;
  }

  delete(call) {
    if (call.owner !== this) return;
    const { prevPending: prev, nextPending: next } = call;
    if (prev !== null) prev.nextPending = next;
    else this.#head = next;
    if (next !== null) next.prevPending = prev;
    call.owner = call.prevPending = call.nextPending = null;
    this.size--;
  }

  /** The one call in the list, or null when there are none or several. */
  sole() {
    return this.size === 1 ? this.#head : null;
  }

  /** The calls, oldest first (a copy: settling them changes the list). */
  toArray() {
    const out = [];
    for (let c = this.#head; c !== null; c = c.nextPending) out.push(c);
    return out.reverse();
  }
}
