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
// The contract, identical in every mode:
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
//     otherwise calls queue;
//   - every call takes an AbortSignal and a timeout (call.js); an aborted or
//     failed call leaves the instance usable.

import { Call, abortError } from './call.js';
import { LocalMemory, GuestMemory } from './memory.js';
import { Regions, ShadowStack } from './stack.js';
import { JspiRunner } from './jspi.js';
import { AsyncifyRunner, isAsyncified } from './asyncify.js';
import { WorkerRunner, workerAvailable, workerUnavailableReason } from './worker-host.js';
import { readImportSignatures } from './sig.js';
import { tuneEngine } from './engine.js';

export { GuestMemory, isAsyncified, tuneEngine };

const MODES = ['jspi', 'asyncify', 'worker'];

function isNode() {
  return typeof process === 'object' && typeof process.versions?.node === 'string' && typeof window === 'undefined';
}

async function loadBytes(source) {
  if (source instanceof URL || typeof source === 'string') {
    let url;
    if (source instanceof URL) url = source;
    else if (/^[a-z][a-z0-9+.-]*:/i.test(source) && !/^[a-z]:[\\/]/i.test(source)) url = new URL(source);
    else if (isNode()) {
      const { pathToFileURL } = await import('node:url');
      url = pathToFileURL(source);
    } else url = new URL(source, globalThis.location?.href);
    if (url.protocol === 'file:' && isNode()) {
      const { readFile } = await import('node:fs/promises');
      return new Uint8Array(await readFile(url));
    }
    source = await fetch(url);
  }
  if (typeof Response === 'function' && source instanceof Response) {
    if (!source.ok) throw new Error(`wasync: fetching ${source.url} failed: ${source.status} ${source.statusText}`);
    return new Uint8Array(await source.arrayBuffer());
  }
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
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
  if (!JspiRunner.available()) why.jspi = 'this engine has no JSPI (WebAssembly.Suspending / WebAssembly.promising)';
  if (!module || !isAsyncified(module))
    why.asyncify = 'the module is not asyncify-instrumented (no asyncify_* exports; run `wasync asyncify IN -o OUT`)';
  if (!workerAvailable()) why.worker = workerUnavailableReason();
  return { modes: MODES.filter((m) => !why[m]), why };
}

