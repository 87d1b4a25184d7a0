// tests/asyncify/scenarios.mjs -- runs in each Node under test (child of run.mjs).
//
// Exposes runChild(plan): for every prepared test it checks
// WebAssembly.validate on both modules and runs the test's scenario.

import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';

const STATE_NORMAL = 0, STATE_UNWINDING = 1, STATE_REWINDING = 2;
export const DATA_ADDR = 4096; // {pos, end} lives here; frames follow it
export const DATA_END = 65536;

const sleep = (ms = 0) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// The asyncify driver used by every scenario (Binaryen's ABI).
export class Driver {
  constructor(instance, { dataAddr = DATA_ADDR, dataEnd = DATA_END, mem64 = false } = {}) {
    this.mem64 = mem64;
    this.instance = instance;
    this.ex = instance.exports;
    this.dataAddr = dataAddr;
    this.dataEnd = dataEnd;
    this.pending = null;
    this.unwinds = 0;
    this.maxFrameBytes = 0;
  }
  state() { return this.ex.asyncify_get_state(); }
  // {pos, end}: two i32 (two i64 on memory64); frames start after it
  hdr() { return this.mem64 ? 16 : 8; }
  ptr(a) { return this.mem64 ? BigInt(a) : a; }
  initData(addr = this.dataAddr, end = this.dataEnd) {
    const view = new DataView(this.ex.memory.buffer);
    if (this.mem64) {
      view.setBigUint64(addr, BigInt(addr + 16), true);
      view.setBigUint64(addr + 8, BigInt(end), true);
    } else {
      view.setUint32(addr, addr + 8, true);
      view.setUint32(addr + 4, end, true);
    }
  }
  dataPos(addr = this.dataAddr) {
    const view = new DataView(this.ex.memory.buffer);
    return this.mem64 ? Number(view.getBigUint64(addr, true)) : view.getUint32(addr, true);
  }
  dataEndNow(addr = this.dataAddr) {
    const view = new DataView(this.ex.memory.buffer);
    return this.mem64 ? Number(view.getBigUint64(addr + 8, true)) : view.getUint32(addr + 4, true);
  }
  // fn(...args) returns a Promise; dummy is the value returned while unwinding.
  wrap(fn, dummy = 0) {
    return (...args) => {
      if (this.state() === STATE_REWINDING) {
        this.ex.asyncify_stop_rewind();
        const s = this.settled;
        this.settled = null;
        if (s.error) throw s.error;
        return s.value;
      }
      if (this.state() !== STATE_NORMAL) throw new Error(`async import called in state ${this.state()}`);
      this.pending = fn(...args);
      this.initData();
      this.ex.asyncify_start_unwind(this.ptr(this.dataAddr));
      return dummy;
    };
  }
  async call(name, ...args) {
    let result = this.ex[name](...args);
    while (this.state() === STATE_UNWINDING) {
      // wasync's overflow contract: pos > end after an unwind that did not fit
      const pos = this.dataPos(), end = this.dataEndNow(), start = this.dataAddr + this.hdr();
      if (pos > end) {
        const e = new Error(`asyncify data buffer too small: needs ${pos - start} bytes, has ${end - start}`);
        e.needed = pos - start;
        throw e;
      }
      this.ex.asyncify_stop_unwind();
      this.unwinds++;
      this.maxFrameBytes = Math.max(this.maxFrameBytes, this.dataPos() - (this.dataAddr + this.hdr()));
      try {
        this.settled = { value: await this.pending };
      } catch (error) {
        this.settled = { error };
      }
      this.pending = null;
      this.ex.asyncify_start_rewind(this.ptr(this.dataAddr));
      result = this.ex[name](...args);
    }
    if (this.state() !== STATE_NORMAL) throw new Error(`state ${this.state()} after ${name} returned`);
    return result;
  }
}

