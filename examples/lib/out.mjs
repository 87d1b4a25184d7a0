// Output and measurement helpers shared by every gallery example, in the
// browser and in Node.
//
// An example's core (example.mjs) gets a `print` function and returns a plain
// data object. Its page (index.html) and its Node entry (node.mjs) wrap that
// core with `startPage` / `runNode` below, which is also how the tests read
// it: a page ends by setting
//   window.__example = { done: true, ok, lines, data, error }
// and `node node.mjs --json` ends with one line `__example {...}` carrying
// the same object. The lines are exactly what a reader sees (the page's
// <pre id="out"> and the console).

/** A printer that collects its lines and passes each one to `sink`. */
export function printer(sink) {
  const lines = [];
  const print = (...parts) => {
    const line = parts.map(String).join(' ');
    lines.push(line);
    sink(line);
  };
  return { print, lines };
}

/**
 * Watches the event loop: a 0 ms timer chain and, in browsers,
 * requestAnimationFrame. stop() -> {maxGapMs, ticks, frames} where maxGapMs
 * is the longest time between two timer turns -- how long the page (or the
 * Node process) could not react to anything.
 */
export function watchLoop() {
  let on = true;
  let last = performance.now();
  let maxGapMs = 0;
  let ticks = 0;
  let frames = 0;
  const tick = () => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    ticks++;
    if (on) setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
  const raf = globalThis.requestAnimationFrame;
  if (raf) {
    const frame = () => {
      frames++;
      if (on) raf(frame);
    };
    raf(frame);
  }
  return {
    /** Resolves after one more timer turn (so a gap at the very end is counted). */
    async stop() {
      await new Promise((r) => setTimeout(r, 0));
      tick();
      on = false;
      return { maxGapMs: Math.round(maxGapMs), ticks, frames };
    },
  };
}

export const ms = (t0) => Math.round((performance.now() - t0) * 10) / 10;

/**
 * How much earlier than asked a timer may seem to fire, as measured with
 * performance.now(): browsers coarsen the clock (Firefox: 1 ms) and may run
 * a timer a little early. Tests that check "not before the timer" allow it.
 */
export const TIMER_SLACK_MS = 5;

/**
 * The wasync modes each engine allows, as the tests expect them (pages are
 * served cross-origin isolated, so worker mode is there in every browser).
 */
export const ENGINE_MODES = {
  node20: ['asyncify', 'worker'],
  node26: ['jspi', 'asyncify', 'worker'],
  chromium: ['jspi', 'asyncify', 'worker'],
  firefox: ['jspi', 'asyncify', 'worker'],
  webkit: ['asyncify', 'worker'],
};
