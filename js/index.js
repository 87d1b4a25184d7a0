// wasync runtime: one instantiate() for modules whose imports are async.
//
// The idea. A WebAssembly module calls its imports synchronously; JavaScript
// APIs answer asynchronously. Three mechanisms bridge that, each with its own
// requirement, and this package puts one API over all of them:
//
//   'jspi'     the engine's JS Promise Integration (WebAssembly.Suspending /
//              WebAssembly.promising) suspends the guest's stack.   -> jspi.js
//   'asyncify' the module was instrumented (`wasync asyncify`, or Binaryen's
//              --asyncify) to unwind and rewind its own stack.     -> asyncify.js
//   'worker'   the unmodified module runs in a worker that blocks in
//              Atomics.wait while the import runs on this thread.  -> worker-host.js
//   'auto'     the first of those that works here: JSPI if the engine has it,
//              else Asyncify if the module is instrumented, else the worker if
//              SharedArrayBuffer is available, else an error saying what is
//              missing.
//
// Each mode is a runner (the contract is written in runner.js); index.js
// picks one, lets it instantiate the module and hands it every call.
//
// The contract for users, identical in every mode:
//   - exports come back as functions returning Promises;
//   - an import may return a value (used directly, no suspension) or a
//     Promise/thenable (the guest suspends until it settles; a rejection is
//     thrown into the guest and surfaces as the export call's rejection);
//   - import functions get a context object, as `this` and through the
//     factory form `instantiate(src, (ctx) => imports)`, whose memory API
//     (readString, writeString, readBytes, writeBytes, ...) works the same in
//     all modes (memory.js; in worker mode it is proxied to the worker);
//   - several calls may be suspended at once; each has its own C shadow stack
//     (and Asyncify buffer) when the module allows switching it (stack.js),
//     otherwise they share one in last-in-first-out order (runner.js); an
//     import may await a call into its own instance;
//   - arguments and results can be described by type (ccall, cwrap,
//     exports.f.with: marshal.js) and are then converted where the memory
//     lives;
//   - every call takes an AbortSignal and a timeout (call.js); an aborted or
//     failed call leaves the instance usable.

import { Call, PendingCalls, abortError } from './call.js';
import { GuestMemory } from './memory.js';
import { JspiRunner } from './jspi.js';
import { AsyncifyRunner, isAsyncified, ASYNCIFIED_ON_THE_FLY } from './asyncify.js';
import { WorkerRunner } from './worker-host.js';
import { readImportSignatures } from './sig.js';
import { checkSignature } from './marshal.js';
import { tuneEngine } from './engine.js';
import { isNode, nodeModule } from './platform.js';

export { GuestMemory, isAsyncified, tuneEngine };
export {
  WasyncError,
  AbortError,
  TimeoutError,
  AsyncifyOverflowError,
  AsyncifyImportError,
  StackOverflowError,
} from './errors.js';

// The runners, in auto's order; each follows the contract in runner.js.
const RUNNERS = [JspiRunner, AsyncifyRunner, WorkerRunner];
const MODES = RUNNERS.map((R) => R.mode);
const SOLE_CALL = Symbol('wasync.soleCall');
const MARSHAL = Symbol('wasync.marshal');

async function loadBytes(source) {
  if (source instanceof URL || typeof source === 'string') {
    let url;
    if (source instanceof URL) url = source;
    else if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^[a-z]:[\\/]/i.test(source)) url = new URL(source);
    else if (isNode()) {
      const { pathToFileURL } = await nodeModule('node:url');
      url = pathToFileURL(source);
    } else url = new URL(source, globalThis.location?.href);
    if (url.protocol === 'file:' && isNode()) {
      const { readFile } = await nodeModule('node:fs/promises');
      return new Uint8Array(await readFile(url));
    }
    source = await fetch(url);
  }
  // bytes first: reading the global Response in Node 20 loads its whole
  // fetch implementation (~400 ms on a first instantiate of bytes)
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(`wasync: fetching ${source.url} failed: ${source.status} ${source.statusText}`);
    return new Uint8Array(await source.arrayBuffer());
  }
  throw new TypeError('wasync: source must be bytes, a Response, a URL or a WebAssembly.Module');
}

