// Example 02, shared by the page and Node: a busy-wait sleep freezes its
// thread. We watch the event loop (examples/lib/out.mjs watchLoop: a 0 ms
// timer chain, and requestAnimationFrame in browsers) while the module spins
// for SLEEP_MS, and report the longest gap between two timer turns: nothing
// else could run -- no timers, no input, no painting -- for that long.
import { watchLoop, ms } from '../lib/out.mjs';

export const SLEEP_MS = 1000;

export async function run({ bytes, print }) {
  const { instance } = await WebAssembly.instantiate(bytes, { env: { now: () => performance.now() } });
  const watch = watchLoop();
  await new Promise((r) => setTimeout(r, 100)); // let the watcher settle
  const t0 = performance.now();
  const reads = instance.exports.sleep(SLEEP_MS);
  const sleptMs = ms(t0);
  const { maxGapMs, frames } = await watch.stop();
  print(`sleep(${SLEEP_MS}) spun for ${Math.round(sleptMs)} ms, reading the clock ${reads} times`);
  print(`longest event-loop gap meanwhile: ${maxGapMs} ms -- the ${globalThis.document ? 'page' : 'process'} was frozen for the whole sleep`);
  return { sleepMs: SLEEP_MS, sleptMs, maxGapMs, frames, reads };
}
