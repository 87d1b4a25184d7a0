// Example 03, shared by the page and Node: the host side of callbacks.c.
// `sleep(ms)` starts a timer and returns at once; the timer calls the
// module's `sleep_callback` export, which runs the next piece. The host
// learns the end from `done(value)`. The event loop is watched the whole
// time (examples/lib/out.mjs): it never stops for long, unlike example 02.
import { watchLoop, ms } from '../lib/out.mjs';

export async function run({ bytes, print }) {
  let exports;
  let finish;
  const finished = new Promise((r) => (finish = r));
  const asked = []; // the pauses the module asked for
  const t0 = performance.now();
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: {
      sleep: (pause) => {
        asked.push(pause);
        print(`  sleep(${pause}): timer set, the module returns to the event loop`);
        setTimeout(() => exports.sleep_callback(), pause);
      },
      step: (n, value) => print(`step ${n}: value ${value} (at ${Math.round(ms(t0))} ms)`),
      done: (value) => finish(value),
    },
  });
  exports = instance.exports;
  const watch = watchLoop();
  exports.start();
  const value = await finished;
  const totalMs = ms(t0);
  const { maxGapMs } = await watch.stop();
  print(`done: ${value} after ${Math.round(totalMs)} ms; longest event-loop gap ${maxGapMs} ms -- the ${globalThis.document ? 'page' : 'process'} stayed responsive`);
  return { value, totalMs, maxGapMs, pauses: asked.length, pauseMs: Math.min(...asked) };
}