// ---------------------------------------------------------------------------
// Host functions, by import name (module "env").  `sync` computes the value;
// the asynchronous variant returns it through a setTimeout-settled Promise.
// `dummy` is the value returned while unwinding (must fit the result type).
const I32 = (x) => x | 0;
const HOST = {
  sleep: { sync: (x) => I32(x * 7 + 3), dummy: 0 },
  sleep_v: { sync: () => undefined, dummy: undefined },
  sleep_i64: { sync: (x) => BigInt.asIntN(64, x * 3n + 1n), dummy: 0n },
  sleep_f32: { sync: (x) => Math.fround(x * 1.5), dummy: 0 },
  sleep_f64: { sync: (x) => x / 3, dummy: 0 },
  sleep_ext: { sync: (x) => ({ tag: `r(${x && x.tag})` }), dummy: null },
  sleep_throw: {
    sync: (x) => { throw new Error(`host error ${x}`); }, dummy: 0,
  },
};
const LOGGERS = ['log', 'log_i64', 'log_f32', 'log_f64', 'log_ext', 'log_func'];

export function norm(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function') return `func:${v.name}`;
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object' && 'tag' in v) return `ext:${v.tag}`;
  if (v instanceof Error) return `error:${v.message}`;
  if (v instanceof WebAssembly.Exception) return 'wasm-exception';
  return String(v);
}

function parseArg(a) {
  if (/^-?\d+n$/.test(a)) return BigInt(a.slice(0, -1));
  if (a.startsWith('ext:')) return { tag: a.slice(4) };
  if (a === 'null') return null;
  return Number(a);
}

function makeEnv(log, mode, getDriver, counters, syncImports = []) {
  const env = {};
  for (const [name, h] of Object.entries(HOST)) {
    if (mode === 'sync' || syncImports.includes(name)) {
      env[name] = (...args) => {
        if (counters && !syncImports.includes(name)) counters.asyncCalls++;
        log.push(`${name}(${args.map(norm).join(',')})`);
        return h.sync(...args);
      };
    } else {
      let driverFn = null;
      env[name] = (...args) => {
        const d = getDriver();
        driverFn ??= d.wrap(async (...a) => {
          log.push(`${name}(${a.map(norm).join(',')})`);
          await sleep(a.length && typeof a[0] === 'number' ? (a[0] & 3) : 0);
          return h.sync(...a);
        }, h.dummy);
        return driverFn(...args);
      };
    }
  }
  for (const name of LOGGERS) env[name] = (...args) => { log.push(`${name}(${args.map(norm).join(',')})`); };
  return env;
}

// C tests export where their buffer is (they own their memory layout).
function bufferOf(inst) {
  const ex = inst.exports;
  if (!ex.test_data_buffer) return {};
  const addr = ex.test_data_buffer();
  return { dataAddr: addr, dataEnd: addr + ex.test_data_size() };
}

async function instantiate(bytes, imports) {
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  return instance;
}

