// One export call: its promise, its abort signal and timeout, and the
// per-call state the runners keep (stack, asyncify buffer, pending import).
//
// A call settles exactly once. Aborting (signal or timeout) settles it with
// the abort reason right away and then tells the runner, which cleans up in
// its own way (drop it from the queue, throw into the suspended guest code,
// or simply never rewind it) so that the instance stays usable.

let nextId = 1;

export function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

export function abortError(message = 'The operation was aborted') {
  const e = new Error(`wasync: ${message}`);
  e.name = 'AbortError';
  return e;
}

export function timeoutError(ms) {
  const e = new Error(`wasync: call timed out after ${ms} ms`);
  e.name = 'TimeoutError';
  return e;
}

export class Call {
  constructor(name, fn, args, { signal, timeout } = {}) {
    this.id = nextId++;
    this.name = name;
    this.fn = fn;
    this.args = args;
    this.userSignal = signal;
    this.controller = null;
    this.settled = false;
    this.onAbort = null; // set by the runner
    this.promise = new Promise((resolve, reject) => {
      this._resolve = resolve;
      this._reject = reject;
    });
    this._cleanup = [];
    if (signal) {
      if (signal.aborted) {
        queueMicrotask(() => this.abort(signal.reason ?? abortError()));
      } else {
        const h = () => this.abort(signal.reason ?? abortError());
        signal.addEventListener('abort', h, { once: true });
        this._cleanup.push(() => signal.removeEventListener('abort', h));
      }
    }
    if (timeout !== undefined && timeout !== null && timeout !== Infinity) {
      const t = setTimeout(() => this.abort(timeoutError(timeout)), timeout);
      this._cleanup.push(() => clearTimeout(t));
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

  resolve(v) {
    if (this.settled) return;
    this.settled = true;
    for (const f of this._cleanup) f();
    this._resolve(v);
  }

  reject(e) {
    if (this.settled) return;
    this.settled = true;
    for (const f of this._cleanup) f();
    this._reject(e);
  }

  abort(reason) {
    if (this.settled) return;
    this.abortReason = reason;
    this.reject(reason);
    this.controller?.abort(reason);
    if (this.onAbort) this.onAbort(reason);
  }
}