async function compile(source) {
  if (source && typeof source.then === 'function') source = await source;
  if (source instanceof WebAssembly.Module) return { module: source, bytes: null };
  const bytes = await loadBytes(source);
  return { module: await WebAssembly.compile(bytes), bytes };
}

/** Which modes can run `module` here, and why not for the others. */
export function supportedModes(module) {
  const why = {};
  for (const R of RUNNERS) {
    const reason = R.unavailable(module);
    if (reason) why[R.mode] = reason;
  }
  return { modes: MODES.filter((m) => !why[m]), why };
}

// What a caller may require of the mode (options.needs).
const NEEDS = ['memory'];

function checkNeeds(needs) {
  for (const need of needs ?? [])
    if (!NEEDS.includes(need)) throw new TypeError(`wasync: unknown need '${need}' in options.needs (known: ${NEEDS.join(', ')})`);
}

function chooseMode(requested, module, options, hint = {}) {
  const { why } = supportedModes(module);
  for (const [m, more] of Object.entries(hint)) if (why[m]) why[m] += more;
  for (const need of options.needs ?? []) {
    for (const R of RUNNERS) {
      const lack = R.lacks?.(need);
      if (lack && !why[R.mode]) why[R.mode] = `${lack} (options.needs has '${need}')`;
    }
  }
  if (requested === 'auto') {
    const order = options.modes ?? MODES;
    for (const m of order) if (!why[m]) return m;
    const lines = order.map((m) => `  ${m}: ${why[m]}`).join('\n');
    throw new Error(`wasync: no way to run async imports here:\n${lines}`);
  }
  if (!MODES.includes(requested)) throw new TypeError(`wasync: unknown mode '${requested}' (use jspi, asyncify, worker or auto)`);
  if (why[requested]) throw new Error(`wasync: mode '${requested}' is unavailable: ${why[requested]}`);
  return requested;
}

/**
 * The context import functions receive (as `this`, and as the argument of
 * an imports factory). Memory methods delegate to the guest memory; `signal`
 * is the AbortSignal of the export call the import runs for.
 */
class ImportContext {
  constructor(memory, call = null, base = null) {
    this.memory = memory;
    this.call = call;
    this.base = base;
    this.instance = base?.instance;
  }
  /** AbortSignal of the export call (fires on its abort or timeout); undefined outside calls. */
  get signal() {
    return (this.call ?? this.current?.())?.signal;
  }
  /** Name of the export call this import runs for. */
  get callName() {
    return (this.call ?? this.current?.())?.name;
  }
  readBytes(ptr, len) {
    return this.memory.readBytes(ptr, len);
  }
  writeBytes(ptr, bytes) {
    return this.memory.writeBytes(ptr, bytes);
  }
  readString(ptr, len) {
    return this.memory.readString(ptr, len);
  }
  writeString(ptr, str, maxBytes, opts) {
    return this.memory.writeString(ptr, str, maxBytes, opts);
  }
  view() {
    return this.memory.view();
  }
}

// ctx.readI32(ptr), ctx.writeF64(ptr, v), ...: the memory's typed accessors
// (memory.js) on the context too, as for the byte and string ones above.
for (const t of ['U8', 'I32', 'U32', 'I64', 'F32', 'F64']) {
  for (const op of ['read', 'write']) {
    const name = `${op}${t}`;
    Object.defineProperty(ImportContext.prototype, name, {
      value(...args) {
        return this.memory[name](...args);
      },
      writable: true,
      configurable: true,
    });
  }
}

function makeCtxFor(base) {
  return (call) => {
    if (!call) return base;
    return (call.ctx ??= new ImportContext(base.memory, call, base));
  };
}

/**
 * An instantiated module. `exports` holds async functions for the module's
 * function exports (and, in JSPI/Asyncify modes, its other exports as-is).
 */
export class WasyncInstance {
  constructor(mode, runner, exportFns, others, memory, options) {
    this.mode = mode;
    this.memory = memory;
    this.#runner = runner;
    this.#fns = exportFns;
    this.#timeout = options.timeout;
    const exp = {};
    for (const name of Object.keys(exportFns)) {
      const f = (...args) => this.#start(name, args, undefined, this.#timeout, null);
      // exports.f.with({args: ['string'], returns: 'string'}) -> marshalled f (marshal.js)
      f.with = ({ args = [], returns = 'void' } = {}) => this.cwrap(name, returns, args);
      exp[name] = f;
    }
    Object.assign(exp, others);
    this.exports = Object.freeze(exp);
  }

