// Example 09, shared by the page and Node: one module, every engine.
//
// The same plain sleep.wasm (examples/sleep/sleep.wat) goes through wasync's
// instantiate() in each mode this engine allows -- jspi and worker take it
// as it is; asyncify takes the output of `wasync asyncify` on it
// (sleep.async.wasm), since that mode needs an instrumented module. The
// async import answers through a Promise that is already resolved, so the
// timings show what a suspension costs in each mode, not a timer:
//   instantiate  -- instantiate() from bytes (compile, and start the worker)
//   first call   -- the first run(), which suspends once
//   per call     -- the mean of CALLS more run()s, one after the other
// The numbers are printed, never asserted (performance lives in bench/;
// on a busy machine they vary several-fold).
import { ms } from '../lib/out.mjs';

export const CALLS = 200;
const MODES = ['jspi', 'asyncify', 'worker'];

export async function run({ plain, instrumented, instantiate, supportedModes, print }) {
  const timings = [];
  const modes = {};
  for (const mode of MODES) {
    const bytes = mode === 'asyncify' ? instrumented : plain;
    const why = supportedModes(await WebAssembly.compile(bytes)).why[mode];
    if (why) {
      modes[mode] = { available: false, why };
      print(`${mode.padEnd(8)} unavailable: ${why}`);
      continue;
    }
    let before = 0;
    let after = 0;
    const imports = {
      env: {
        js_before: () => void before++,
        js_timeout: () => Promise.resolve(54321), // async: the call suspends
        js_after: (v) => void (after += v === 54321 ? 1 : 0),
      },
    };
    let t0 = performance.now();
    // sleep.wat's memory is one fixed page with no allocator: tell asyncify
    // mode where its unwind buffer may live (bytes 16..1024 are unused)
    const options = mode === 'asyncify' ? { mode, asyncify: { dataAddress: 16, dataSize: 1008 } } : { mode };
    const inst = await instantiate(bytes, imports, options);
    const instantiateMs = ms(t0);
    try {
      t0 = performance.now();
      const first = await inst.exports.run();
      const firstCallMs = ms(t0);
      let right = first === 54321 ? 1 : 0;
      t0 = performance.now();
      for (let i = 0; i < CALLS; i++) right += (await inst.exports.run()) === 54321 ? 1 : 0;
      const perCallUs = Math.round(((performance.now() - t0) * 1000) / CALLS);
      modes[mode] = { available: true, calls: CALLS + 1, right, before, after };
      timings.push({ mode, instantiateMs, firstCallMs, perCallUs });
      print(
        `${mode.padEnd(8)} instantiate ${instantiateMs} ms, first call ${firstCallMs} ms, ${CALLS} calls ${perCallUs} µs each; ${right} of ${CALLS + 1} returned 54321`,
      );
    } finally {
      inst.terminate();
    }
  }
  return { modes, timings };
}
