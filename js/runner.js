// The runner contract: what index.js expects of a mode.
//
// index.js owns the public API (instantiate, WasyncInstance, the import
// context); a *runner* owns one way of running a module whose imports are
// async (jspi.js, asyncify.js, worker-host.js). index.js asks the runner
// which mode it is, lets it instantiate the module, and hands it every export
// call. Nothing in index.js branches on the mode.
//
// A runner class provides:
//
//   static mode                   'jspi' | 'asyncify' | 'worker'
//   static unavailable(module)    null when the mode can run `module` here
//                                 (module may be null: "any module"), else
//                                 the reason, one sentence
//   static lacks(need)            (optional) why the mode cannot meet a
//                                 caller's need (options.needs: 'memory'),
//                                 else null
//   new Runner(options)           options: instantiate()'s options
//   runner.memory                 the GuestMemory import code uses; exists
//                                 before instantiate() (the imports factory
//                                 gets a context around it)
//   await runner.instantiate(module, importObject, link)
//                                 -> {fns: {name: callable}, others: {name:
//                                 non-function export}, instance}
//                                 link = {ctxFor(call) -> import context,
//                                 sigs (sig.js, or null), declared
//                                 (WebAssembly.Module.imports(module))}
//   runner.running                the Call whose guest code runs (or whose
//                                 import runs) right now, else null; the
//                                 import context reads it for ctx.signal
//   runner.start(call)            begins `call` (call.js); the runner settles
//                                 it exactly once through call.resolve/reject
//   runner.concurrency            'parallel' (suspended calls overlap, each on
//                                 its own C stack) or 'queued' (one call at a
//                                 time, the others wait in runner.queue)
//   runner.terminate()            stops whatever the runner keeps running
//   await runner.marshalled(name, returns, argTypes, args, run)
//                                 a call described by types (marshal.js):
//                                 converts where the memory lives and calls
//                                 run(rawArgs, spec) -> Promise of the raw
//                                 result (or, in worker mode, of the value
//                                 the worker converted, spec telling it how)
//
// and, for start()'s shared part below, two hooks:
//
//   runner.admit(call)            run `call` now or put it in runner.queue
//   runner.abortStarted(call, reason)
//                                 `call` (no longer queued) was aborted:
//                                 release what it holds; its promise has
//                                 already rejected with `reason`
//
// The running call is always called `running`; queued calls wait in one
// CallQueue; per-call state lives in the fields declared by Call (call.js).
//
// JSPI and Asyncify run the guest on this thread and share InThreadRunner's
// instantiate(): each function import goes through wrapImport(fn, ctxFor,
// info) (info = {name: 'module.field', results: result types or undefined}),
// the instance's exports are handed to attach(), _initialize runs through
// runInit(fn), every function export through wrapExport(fn), and the C
// shadow stack (stack.js) is set up once the module is initialised.

import { LocalMemory } from './memory.js';
import { marshalArgs, marshalResult, release } from './marshal.js';
import { Regions, ShadowStack } from './stack.js';
import { moduleStackSize } from './sig.js';

// An arrow function ignores `this`, so an import written as one needs no
// per-call import context (ImportContext, index.js) -- one object less per
// call that reaches it. Recognised by its source text; anything else (a
// function, a method, an async function, a bound or native function, an
// arrow whose parameters this pattern does not cover) gets the context.
const ARROW = /^(?:async\s*)?(?:\([^()]*\)|[A-Za-z_$][\w$]*)\s*=>/;
const noContext = () => undefined;

/** ctxFor, or a getter that makes no context when `fn` cannot use one. */
export function contextFor(fn, ctxFor) {
  let src = '';
  try {
    src = Function.prototype.toString.call(fn);
  } catch {
    // a proxy or an exotic callable: give it the context
  }
  return ARROW.test(src) ? noContext : ctxFor;
}

/** Calls waiting for their turn, first in first out; aborted calls leave it at once. */
export class CallQueue {
  #calls = [];

  get length() {
    return this.#calls.length;
  }

  push(call) {
    this.#calls.push(call);
  }

  /** Removes `call`; true if it was queued. */
  remove(call) {
    const i = this.#calls.indexOf(call);
    if (i < 0) return false;
    this.#calls.splice(i, 1);
    return true;
  }

  /** The first call that has not settled yet, left in the queue, or null. */
  peek() {
    while (this.#calls.length && this.#calls[0].settled) this.#calls.shift();
    return this.#calls[0] ?? null;
  }

  /** The next call that has not settled yet, or null. */
  shift() {
    while (this.#calls.length) {
      const call = this.#calls.shift();
      if (!call.settled) return call;
    }
    return null;
  }

  /** Takes every queued call out (for terminate). */
  drain() {
    const all = this.#calls;
    this.#calls = [];
    return all;
  }
}

/**
 * The order of the calls that share one C stack (a module whose stack
 * pointer cannot be switched). A call that starts while the others are
 * suspended pushes its frames below theirs, so the calls must finish last in,
 * first out: a suspended call whose import has settled resumes only when it
 * is the newest unfinished call; until then its resumption is parked
 * (call.parked) and run when the calls above it finish. That is what lets an
 * import await a call into its own instance on such a module instead of
 * deadlocking.
 */
export class SharedStackOrder {
  #calls = [];