  /**
   * 'parallel' when suspended calls overlap (each gets its own C stack: the
   * module exports __stack_pointer or stackSave/stackRestore, and memory for
   * the stacks can be found), 'queued' when calls run one at a time (worker
   * mode always: the worker has one thread and one stack).
   */
  get concurrency() {
    return this.#runner.concurrency;
  }

  /**
   * {pending, regionBytesInUse, regionBytesKept}: calls not settled yet, and
   * the guest memory the runtime holds for C stacks and asyncify buffers --
   * in use by calls now, and kept on free lists for the next calls (after
   * every call settled, regionBytesInUse is 0).
   */
  stats() {
    return { pending: this.#pending.size, ...this.#runner.stats };
  }

  /** The one call in progress, or null when there are none or several. */
  [SOLE_CALL]() {
    return this.#pending.sole();
  }

  #runner;
  #fns;
  #timeout;
  #pending = new PendingCalls();
  #dead = null;

  /**
   * Calls export `name` with `args`. options: {signal, timeout}. Returns a
   * Promise of the result.
   */
  call(name, args = [], { signal, timeout = this.#timeout, [MARSHAL]: marshal = null } = {}) {
    return this.#start(name, args, signal, timeout, marshal);
  }

  // The one path of every export call (exports.f(), call(), ccall()): no
  // options object, no closure; the call leaves #pending when it settles.
  #start(name, args, signal, timeout, marshal) {
    const fn = this.#fns[name];
    if (fn === undefined) return Promise.reject(new TypeError(`wasync: no exported function '${name}'`));
    if (signal?.aborted) return Promise.reject(signal.reason ?? abortError());
    if (this.#dead) return Promise.reject(this.#dead);
    const call = new Call(name, fn, args, signal, timeout, marshal);
    this.#pending.add(call);
    this.#runner.start(call);
    return call.promise;
  }

  /**
   * Calls export `name` with arguments converted by type (marshal.js), where
   * the guest memory lives (in the worker in worker mode):
   * ccall('greet', 'string', ['string'], ['Bob']). options: {signal, timeout}.
   */
  ccall(name, returns, argTypes, args = [], options = {}) {
    try {
      checkSignature(name, returns, argTypes);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.#fns[name] === undefined) return Promise.reject(new TypeError(`wasync: no exported function '${name}'`));
    const run = (values, marshal) => this.call(name, values, { ...options, [MARSHAL]: marshal });
    return this.#runner.marshalled(name, returns ?? 'void', argTypes, args, run);
  }

  /** A function calling ccall(name, returns, argTypes, args). */
  cwrap(name, returns, argTypes) {
    checkSignature(name, returns, argTypes);
    return (...args) => this.ccall(name, returns, argTypes, args);
  }

  /**
   * Ends the instance: every pending call is aborted (its promise rejects,
   * its imports' `signal` fires, a suspended guest is unwound or dropped),
   * later calls reject, and in worker mode the worker is stopped.
   */
  terminate() {
    if (!this.#dead) {
      this.#dead = abortError('the instance was terminated');
      for (const call of this.#pending.toArray()) call.abort(this.#dead);
    }
    this.#runner.terminate?.();
  }
}

// ---- on-the-fly asyncify (auto-asyncify.js) --------------------------------
// Mode 'auto' on an engine without JSPI with a module that is not
// instrumented: asyncify it now (cached; see auto-asyncify.js), then run it
// in asyncify mode.  options.autoAsyncify: false (or an explicit `modes`
// order) keeps the old choice (worker next), an object {cache, cacheDir,
// onProgress, worker} configures it; options.asyncImports
// names the imports that may suspend (default: a guest-kit module's marks,
// else all; auto-asyncify.js).  Needs the module's
// bytes (not a precompiled WebAssembly.Module).
async function onTheFlyAsyncify(compiled, options) {
  const { module, bytes } = compiled;
  if (options.mode === 'asyncify' && !isAsyncified(module))
    return { ...compiled, hint: { asyncify: "; or leave options.mode at 'auto', which asyncifies a plain module at load time where JSPI is missing" } };
  if ((options.mode ?? 'auto') !== 'auto' || options.autoAsyncify === false) return compiled;
  if (options.modes && !options.autoAsyncify) return compiled; // an explicit order wins
  if (JspiRunner.available() || isAsyncified(module)) return compiled;
  // asyncify mode keeps its unwind data in the module's memory: a module
  // without one (imported or exported) keeps the old choice (worker next)
  const hasMemory = (list) => list.some((d) => d.kind === 'memory');
  if (!hasMemory(WebAssembly.Module.exports(module)) && !hasMemory(WebAssembly.Module.imports(module))) return compiled;
  // a compiled module cannot be transformed: say so if no mode is left
  if (!bytes)
    return { ...compiled, hint: { asyncify: "; or pass the module's bytes (not a WebAssembly.Module) to have instantiate() asyncify it on the fly" } };
  // a specifier in a variable: bundlers leave auto-asyncify.js (and the Node
  // built-ins it imports) out of browser bundles; it is loaded next to this
  // file (or the bundle) when used
  const AUTO_ASYNCIFY = './auto-asyncify.js';
  const { asyncifyOnTheFly } = await import(/* webpackIgnore: true */ /* @vite-ignore */ AUTO_ASYNCIFY);
  const out = await asyncifyOnTheFly(bytes, { ...(options.autoAsyncify ?? {}), asyncImports: options.asyncImports });
  return { module: await WebAssembly.compile(out), bytes: out, onTheFly: true };
}

/**
 * instantiate(source, imports, options) -> Promise<WasyncInstance>
 *
 * source:  bytes (ArrayBuffer/TypedArray), Response, URL/string, WebAssembly.Module,
 *          or a Promise of one of those.
 * imports: an import object, or a function (ctx) => import object.
 * options: {mode: 'auto'|'jspi'|'asyncify'|'worker', modes (auto's order),
 *           timeout (ms, default for every call), stackSize (per-call C stack,
 *           default 65536), asyncify: {dataSize, dataAddress},
 *           worker: {dataSize, url, fast}, tuneEngine (default true:
 *           engine.js's settings for Node 18/20), autoAsyncify, asyncImports
 *           (on-the-fly asyncify, see above))
 */
export async function instantiate(source, imports = {}, options = {}) {
  checkNeeds(options.needs);
  if (options.tuneEngine !== false) await tuneEngine();
  const { module, bytes, onTheFly, hint } = await onTheFlyAsyncify(await compile(source), options);
  const mode = chooseMode(options.mode ?? 'auto', module, options, hint);
  const Runner = RUNNERS.find((R) => R.mode === mode);
  // (an on-the-fly module's import errors point to options.asyncImports)
  const runner = new Runner(onTheFly ? { ...options, [ASYNCIFIED_ON_THE_FLY]: true } : options);
  const base = new ImportContext(runner.memory);
  // the shared context (factory form) reports the call running right now;
  // after an import's await no guest code runs, so it reports the one call
  // in progress when there is exactly one (overlapping calls: use `this`)
  base.current = () => runner.running ?? base.instance?.[SOLE_CALL]() ?? null;
  const ctxFor = makeCtxFor(base);
  let importObject = (typeof imports === 'function' ? imports(base) : imports) ?? {};

  const declared = WebAssembly.Module.imports(module);
  // WASYNC_ASYNC_JS (include/wasync/guest.h): the JS bodies the C file carries
  // in its "wasync.js" section become the wasync_js imports, unless given
  if (!importObject.wasync_js && declared.some((i) => i.module === 'wasync_js')) {
    const { guestJsImports } = await import('./wasi/guest-js.js');
    importObject = { ...importObject, ...guestJsImports(module) };
  }
  for (const imp of declared) {
    if (imp.kind === 'function' && typeof importObject[imp.module]?.[imp.name] !== 'function')
      throw new TypeError(`wasync: import ${imp.module}.${imp.name} must be a function`);
  }
  const sigs = bytes ? readImportSignatures(bytes) : null;
  const { fns, others, instance } = await runner.instantiate(module, importObject, { ctxFor, sigs, declared });
  const inst = new WasyncInstance(mode, runner, fns, others, runner.memory, options);
  if (instance) inst.instance = instance;
  base.instance = inst;
  return inst;
}
