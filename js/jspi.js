// JSPI mode: the engine suspends the guest's stack itself.
//
// Imports are wrapped in `WebAssembly.Suspending`, exports in
// `WebAssembly.promising`. A sync import result is handed straight back; a
// returned Promise/thenable suspends the guest until it settles.
//
// What JSPI does not do is switch the module's *shadow* stack (see stack.js):
// the `__stack_pointer` global is shared by every suspended call. So the
// runner keeps one rule: at any moment at most one call "holds" the guest --
// from the moment it is started or resumed until it suspends again or
// finishes. Starting and resuming go through one queue (`ready`); the holder
// releases it synchronously when it suspends (inside the import wrapper) and
// asynchronously when its promising promise settles. Before a call takes the
// guest, its own stack pointer is put in place. Between "resume this call"
// and the guest actually running there are microtask hops, and the lock is
// what keeps another call's resumption from slipping in between and running
// with the wrong stack pointer.
//
// Without a way to switch the stack pointer, calls share the one stack: a
// call that arrives while guest code runs waits (queued) until it suspends
// or finishes, then starts on top of the suspended calls, which resume only
// after it has finished (last in, first out: SharedStackOrder in runner.js).

import { isThenable } from './call.js';
import { InThreadRunner } from './runner.js';

export class JspiRunner extends InThreadRunner {
  static mode = 'jspi';

  static available() {
    return typeof WebAssembly.Suspending === 'function' && typeof WebAssembly.promising === 'function';
  }

  static unavailable() {
    return JspiRunner.available() ? null : 'this engine has no JSPI (WebAssembly.Suspending / WebAssembly.promising)';
  }

  constructor(options = {}) {
    super('jspi', options);
    this.ready = []; // [{call, run}]: calls to start or resume, in order (not a call queue)
    this.active = 0;
    this.pumpQueued = false;
  }

  wrapImport(fn, ctxFor) {
    const runner = this;
    return new WebAssembly.Suspending(function wasyncJspiImport(...args) {
      const call = runner.running;
      // an aborted call runs no further imports: they would get an
      // already-aborted signal and might never settle; unwind the guest now
      if (call !== null && call.settled) throw call.abortReason ?? new Error('wasync: the call has already settled');
      const r = fn.apply(ctxFor(call), args);
      if (!isThenable(r) || call === null) return r;
      runner.stack.save(call);
      // ran past its stack: stop it here (the guest unwinds by the throw)
      if (runner.stack.overflowed(call)) throw runner.stack.overflowError(call);
      runner.running = null;
      if (runner.ready.length || runner.queue.length) runner.#pumpSoon();
      return new Promise((resolve, reject) => {
        let done = false;
        const go = (ok, v) => {
          if (done) return;
          done = true;
          call.wake = null;
          const run = () => {
            if (ok) resolve(v);
            else reject(v);
          };
          const proceed = () => {
            if (runner.running === null && runner.ready.length === 0) {
              // the guest is free: take it now, no queue round trip
              runner.running = call;
              runner.stack.enter(call);
              run();
            } else runner.#schedule(call, run);
          };
          // on a shared stack a newer call runs on top of this one: resume after it
          if (runner.order.mayRun(call)) proceed();
          else call.parked = proceed;
        };
        call.wake = (reason) => go(false, reason);
        Promise.resolve(r).then(
          (v) => go(true, v),
          (e) => go(false, e),
        );
      });
    });
  }

  attach() {}

  wrapExport(fn) {
    return WebAssembly.promising(fn);
  }

  /** Runs a raw export with the guest held (used for _initialize). */
  runInit(fn) {
    return WebAssembly.promising(fn)();
  }

  // With a switchable stack every call starts at once (on its own stack);
  // without, a call waits while guest code runs and then starts on top of
  // the suspended ones (SharedStackOrder, runner.js).
  admit(call) {
    if (!this.stack.canSwitch && this.running !== null) {
      this.queue.push(call);
      return;
    }
    this.#begin(call);
  }

  #drain() {
    while (this.queue.length && this.running === null) {
      const next = this.queue.shift();
      if (next) this.#begin(next);
    }
  }

  #begin(call) {
    this.active++;
    this.#schedule(call, () => {
      if (call.settled) {
        this.#finish(call, false, undefined);
        return;
      }
      if (!this.stack.canSwitch) this.order.enter(call);
      let p;
      try {
        p = call.fn(...call.args);
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(
        (v) => this.#finish(call, true, v),
        (e) => this.#finish(call, false, e),
      );
    });
  }

  #finish(call, ok, value) {
    if (this.running === call) this.running = null;
    if (this.stack.overflowed(call)) {
      ok = false;
      value = this.stack.overflowError(call);
    }
    this.stack.release(call, ok);
    call.dead = true;
    call.parked = null;
    this.order.leave(call);
    this.active--;
    if (ok) call.resolve(value);
    else call.reject(value);
    this.#drain();
    this.#pump();
  }

  #schedule(call, run) {
    this.ready.push({ call, run });
    this.#pump();
  }

  #pumpSoon() {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      this.#drain();
      this.#pump();
    });
  }

  #pump() {
    while (this.running === null && this.ready.length) {
      const { call, run } = this.ready.shift();
      this.running = call;
      try {
        if (call.stack === undefined) this.stack.assign(call);
      } catch (e) {
        this.running = null;
        this.active--;
        call.reject(e);
        continue;
      }
      this.stack.enter(call);
      run();
    }
  }

  abortStarted(call, reason) {
    // Suspended: resume it with the reason thrown at the import, so the guest
    // unwinds and the call finishes (its result is ignored, it already settled).
    if (call.wake) call.wake(reason);
  }
}