  enter(call) {
    this.#calls.push(call);
  }

  /** True when `call` may run guest code now (it is the newest, or not in the order). */
  mayRun(call) {
    const i = this.#calls.indexOf(call);
    return i < 0 || i === this.#calls.length - 1;
  }

  /** Takes `call` out; the newest call left resumes if it was parked. */
  leave(call) {
    const i = this.#calls.indexOf(call);
    if (i < 0) return;
    this.#calls.splice(i, 1);
    const top = this.#calls[this.#calls.length - 1];
    if (top?.parked) {
      const resume = top.parked;
      top.parked = null;
      queueMicrotask(resume);
    }
  }
}

export class Runner {
  constructor(mode) {
    this.mode = mode;
    this.running = null;
    this.queue = new CallQueue();
    // the shared abort path, one function for all calls (call.onAbort)
    this.onCallAbort = (call, reason) => {
      if (this.queue.remove(call)) return;
      this.abortStarted(call, reason);
    };
  }

  /** Begins `call`: installs the shared abort path, then admit(). */
  start(call) {
    call.onAbort = this.onCallAbort;
    this.admit(call);
  }

  get concurrency() {
    return 'queued';
  }

  /** Runtime memory in the guest: {regionBytesInUse, regionBytesKept} (0 where the runner keeps none). */
  get stats() {
    return { regionBytesInUse: 0, regionBytesKept: 0 };
  }

  terminate() {}
}

/** The guest's memory among its exports or imports (the first one found). */
export function findMemory(exports, imports) {
  if (exports?.memory instanceof WebAssembly.Memory) return exports.memory;
  for (const v of Object.values(exports ?? {})) if (v instanceof WebAssembly.Memory) return v;
  for (const ns of Object.values(imports ?? {}))
    for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) return v;
  return null;
}

export class InThreadRunner extends Runner {
  constructor(mode, options = {}) {
    super(mode);
    this.options = options;
    this.exports = null;
    this.importObject = null;
    this.stack = null;
    this.regions = null;
    this.memory = new LocalMemory(() => findMemory(this.exports, this.importObject));
    this.order = new SharedStackOrder(); // used when the stack cannot be switched
  }

  async instantiate(module, importObject, { ctxFor, sigs, declared }) {
    this.importObject = importObject;
    const resultsOf = new Map();
    if (sigs?.funcs) for (const f of sigs.funcs) resultsOf.set(`${f.module}\0${f.name}`, f.results);
    const wrapped = {};
    for (const [ns, obj] of Object.entries(importObject)) wrapped[ns] = obj && typeof obj === 'object' ? { ...obj } : obj;
    for (const imp of declared) {
      if (imp.kind !== 'function') continue;
      const fn = importObject[imp.module][imp.name];
      const info = { name: `${imp.module}.${imp.name}`, results: resultsOf.get(`${imp.module}\0${imp.name}`) };
      wrapped[imp.module][imp.name] = this.wrapImport(fn, contextFor(fn, ctxFor), info);
    }
    const instance = await WebAssembly.instantiate(module, wrapped);
    const ex = instance.exports;
    this.exports = ex;
    this.regions = new Regions(ex, () => findMemory(ex, importObject));
    this.attach(ex);
    if (typeof ex._initialize === 'function') await this.runInit(ex._initialize);
    const top = typeof ex.__stack_pointer?.value === 'number' ? ex.__stack_pointer.value : 0;
    const own = moduleStackSize(top, sigs ? sigs.data : null);
    this.stack = new ShadowStack(ex, this.regions, this.options.stackSize ?? (own || 65536), () => this.memory.bytes());
    const fns = {};
    const others = {};
    for (const [name, v] of Object.entries(ex)) {
      if (typeof v === 'function') {
        if (name === '_initialize' || name.startsWith('asyncify_')) continue;
        fns[name] = this.wrapExport(v);
      } else others[name] = v;
    }
    return { fns, others, instance };
  }

  get concurrency() {
    return this.stack?.canSwitch ? 'parallel' : 'queued';
  }

  get stats() {
    const s = this.regions?.stats ?? { inUse: 0, kept: 0 };
    return { regionBytesInUse: s.inUse, regionBytesKept: s.kept };
  }

  async marshalled(name, returns, argTypes, args, run) {
    const bytes = () => this.memory.bytes();
    const state = marshalArgs(name, this.exports, bytes, argTypes, args);
    try {
      const raw = await run(state.values, null);
      return marshalResult(bytes, returns, raw, state);
    } finally {
      release(state);
    }
  }
}
