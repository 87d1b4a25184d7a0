// Example 08, shared by the page and Node: JSPI as engines ship it today.
// The module is the plain, unmodified sleep.wasm (examples/sleep/sleep.wat):
// no instrumentation, no suspender parameter, no wrapper functions. The async
// import is wrapped in `new WebAssembly.Suspending(fn)`, the export in
// `WebAssembly.promising(fn)`; calling the export returns a Promise, and when
// the import's Promise is pending the engine suspends the whole wasm stack.
import { watchLoop, ms } from '../lib/out.mjs';

export const NO_JSPI = 'this engine has no JSPI (WebAssembly.Suspending / WebAssembly.promising)';

export async function run({ bytes, print }) {
  print(`old API (2022-23): WebAssembly.Function is ${typeof WebAssembly.Function}`);
  if (typeof WebAssembly.Suspending !== 'function' || typeof WebAssembly.promising !== 'function') {
    print(`skipped: ${NO_JSPI}`);
    return { skip: NO_JSPI };
  }
  const env = {
    js_before: () => print('before'),
    js_timeout: new WebAssembly.Suspending(async (t) => {
      await new Promise((resolve) => setTimeout(resolve, t));
      return 54321;
    }),
    js_after: (v) => print(`after ${v}`),
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env });
  const runAsync = WebAssembly.promising(instance.exports.run);
  const watch = watchLoop();
  const t0 = performance.now();
  const pending = runAsync();
  print(`run() returned a ${pending instanceof Promise ? 'Promise' : typeof pending}; the wasm stack is suspended in js_timeout`);
  const result = await pending;
  const tookMs = ms(t0);
  const { maxGapMs } = await watch.stop();
  print(`result ${result} after ${Math.round(tookMs)} ms (longest event-loop gap meanwhile: ${maxGapMs} ms)`);
  return { result, tookMs, maxGapMs };
}
