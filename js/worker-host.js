// Worker mode, calling-thread side.
//
// The module runs unchanged in one worker (worker.js). Export calls are sent
// one at a time by postMessage -- the worker has a single guest stack, so
// further calls queue. When the guest calls an import, the worker posts
// {t:'import'} and blocks; this side runs the import function (sync or
// async) with the same context object as the other modes and stores the
// result in the shared channel, which wakes the worker.
//
// Guest memory access from import code (RemoteMemory) is a synchronous
// request over the channel: store the request, wake the worker, wait for
// MEMDONE. The calling thread waits with Atomics.wait where it may block
// (Node's main thread, workers) and spins on Atomics.load where it may not
// (a browser page's main thread); the worker answers within microseconds.

import * as C from './channel.js';
import { GuestMemory, toU8 } from './memory.js';
import { isThenable } from './call.js';
import { Runner, contextFor } from './runner.js';
import { isNode, nodeModule } from './platform.js';

const encoder = new TextEncoder();

export function workerAvailable() {
  if (typeof SharedArrayBuffer !== 'function' || typeof Atomics !== 'object') return false;
  if (globalThis.crossOriginIsolated === false) return false;
  return true;
}

export function workerUnavailableReason() {
  if (globalThis.crossOriginIsolated === false)
    return (
      'SharedArrayBuffer is unavailable because the page is not cross-origin isolated (crossOriginIsolated is false); ' +
      'serve it with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp ' +
      '(e.g. `npx wasync-serve DIR`)'
    );
  return 'this engine has no SharedArrayBuffer/Atomics';
}

async function spawn(url) {
  if (isNode()) {
    const { Worker } = await nodeModule('node:worker_threads');
    const w = new Worker(url);
    return {
      post: (m) => w.postMessage(m),
      onMessage: (f) => w.on('message', f),
      onError: (f) => w.on('error', f),
      onExit: (f) => w.on('exit', f),
      ref: () => w.ref(),
      unref: () => w.unref(),
      terminate: () => w.terminate(),
    };
  }
  const w = new Worker(url, { type: 'module' });
  return {
    post: (m) => w.postMessage(m),
    onMessage: (f) => w.addEventListener('message', (ev) => f(ev.data)),
    // a worker script that cannot be loaded (not found: wasync bundled
    // without its worker.js) fires an 'error' event with no message
    onError: (f) =>
      w.addEventListener('error', (ev) =>
        f(
          ev.error ??
            new Error(
              `wasync: the worker (${url}) failed to start${ev.message ? `: ${ev.message}` : ''}; if wasync is bundled, ` +
                "emit its worker.js next to the bundle as a second entry point (esbuild app.js wasync/worker.js --bundle " +
                "--format=esm --entry-names=[name]) or pass options.worker.url",
            ),
        ),
      ),
    ref: () => {},
    unref: () => {},
    terminate: () => w.terminate(),
  };
}

class RemoteMemory extends GuestMemory {
  #host;
  #canWait = true;

  constructor(host) {
    super();
    this.#host = host;
  }

