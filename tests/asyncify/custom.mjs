// tests/asyncify/custom.mjs -- scenarios that are not "compare the original
// with the asyncified module" (see run.mjs for the directive syntax).
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const tick = () => new Promise((r) => setTimeout(r, 0));
const STATE_NORMAL = 0, STATE_UNWINDING = 1, STATE_REWINDING = 2;

function expectEqual(what, got, want) {
  if (!isDeepStrictEqual(got, want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// The JS twin of coroutines.wat's `co`.
function* coJS(id, n) {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const got = yield (id * 1000 + i * 10 + (acc & 7)) | 0;
    const depth = i % 3; // $emit's recursion subtracts 3*depth at each level
    acc = (Math.imul(acc, 31) + got - (3 * depth * (depth + 1)) / 2) | 0;
  }
  return acc;
}

// Round-robin scheduler shared by both implementations: each coroutine is
// resumed with the value the other one yielded last; returns the event trace.
async function schedule(coros) {
  const trace = [];
  let last = 0;
  const live = coros.map((c, k) => ({ c, k, done: false, started: false }));
  let steps = 0;
  while (live.some((x) => !x.done)) {
    if (++steps > 1000) throw new Error(`coroutines did not finish; trace so far ${JSON.stringify(trace.slice(0, 20))}`);
    for (const x of live) {
      if (x.done) continue;
      const r = await x.c.resume(last);
      if (r.done) { x.done = true; trace.push(`co${x.k} returns ${r.value}`); } else { last = r.value; trace.push(`co${x.k} yields ${r.value}`); }
      await tick();
    }
  }
  return trace;
}

async function coroutines(t) {
  const specs = [[1, 5], [2, 8], [3, 1]];
  // JS generators
  const jsCoros = specs.map(([id, n]) => {
    const g = coJS(id, n);
    let started = false;
    return { resume: async (v) => { const r = started ? g.next(v) : g.next(); started = true; return r; } };
  });
  const want = await schedule(jsCoros);

  // wasm: one instance, one data buffer per coroutine
  let inst = null, yielded = null, resumeValue = 0;
  const ex = () => inst.exports;
  const env = {
    yield: (v) => {
      if (ex().asyncify_get_state() === STATE_REWINDING) {
        ex().asyncify_stop_rewind();
        return resumeValue;
      }
      yielded = v;
      ex().asyncify_start_unwind(current.buf);
      return 0;
    },
  };
  inst = (await WebAssembly.instantiate(readFileSync(t.out), { env })).instance;
  let current = null;
  const wasmCoros = specs.map(([id, n], k) => {
    const buf = 4096 + k * 8192;
    const me = { buf, started: false };
    me.resume = async (v) => {
      current = me;
      const view = new DataView(ex().memory.buffer);
      if (!me.started) {
        me.started = true; // a fresh stack: an empty buffer
        view.setUint32(buf, buf + 8, true);
        view.setUint32(buf + 4, buf + 8192, true);
      } else {
        // the other coroutines used other buffers: this one is as we left it
        if (view.getUint32(buf, true) !== me.pos) throw new Error(`buffer ${k} was modified while suspended`);
        resumeValue = v;
        ex().asyncify_start_rewind(buf);
      }
      yielded = null;
      const r = ex().co(id, n);
      const s = ex().asyncify_get_state();
      if (s === STATE_UNWINDING) {
        ex().asyncify_stop_unwind();
        me.pos = view.getUint32(buf, true);
        return { done: false, value: yielded };
      }
      if (s !== STATE_NORMAL) throw new Error(`state ${s} after co returned`);
      return { done: true, value: r };
    };
    return me;
  });
  const got = await schedule(wasmCoros);
  expectEqual('coroutine trace', got, want);
  return `${got.length} switches between ${specs.length} coroutines`;
}

async function selfdrive(t) {
  const n = 6;
  let acc = 1;
  const want = [];
  for (let i = 0; i < n; i++) { acc = (acc * 3 + i) | 0; want.push(`log(${-(i + 1)})`, `log(${acc})`); }
  const wantResult = (acc + (n << 20)) | 0;
  const log = [];
  const { instance } = await WebAssembly.instantiate(readFileSync(t.out), { env: { log: (v) => log.push(`log(${v})`) } });
  const r = instance.exports.main(n);
  expectEqual('selfdrive log', log, want);
  expectEqual('selfdrive result', r, wantResult);
  return `${n} in-module suspensions`;
}

// Buffer overflow: start with a 16-byte buffer and grow it to exactly what
// the failed unwind asked for, until the call succeeds.  Every failed unwind
// must leave pos > end (wasync's contract), write nothing past end (a canary
// after the buffer), and the final size must be exactly the largest stack
// saved (so the reported needs were exact, not guesses).
async function overflow(t) {
  const { Driver, makeEnv, parseArg, norm } = await import('./scenarios.mjs');
  const bytesOrig = readFileSync(t.orig), bytesOut = readFileSync(t.out);
  const notes = [];
  for (const call of t.run) {
    const args = call.slice(1).map(parseArg);
    const refLog = [];
    const ref = (await WebAssembly.instantiate(bytesOrig, { env: makeEnv(refLog, 'sync', null, { asyncCalls: 0 }) })).instance;
    const want = norm(ref.exports[call[0]](...args));
    let size = 16, tries = 0, overflows = 0;
    for (;;) {
      if (++tries > 64) throw new Error(`${call.join(' ')}: still overflowing after 64 tries`);
      const log = [];
      let driver = null;
      const inst = (await WebAssembly.instantiate(bytesOut, { env: makeEnv(log, 'async', () => driver, null) })).instance;
      const addr = 4096, end = addr + 8 + size;
      driver = new Driver(inst, { dataAddr: addr, dataEnd: end });
      const mem = new Uint8Array(inst.exports.memory.buffer);
      mem.fill(0xa5, end, end + 4096);
      let result, err = null;
      try { result = norm(await driver.call(call[0], ...args)); } catch (e) { err = e; }
      if (mem.subarray(end, end + 4096).some((b) => b !== 0xa5)) throw new Error(`${call.join(' ')}: unwinding wrote past end (buffer ${size} bytes)`);
      if (!err) {
        expectEqual(`${call.join(' ')} result`, result, want);
        expectEqual(`${call.join(' ')} log`, log, refLog);
        if (overflows === 0) throw new Error(`${call.join(' ')}: a ${size}-byte buffer never overflowed; test too small`);
        if (driver.maxFrameBytes !== size) throw new Error(`${call.join(' ')}: succeeded with ${size} bytes but the largest stack saved was ${driver.maxFrameBytes}: the reported need was not exact`);
        notes.push(`${call.join(' ')}: ${overflows} overflows detected, exact need ${size} B`);
        break;
      }
      if (err.needed === undefined) throw new Error(`${call.join(' ')}: with a ${size}-byte buffer: ${err.message} (expected pos > end after the unwind)`);
      if (!(err.needed > size)) throw new Error(`${call.join(' ')}: overflow reported a need of ${err.needed} <= ${size}`);
      // the documented contract: stop_unwind traps while pos > end
      let trapped = false;
      try { inst.exports.asyncify_stop_unwind(); } catch { trapped = true; }
      if (!trapped) notes.push('stop_unwind did not trap on overflow');
      overflows++;
      size = err.needed;
    }
  }
  return notes.join('; ');
}

// A third-party driver: the `asyncify-wasm` npm package (written for
// Binaryen's output) runs the asyncified module with async host functions.
async function asyncifyWasm(t) {
  const Asyncify = await import('asyncify-wasm');
  const { makeEnv, parseArg, norm } = await import('./scenarios.mjs');
  const bytesOrig = readFileSync(t.orig), bytesOut = readFileSync(t.out);
  let suspended = 0;
  for (const call of t.run) {
    const args = call.slice(1).map(parseArg);
    const refLog = [];
    const ref = (await WebAssembly.instantiate(bytesOrig, { env: makeEnv(refLog, 'sync', null, { asyncCalls: 0 }) })).instance;
    const want = norm(ref.exports[call[0]](...args));
    const log = [];
    const env = makeEnv(log, 'sync', null, { asyncCalls: 0 });
    for (const name of Object.keys(env).filter((n) => n.startsWith('sleep'))) {
      const f = env[name];
      env[name] = async (...a) => { suspended++; await tick(); return f(...a); };
    }
    const { instance } = await Asyncify.instantiate(bytesOut, { env });
    const got = norm(await instance.exports[call[0]](...args));
    expectEqual(`${call.join(' ')} result`, got, want);
    expectEqual(`${call.join(' ')} log`, log, refLog);
  }
  if (!suspended) throw new Error('no async host call was made');
  return `${t.run.length} calls, ${suspended} awaited host calls through asyncify-wasm`;
}

// host-table.wat: the host puts a function that suspends into the
// module's exported table (through a one-function helper module, as
// Emscripten's addFunction does); calling it through call_indirect must
// unwind and rewind through the caller.
const HELPER = new Uint8Array([ // (import "env" "f" (func (param i32) (result i32))) (export "f" (func 0))
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x06, 0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f,
  0x02, 0x09, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x01, 0x66, 0x00, 0x00, 0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00]);
async function hosttable(t) {
  const DATA = 4096;
  const log = [];
  let inst = null, suspensions = 0;
  const ex = () => inst.exports;
  const suspend = (v) => {
    if (ex().asyncify_get_state() === STATE_REWINDING) {
      ex().asyncify_stop_rewind();
      return (v * 10 + 7) | 0;
    }
    const view = new DataView(ex().memory.buffer);
    view.setUint32(DATA, DATA + 8, true);
    view.setUint32(DATA + 4, 65536, true);
    ex().asyncify_start_unwind(DATA);
    suspensions++;
    return 0;
  };
  ({ instance: inst } = await WebAssembly.instantiate(readFileSync(t.out), {
    env: { sleep: (v) => v, log: (v) => log.push(v) },
  }));
  const helper = (await WebAssembly.instantiate(HELPER, { env: { f: suspend } })).instance;
  ex().tab.set(1, helper.exports.f);
  for (const x of [2, 5, -4]) {
    log.length = 0;
    let r = ex().caller(x);
    while (ex().asyncify_get_state() === STATE_UNWINDING) {
      ex().asyncify_stop_unwind();
      await tick();
      ex().asyncify_start_rewind(DATA);
      r = ex().caller(x);
    }
    expectEqual(`caller(${x})`, r, (x * 10 + 7 + 3 * x) | 0);
    expectEqual(`caller(${x}) log`, log, [3 * x]);
  }
  if (suspensions !== 3) throw new Error(`${suspensions} suspensions, want 3`);
  return `${suspensions} suspensions through a host function in the table`;
}

export const SCENARIOS = { coroutines, selfdrive, overflow, asyncifyWasm, hosttable };
