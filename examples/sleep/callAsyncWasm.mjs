// callAsyncWasm.mjs -- the classic hand-written asyncify driver.
//
// An asyncified module exports asyncify_{start,stop}_{unwind,rewind} and
// asyncify_get_state.  When an async import is called in state 0 (normal) it
// starts its real work (a Promise), asks the module to unwind into the data
// buffer and returns a dummy value; every instrumented function on the stack
// saves its live state and returns.  The driver then stops the unwind, waits
// for the Promise, starts a rewind from the same buffer and calls the export
// again with the same arguments: the functions restore their state and
// re-enter the import, which now sees state 2 (rewinding), stops the rewind
// and returns the real value.
//
// The data buffer is the pair {i32 pos, i32 end} at DATA_ADDR; the frames are
// written from pos upwards and must not reach end.
//
// Usage as a program:  node callAsyncWasm.mjs sleep.async.wasm
// (Also imported by browser pages: examples/05-binaryen; Node modules are
// loaded only when run as a program.)

const STATE_NORMAL = 0, STATE_UNWINDING = 1, STATE_REWINDING = 2;

export class AsyncifyDriver {
  // dataAddr: where {pos, end} lives; the frames follow it up to dataEnd.
  constructor({ dataAddr = 16, dataEnd = 1024 } = {}) {
    this.dataAddr = dataAddr;
    this.dataEnd = dataEnd;
    this.instance = null;
    this.pending = null; // the Promise the unwound stack waits for
    this.value = undefined; // its result, handed back during the rewind
  }

  // Wraps an async JS function (returning a Promise) as a wasm import.
  wrapImport(fn) {
    return (...args) => {
      const ex = this.instance.exports;
      if (ex.asyncify_get_state() === STATE_REWINDING) {
        // Second visit: the stack is rebuilt; hand back the awaited value.
        ex.asyncify_stop_rewind();
        return this.value;
      }
      // First visit: start the work and unwind the stack.
      this.pending = fn(...args);
      this.initData();
      ex.asyncify_start_unwind(this.dataAddr);
      return 0; // ignored: the caller is unwinding
    };
  }

  initData() {
    const view = new DataView(this.instance.exports.memory.buffer);
    view.setUint32(this.dataAddr, this.dataAddr + 8, true); // pos
    view.setUint32(this.dataAddr + 4, this.dataEnd, true); // end
  }

  // Calls an export and returns (a Promise of) its result.
  async call(name, ...args) {
    const ex = this.instance.exports;
    let result = ex[name](...args);
    while (ex.asyncify_get_state() === STATE_UNWINDING) {
      ex.asyncify_stop_unwind();
      this.value = await this.pending;
      this.pending = null;
      ex.asyncify_start_rewind(this.dataAddr);
      result = ex[name](...args);
    }
    if (ex.asyncify_get_state() !== STATE_NORMAL) throw new Error('asyncify: bad state after call');
    return result;
  }
}

// Instantiates `bytes` with the sleep demo's imports and runs `run`.
export async function callAsyncWasm(bytes, exportName = 'run', print = console.log) {
  const driver = new AsyncifyDriver();
  const env = {
    js_before: () => print('before'),
    js_timeout: driver.wrapImport(
      (ms) => new Promise((resolve) => setTimeout(() => resolve(54321), ms))),
    js_after: (v) => print(`after ${v}`),
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  driver.instance = instance;
  return driver.call(exportName);
}

const { pathToFileURL } = globalThis.process?.argv?.[1] ? await import('node:url') : {};
if (pathToFileURL && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { readFileSync } = await import('node:fs');
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node callAsyncWasm.mjs MODULE.wasm');
    process.exit(2);
  }
  const result = await callAsyncWasm(readFileSync(file));
  console.log(`result ${result}`);
}