  #request(op, ptr, len) {
    const host = this.#host;
    if (!host.inImport)
      throw new Error(
        'wasync: in worker mode guest memory can be reached only while an import is running (the guest lives in the ' +
          "worker); pass strings and buffers into calls with inst.ccall/inst.cwrap or exports.f.with({args: ['string'], " +
          "returns: 'string'}), which convert them in the worker, or choose mode 'jspi'/'asyncify' (options.needs: ['memory'])",
      );
    const ctl = host.ctl;
    ctl[C.OP] = op;
    ctl[C.PTR] = ptr;
    ctl[C.LEN] = len;
    Atomics.store(ctl, C.STATE, C.MEMREQ);
    Atomics.notify(ctl, C.STATE);
    const deadline = Date.now() + 10000;
    for (;;) {
      if (Atomics.load(ctl, C.STATE) === C.MEMDONE) break;
      if (this.#canWait) {
        try {
          Atomics.wait(ctl, C.STATE, C.MEMREQ, 50);
        } catch {
          this.#canWait = false;
        }
      }
      if (Date.now() > deadline) throw new Error('wasync: the worker did not answer a memory request');
    }
    const status = ctl[C.STATUS];
    Atomics.store(ctl, C.STATE, C.IDLE);
    return status;
  }

  get size() {
    this.#request(C.OP_SIZE, 0, 0);
    return this.#host.f64[0];
  }

  readBytes(ptr, len) {
    if (!Number.isInteger(ptr) || !Number.isInteger(len) || ptr < 0 || len < 0)
      throw new RangeError(`wasync: bad guest memory range (ptr ${ptr}, len ${len})`);
    const out = new Uint8Array(len);
    const chunk = this.#host.data.length;
    for (let off = 0; off < len || (len === 0 && off === 0); off += chunk) {
      const n = Math.min(chunk, len - off);
      if (this.#request(C.OP_READ, ptr + off, n) < 0)
        throw new RangeError(`wasync: guest memory access out of bounds (ptr ${ptr}, len ${len})`);
      out.set(this.#host.data.subarray(0, n), off);
      if (len === 0) break;
    }
    return out;
  }

  writeBytes(ptr, bytes) {
    const src = toU8(bytes);
    if (!Number.isInteger(ptr) || ptr < 0) throw new RangeError(`wasync: bad guest pointer ${ptr}`);
    const chunk = this.#host.data.length;
    for (let off = 0; off < src.length; off += chunk) {
      const n = Math.min(chunk, src.length - off);
      this.#host.data.set(src.subarray(off, off + n));
      if (this.#request(C.OP_WRITE, ptr + off, n) < 0)
        throw new RangeError(`wasync: guest memory access out of bounds (ptr ${ptr}, len ${src.length})`);
    }
  }

  cStringLength(ptr) {
    const n = this.#request(C.OP_STRLEN, ptr, 0);
    if (n < 0) throw new RangeError(`wasync: unterminated or out-of-bounds string at ${ptr}`);
    return n;
  }
}

export class WorkerRunner extends Runner {
  static mode = 'worker';

  static unavailable() {
    return workerAvailable() ? null : workerUnavailableReason();
  }

  /** Why this mode cannot meet a caller's need (options.needs), or null. */
  static lacks(need) {
    return need === 'memory' ? 'guest memory lives in the worker and is out of reach between calls' : null;
  }

  constructor(options = {}) {
    super('worker');
    this.options = options;
    this.inImport = false;
    this.importToken = 0; // the token of the import the running call is in
    this.importSeq = 0; // the last token handed out (tokens are never reused)
    // calls below `running` in the worker, each blocked in an import:
    // [{call, token, deferred}] (deferred: its import's answer, held back
    // until the calls above it have finished)
    this.outer = [];
    this.memory = new RemoteMemory(this);
    this.callSent = 0; // CALL's value for the last fast-path call sent
    this.callWatch = null; // the timer that nudges the worker (#watchCall)
    this.nudges = 0; // messages that had to wake the worker for a call
  }

  /** Marshalled calls are converted in the worker, next to the memory (marshal.js). */
  marshalled(name, returns, argTypes, args, run) {
    return run(args, { returns, argTypes });
  }

  /** The runner contract's instantiate (runner.js): the module is instantiated in the worker. */
  async instantiate(module, importObject, { ctxFor, sigs, declared }) {
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
    const opts = this.options.worker ?? {};
    const exportList = await this.init(module, list, ctxFor, { dataSize: opts.dataSize, workerURL: opts.url, fast: opts.fast });
    const fns = {};
    for (const e of exportList) if (e.kind === 'function' && e.name !== '_initialize') fns[e.name] = true;
    return { fns, others: {}, instance: null };
  }

  /**
   * Starts the worker and instantiates `module` there. `importList` is
   * [{module, name, kind, fn?, value?, memory?, descriptor?}].
   */
  async init(module, importList, ctxFor, { dataSize = C.DEFAULT_DATA_SIZE, workerURL, fast = true } = {}) {
    this.sab = new SharedArrayBuffer(C.DATA_OFFSET + dataSize);
    this.ctl = new Int32Array(this.sab, 0, C.DATA_OFFSET / 4);
    this.f64 = new Float64Array(this.sab, C.F64_OFFSET, 1);
    this.i64 = new BigInt64Array(this.sab, C.I64_OFFSET, 1);
    this.data = new Uint8Array(this.sab, C.DATA_OFFSET);
    this.argF64 = new Float64Array(this.sab, C.ARG_OFFSET, C.ARG_SLOTS);
    this.argI64 = new BigInt64Array(this.sab, C.ARG_OFFSET, C.ARG_SLOTS);
    this.fast = fast && typeof Atomics.waitAsync === 'function';
    this.seen = 0;
    this.listening = false;
    this.ctxFor = ctxFor;
    this.fns = [];
    this.ctxOf = []; // per import: call -> its `this` (runner.js, contextFor)
    const wire = importList.map((imp) => {
      const w = { module: imp.module, name: imp.name, kind: imp.kind };
      if (imp.kind === 'function') {
        w.index = this.fns.length;
        this.fns.push(imp.fn);
        this.ctxOf.push(contextFor(imp.fn, ctxFor));
      } else if (imp.kind === 'memory') {
        if (imp.memory) w.memory = imp.memory;
        else w.descriptor = imp.descriptor;
      } else {
        w.value = imp.value;
      }
      return w;
    });
    this.worker = await spawn(workerURL ?? new URL('./worker.js', import.meta.url));
    const ready = new Promise((resolve, reject) => {
      this.readyResolve = resolve;
      this.readyReject = reject;
    });
    this.worker.onMessage((m) => this.#onMessage(m));
    this.worker.onError((e) => this.#onError(e));
    // a worker that ends without an 'error' event (process.exit in the
    // worker, out of memory) must not leave its calls pending forever
    this.worker.onExit?.((code) => {
      if (!this.dead) this.#onError(new Error(`wasync: the worker exited unexpectedly (exit code ${code})`));
    });
    this.worker.post({ t: 'init', module, sab: this.sab, imports: wire, fast: this.fast });
    try {
      this.exportList = await ready;
    } catch (e) {
      // a failed instantiation must not leave a (ref'd) worker behind
      this.terminate();
      throw e;
    }
    this.exportIndex = new Map(this.exportList.map((e, i) => [e.name, i]));
    this.worker.unref();
    return this.exportList;
  }

  admit(call) {
    // The worker is blocked in an import of the running call: it can run
    // this call on top (CALLREQ), which is what an import awaiting a call
    // into its own instance needs. Otherwise the call waits its turn.
    if (this.running !== null && this.inImport && !this.dead && this.#packArgs(call)) {
      this.#nest(call);
      return;
    }
    this.queue.push(call);
    this.#next();
  }

  #nest(call) {
    this.outer.push({ call: this.running, token: this.importToken, deferred: null });
    this.running = call;
    this.inImport = false;
    call.wireId = -1;
    this.ctl[C.REQ_INDEX] = this.exportIndex.get(call.name);
    Atomics.store(this.ctl, C.STATE, C.CALLREQ);
    Atomics.notify(this.ctl, C.STATE);
  }

  terminate() {
    this.dead = new Error('wasync: the instance was terminated');
    this.worker?.terminate();
    for (const c of [this.running, ...this.outer.map((o) => o.call), ...this.queue.drain()]) c?.reject(this.dead);
    this.running = null;
    this.outer = [];
  }

  #next() {
    while (this.running === null && this.queue.length) {
      const call = this.queue.shift();
      if (!call) break;
      if (this.dead) {
        call.reject(this.dead);
        continue;
      }
      this.running = call;
      this.worker.ref();
      if (call.marshal) this.worker.post({ t: 'ccall', id: call.id, name: call.name, args: call.args, marshal: call.marshal });
      else if (!this.#fastCall(call)) this.worker.post({ t: 'call', id: call.id, name: call.name, args: call.args });
      this.#listen();
    }
  }

  // Sends a call over the channel; false if its arguments do not fit.
  #fastCall(call) {
    if (!this.fast || !this.#packArgs(call)) return false;
    this.ctl[C.REQ_INDEX] = this.exportIndex.get(call.name);
    call.wireId = -1;
    const sent = (Atomics.add(this.ctl, C.CALL, 1) + 1) | 0;
    Atomics.notify(this.ctl, C.CALL);
    this.#watchCall(sent);
    return true;
  }

  // Nudges the worker with a message while it has not taken the last call
  // sent (an engine whose waitAsync does not wake the worker: channel.js).
  // One timer at a time, however fast calls come.
  #watchCall(sent) {
    this.callSent = sent;
    if (this.callWatch !== null) return;
    const tick = () => {
      this.callWatch = null;
      if (this.dead || ((Atomics.load(this.ctl, C.CALL_TAKEN) - this.callSent) | 0) >= 0) return;
      this.nudges++;
      this.worker.post({ t: 'nudge' });
      this.callWatch = setTimeout(tick, C.NUDGE_MS);
      this.callWatch.unref?.();
    };
    this.callWatch = setTimeout(tick, C.NUDGE_MS);
    this.callWatch.unref?.();
  }

  // Puts call.args into the channel's argument slots; false if they do not fit.
  #packArgs(call) {
    if (call.marshal || call.args.length > C.ARG_SLOTS) return false;
    const ctl = this.ctl;
    for (let i = 0; i < call.args.length; i++) {
      const v = call.args[i];
      if (typeof v === 'number') {
        this.argF64[i] = v;
        ctl[C.ARG_TAG0 + i] = C.TAG_NUMBER;
      } else if (typeof v === 'bigint') {
        this.argI64[i] = v;
        ctl[C.ARG_TAG0 + i] = C.TAG_BIGINT;
      } else if (v === undefined || v === null) {
        ctl[C.ARG_TAG0 + i] = v === null ? C.TAG_NULL : C.TAG_UNDEFINED;
      } else return false;
    }
    ctl[C.REQ_ARGC] = call.args.length;
    return true;
  }

  // Fast path: while a call is in flight, wait (asynchronously) for the
  // worker's requests on the channel instead of messages.
  async #listen() {
    if (!this.fast || this.listening) return;
    this.listening = true;
    try {
      while (this.running !== null && !this.dead) {
        const seen = this.seen;
        const w = Atomics.waitAsync(this.ctl, C.REQ, seen);
        if (w.async) await w.value;
        const now = Atomics.load(this.ctl, C.REQ);
        if (now === seen) continue;
        this.seen = now;
        this.#onRequest();
      }
    } finally {
      this.listening = false;
    }
  }

  #onRequest() {
    const ctl = this.ctl;
    const argc = ctl[C.REQ_ARGC];
    const args = new Array(argc);
    for (let i = 0; i < argc; i++) {
      const tag = ctl[C.ARG_TAG0 + i];
      args[i] =
        tag === C.TAG_NUMBER ? this.argF64[i] : tag === C.TAG_BIGINT ? this.argI64[i] : tag === C.TAG_NULL ? null : undefined;
    }
    if (ctl[C.REQ_KIND] === C.REQ_IMPORT) this.#runImport(ctl[C.REQ_INDEX], args);
    else this.#complete(this.running ? (this.running.wireId ?? this.running.id) : undefined, true, args[0]);
  }

  #complete(id, ok, value, m) {
    const call = this.running;
    if (!call || (call.wireId ?? call.id) !== id) return;
    this.running = null;
    if (this.outer.length) {
      // a nested call finished: the call below it is again the one in the
      // worker, still blocked in its import
      const o = this.outer.pop();
      this.running = o.call;
      this.inImport = true;
      this.importToken = o.token;
      if (o.deferred) queueMicrotask(o.deferred);
      else {
        // its import may be waiting for a call that queued meanwhile
        const next = this.queue.peek();
        if (next && this.#packArgs(next)) this.#nest(this.queue.shift());
      }
    }
    if (ok) call.resolve(value);
    else if (call.importError !== undefined) call.reject(call.importError);
    else {
      const e = m.trap ? new WebAssembly.RuntimeError(m.message) : new Error(m.message);
      if (!m.trap) e.name = m.name;
      e.workerStack = m.stack;
      call.reject(e);
    }
    if (this.queue.length === 0 && this.running === null) this.worker.unref();
    this.#next();
  }

  #onMessage(m) {
    if (m.t === 'import') this.#runImport(m.i, m.args);
    else if (m.t === 'ret' || m.t === 'err') {
      if (m.t === 'err' && m.id === 0) {
        const e = new Error(m.message);
        e.name = m.name;
        this.readyReject(e);
        return;
      }
      this.#complete(m.id, m.t === 'ret', m.value, m);
    } else if (m.t === 'ready') {
      this.readyResolve(m.exports);
    }
  }

  #onError(e) {
    this.dead = e instanceof Error ? e : new Error(String(e));
    if (this.readyReject) this.readyReject(this.dead);
    this.running?.reject(this.dead);
    for (const o of this.outer) o.call.reject(this.dead);
    this.running = null;
    this.outer = [];
    for (const c of this.queue.drain()) c.reject(this.dead);
  }

  #runImport(index, args) {
    const call = this.running;
    const token = ++this.importSeq;
    this.importToken = token;
    this.inImport = true;
    if (call === null || call.settled) {
      // The call was aborted (or timed out) before the worker got here: its
      // imports must not run -- an import started with an already-aborted
      // signal could wait forever while the worker, and every queued call,
      // waits for it. Throw the reason into the guest so it unwinds now.
      this.#sendError(token, call, call?.abortReason ?? this.dead ?? new Error('wasync: import called outside an export call'));
      return;
    }
    let r;
    try {
      r = this.fns[index].apply(this.ctxOf[index](call), args);
    } catch (e) {
      this.#sendError(token, call, e);
      return;
    }
    if (!isThenable(r)) {
      this.#sendResult(token, r);
      return;
    }
    if (call) call.wake = (reason) => this.#sendError(token, call, reason);
    Promise.resolve(r).then(
      (v) => this.#sendResult(token, v),
      (e) => this.#sendError(token, call, e),
    );
  }

  // True when the import `token` may answer now; if it belongs to a call
  // below a nested one, `answer` is kept until that call is on top again.
  #answerable(token, answer) {
    if (token === this.importToken && this.inImport) return true;
    const o = this.outer.find((x) => x.token === token);
    if (o && !o.deferred) o.deferred = answer;
    return false;
  }

  #sendResult(token, v) {
    if (!this.#answerable(token, () => this.#sendResult(token, v))) return;
    this.inImport = false;
    const ctl = this.ctl;
    if (typeof v === 'number') {
      this.f64[0] = v;
      ctl[C.TAG] = C.TAG_NUMBER;
    } else if (typeof v === 'bigint') {
      this.i64[0] = v;
      ctl[C.TAG] = C.TAG_BIGINT;
    } else if (v === undefined) {
      ctl[C.TAG] = C.TAG_UNDEFINED;
    } else if (v === null) {
      ctl[C.TAG] = C.TAG_NULL;
    } else {
      this.f64[0] = Number(v);
      ctl[C.TAG] = C.TAG_NUMBER;
    }
    Atomics.store(ctl, C.STATE, C.RESULT);
    Atomics.notify(ctl, C.STATE);
  }

  #sendError(token, call, e) {
    if (!this.#answerable(token, () => this.#sendError(token, call, e))) return;
    this.inImport = false;
    if (call && call.importError === undefined) call.importError = e;
    const text = encoder.encode(`${e?.name ?? 'Error'}\n${e?.message ?? String(e)}`);
    const n = Math.min(text.length, this.data.length);
    this.data.set(text.subarray(0, n));
    this.ctl[C.LEN] = n;
    Atomics.store(this.ctl, C.STATE, C.ERROR);
    Atomics.notify(this.ctl, C.STATE);
  }

  abortStarted(call, reason) {
    if (call === this.running && this.inImport && call.wake) call.wake(reason);
  }
}
