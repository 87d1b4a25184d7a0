// Example 05, shared by the page and Node: Binaryen-style Asyncify by hand.
//
// The module is examples/sleep/sleep.wat (run calls js_before, js_timeout(100),
// js_after) after `wasync asyncify` (examples/build.sh). Two drivers run it:
//   - the classic loop as it is widely copied: it restarts the export after
//     each unwind but never returns anything, so the caller gets
//     `undefined` (and returning the first call's value would be no better:
//     that call unwound, its value is a dummy);
//   - examples/sleep/callAsyncWasm.mjs, whose loop keeps the value of the
//     last call (the one that ran to the end) and returns it.
// Both print the imports' before/after; the text of the module before and
// after instrumentation is counted here and shown side by side on the page.
import { AsyncifyDriver, callAsyncWasm } from '../sleep/callAsyncWasm.mjs';
import { ms } from '../lib/out.mjs';

const UNWINDING = 1;

/** The classic loop -- and its bug: the export's result never comes back. */
async function classicCall(bytes, print) {
  const driver = new AsyncifyDriver();
  const env = {
    js_before: () => print('before'),
    js_timeout: driver.wrapImport((t) => new Promise((resolve) => setTimeout(() => resolve(54321), t))),
    js_after: (v) => print(`after ${v}`),
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  driver.instance = instance;
  const ex = instance.exports;
  ex.run();
  while (ex.asyncify_get_state() === UNWINDING) {
    ex.asyncify_stop_unwind();
    driver.value = await driver.pending;
    ex.asyncify_start_rewind(driver.dataAddr);
    ex.run(); // <- the bug: the call that runs to the end returns the result; it is dropped
  }
}

export async function run({ bytes, texts, print }) {
  print('-- the classic loop, as widely copied');
  const classic = await classicCall(bytes, print);
  print(`returned: ${classic} (the result of the call that finished was dropped)`);

  print('-- the loop fixed (examples/sleep/callAsyncWasm.mjs)');
  const t0 = performance.now();
  const fixed = await callAsyncWasm(bytes, 'run', print);
  const tookMs = ms(t0);
  print(`returned: ${fixed} (after a real ${Math.round(tookMs)} ms setTimeout wait)`);

  const count = (text, re) => (text.match(re) ?? []).length;
  const original = texts.original.split('\n').length;
  const instrumented = texts.instrumented.split('\n').length;
  const stateRefs = count(texts.instrumented, /global\.[gs]et \$__asyncify_state/g);
  print(`text of the module: ${original} lines before \`wasync asyncify\`, ${instrumented} after; __asyncify_state read or written ${stateRefs} times`);
  return { classic: String(classic), fixed, tookMs, original, instrumented, stateRefs, exports: count(texts.instrumented, /\(export "asyncify_/g) };
}