// The module's own imports restricted to what it asks for (others are ignored by V8).
async function runCompare(t) {
  const origBytes = readFileSync(t.orig), outBytes = readFileSync(t.out);
  const notes = [];
  // 1. reference: original module, synchronous imports
  const ref = [];
  for (const call of t.run) {
    const log = [], counters = { asyncCalls: 0 };
    const inst = await instantiate(origBytes, { env: makeEnv(log, 'sync', null, counters, t.syncImports) });
    if (inst.exports._initialize) inst.exports._initialize();
    let result;
    try { result = { value: norm(inst.exports[call[0]](...call.slice(1).map(parseArg))) }; } catch (e) { result = { threw: norm(e) }; }
    ref.push({ result, log, asyncCalls: counters.asyncCalls });
  }
  // 2. asyncified module, synchronous imports: never unwinds, must behave
  //    exactly like the original (the instrumented normal path)
  for (let i = 0; i < t.run.length; i++) {
    const call = t.run[i];
    const log = [];
    const inst = await instantiate(outBytes, { env: makeEnv(log, 'sync', null, null, t.syncImports) });
    if (inst.exports._initialize) inst.exports._initialize();
    let result;
    try { result = { value: norm(inst.exports[call[0]](...call.slice(1).map(parseArg))) }; } catch (e) { result = { threw: norm(e) }; }
    const what = `${call.join(' ')} (asyncified, synchronous imports)`;
    if (!isDeepStrictEqual(result, ref[i].result)) throw new Error(`${what}: result ${JSON.stringify(result)}, original gives ${JSON.stringify(ref[i].result)}`);
    if (!isDeepStrictEqual(log, ref[i].log)) throw new Error(`${what}: host log ${JSON.stringify(log)}, original gives ${JSON.stringify(ref[i].log)}`);
    if (inst.exports.asyncify_get_state() !== STATE_NORMAL) throw new Error(`${what}: state ${inst.exports.asyncify_get_state()} afterwards`);
  }
  // 3. asyncified module, asynchronous imports
  let totalUnwinds = 0, maxFrame = 0;
  for (let i = 0; i < t.run.length; i++) {
    const call = t.run[i];
    const log = [];
    let driver = null;
    const inst = await instantiate(outBytes, { env: makeEnv(log, 'async', () => driver, null, t.syncImports) });
    if (inst.exports._initialize) inst.exports._initialize();
    driver = new Driver(inst, { ...bufferOf(inst), mem64: !!t.memory64 });
    let result;
    try { result = { value: norm(await driver.call(call[0], ...call.slice(1).map(parseArg))) }; } catch (e) { result = { threw: norm(e) }; }
    const want = ref[i];
    const what = `${call.join(' ')}`;
    if (!isDeepStrictEqual(result, want.result)) throw new Error(`${what}: result ${JSON.stringify(result)}, original gives ${JSON.stringify(want.result)}`);
    if (!isDeepStrictEqual(log, want.log)) throw new Error(`${what}: host log ${JSON.stringify(log)}, original gives ${JSON.stringify(want.log)}`);
    if (driver.unwinds !== want.asyncCalls) throw new Error(`${what}: ${driver.unwinds} unwinds for ${want.asyncCalls} async host calls`);
    if (want.asyncCalls === 0 && !result.threw) notes.push(`${what}: no async call made`);
    totalUnwinds += driver.unwinds;
    maxFrame = Math.max(maxFrame, driver.maxFrameBytes);
  }
  if (totalUnwinds === 0) throw new Error('test never suspended (no async host call reached)');
  return `${t.run.length} calls, ${totalUnwinds} suspensions, max saved stack ${maxFrame} B${notes.length ? '; ' + notes.join('; ') : ''}`;
}

export { makeEnv, parseArg, instantiate };

export async function runChild(plan) {
  const { SCENARIOS } = await import('./custom.mjs');
  const major = Number(process.versions.node.split('.')[0]);
  const results = [];
  for (const t of plan.tests) {
    if (t.minNode && major < t.minNode) { results.push({ name: t.name, skipped: `needs Node ${t.minNode}` }); continue; }
    try {
      for (const f of [t.orig, t.out]) {
        if (!WebAssembly.validate(readFileSync(f))) {
          let why = '';
          try { new WebAssembly.Module(readFileSync(f)); } catch (e) { why = e.message; }
          throw new Error(`WebAssembly.validate(${f.endsWith('.async.wasm') ? 'output' : 'input'}) is false: ${why}`);
        }
      }
      const fn = t.scenario === 'compare' ? runCompare : SCENARIOS[t.scenario];
      if (!fn) throw new Error(`unknown scenario ${t.scenario}`);
      const note = await fn(t);
      results.push({ name: t.name, ok: true, note });
    } catch (e) {
      results.push({ name: t.name, ok: false, error: e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : String(e) });
    }
  }
  return results;
}