function chooseMode(requested, module, options) {
  const { why } = supportedModes(module);
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

function makeCtxFor(base) {
  return (call) => {
    if (!call) return base;
    return (call.ctx ??= new ImportContext(base.memory, call, base));
  };
}

function findMemory(exports, imports) {
  if (exports.memory instanceof WebAssembly.Memory) return exports.memory;
  for (const v of Object.values(exports)) if (v instanceof WebAssembly.Memory) return v;
  for (const ns of Object.values(imports ?? {}))
    for (const v of Object.values(ns ?? {})) if (v instanceof WebAssembly.Memory) return v;
  return null;
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
      exp[name] = (...args) => this.call(name, args);
    }
    Object.assign(exp, others);
    this.exports = Object.freeze(exp);
  }

  #runner;
  #fns;
  #timeout;
  #pending = new Set();
  #dead = null;

  /**
   * Calls export `name` with `args`. options: {signal, timeout}. Returns a
   * Promise of the result.
   */
  call(name, args = [], { signal, timeout = this.#timeout } = {}) {
    const fn = this.#fns[name];
    if (fn === undefined) return Promise.reject(new TypeError(`wasync: no exported function '${name}'`));
    if (signal?.aborted) return Promise.reject(signal.reason ?? abortError());
    if (this.#dead) return Promise.reject(this.#dead);
    const call = new Call(name, fn, args, { signal, timeout });
    const pending = this.#pending;
    pending.add(call);
    const forget = () => pending.delete(call);
    call.promise.then(forget, forget);
    this.#runner.start(call);
    return call.promise;
  }

  /**
   * Ends the instance: every pending call is aborted (its promise rejects,
   * its imports' `signal` fires, a suspended guest is unwound or dropped),
   * later calls reject, and in worker mode the worker is stopped.
   */
  terminate() {
    if (!this.#dead) {
      this.#dead = abortError('the instance was terminated');
      for (const call of [...this.#pending]) call.abort(this.#dead);
      this.#pending.clear();
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
// names the imports that may suspend (default: all).  Needs the module's
// bytes (not a precompiled WebAssembly.Module).
async function onTheFlyAsyncify(compiled, options) {
  const { module, bytes } = compiled;
  if ((options.mode ?? 'auto') !== 'auto' || options.autoAsyncify === false || !bytes) return compiled;
  if (options.modes && !options.autoAsyncify) return compiled; // an explicit order wins
  if (JspiRunner.available() || isAsyncified(module)) return compiled;
  // asyncify mode keeps its unwind data in the module's memory: a module
  // without one (imported or exported) keeps the old choice (worker next)
  const hasMemory = (list) => list.some((d) => d.kind === 'memory');
  if (!hasMemory(WebAssembly.Module.exports(module)) && !hasMemory(WebAssembly.Module.imports(module))) return compiled;
  const { asyncifyOnTheFly } = await import('./auto-asyncify.js');
  const out = await asyncifyOnTheFly(bytes, { ...(options.autoAsyncify ?? {}), asyncImports: options.asyncImports });
  return { module: await WebAssembly.compile(out), bytes: out };
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
  if (options.tuneEngine !== false) await tuneEngine();
  const { module, bytes } = await onTheFlyAsyncify(await compile(source), options);
  const mode = chooseMode(options.mode ?? 'auto', module, options);
  const sigs = bytes ? readImportSignatures(bytes) : null;
  const resultsOf = new Map();
  if (sigs?.funcs) for (const f of sigs.funcs) resultsOf.set(`${f.module}\0${f.name}`, f.results);

  let instanceExports = null;
  let runner;
  let memory;
  if (mode === 'worker') {
    runner = new WorkerRunner();
    memory = runner.memory;
  } else {
    memory = new LocalMemory(() => findMemory(instanceExports ?? {}, importObject));
  }
  const base = new ImportContext(memory);
  // the shared context (factory form) reports the call running right now
  base.current = () => (mode === 'worker' ? runner.current : runner?.running) ?? null;
  const ctxFor = makeCtxFor(base);
  let importObject = typeof imports === 'function' ? imports(base) : imports;
  importObject ??= {};

  const declared = WebAssembly.Module.imports(module);
  for (const imp of declared) {
    if (imp.kind === 'function' && typeof importObject[imp.module]?.[imp.name] !== 'function')
      throw new TypeError(`wasync: import ${imp.module}.${imp.name} must be a function`);
  }

  if (mode === 'worker') {
    const list = declared.map((imp) => {
      const v = importObject[imp.module]?.[imp.name];
      const out = { module: imp.module, name: imp.name, kind: imp.kind };
      if (imp.kind === 'function') out.fn = v;
      else if (imp.kind === 'memory') {
        if (v instanceof WebAssembly.Memory && v.buffer instanceof SharedArrayBuffer) out.memory = v;
        else {
          const lim = sigs?.memories?.find((m) => m.module === imp.module && m.name === imp.name)?.limits;
          if (!lim) throw new Error(`wasync: worker mode cannot recreate memory import ${imp.module}.${imp.name}`);
          out.descriptor = { initial: lim.initial, maximum: lim.maximum, shared: lim.shared };
        }
      } else if (imp.kind === 'global') out.value = v instanceof WebAssembly.Global ? v.value : v;
      else throw new Error(`wasync: worker mode cannot pass ${imp.kind} import ${imp.module}.${imp.name} to the worker`);
      return out;
    });
    const exportList = await runner.init(module, list, ctxFor, {
      dataSize: options.worker?.dataSize,
      workerURL: options.worker?.url,
      fast: options.worker?.fast,
    });
    const fns = {};
    for (const e of exportList) if (e.kind === 'function' && e.name !== '_initialize') fns[e.name] = true;
    const inst = new WasyncInstance(mode, runner, fns, {}, memory, options);
    base.instance = inst;
    return inst;
  }

  const stackSize = options.stackSize ?? 65536;
  let stack;
  let regions;
  if (mode === 'jspi') runner = new JspiRunner(null);
  else runner = new AsyncifyRunner(null, null, memory, options.asyncify ?? {});

  const wrapped = {};
  for (const [ns, obj] of Object.entries(importObject)) wrapped[ns] = obj && typeof obj === 'object' ? { ...obj } : obj;
  for (const imp of declared) {
    if (imp.kind !== 'function') continue;
    const fn = importObject[imp.module][imp.name];
    wrapped[imp.module][imp.name] = runner.wrapImport(fn, ctxFor, resultsOf.get(`${imp.module}\0${imp.name}`));
  }

  const instance = await WebAssembly.instantiate(module, wrapped);
  instanceExports = instance.exports;
  regions = new Regions(instanceExports, () => findMemory(instanceExports, importObject));
  runner.attach(instanceExports);
  if (typeof instanceExports._initialize === 'function') await runner.runInit(instanceExports._initialize);
  stack = new ShadowStack(instanceExports, regions, stackSize);
  runner.stack = stack;
  if (runner.regions === null) runner.regions = regions;

  const fns = {};
  const others = {};
  for (const [name, v] of Object.entries(instanceExports)) {
    if (typeof v === 'function') {
      if (name === '_initialize' || name.startsWith('asyncify_')) continue;
      fns[name] = runner.wrapExport(v);
    } else others[name] = v;
  }
  const inst = new WasyncInstance(mode, runner, fns, others, memory, options);
  inst.instance = instance;
  base.instance = inst;
  return inst;
}
