// What tests/examples/run.mjs checks for example 06 (the README says the same).
// Browser only: the hand-made part uses the browsers' Worker API (wasync's
// worker mode itself runs in Node too: see 09).
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'Workers, SharedArrayBuffer, Atomics.wait/notify',
  page: 'index.html',
  node: [],
  check({ lines, data }) {
    // the guest's lines in order; the host's line comes from another thread,
    // so it may reach the page just before or just after the guest wakes
    const host = 'host: 100 ms timer fired, storing 54321 and calling Atomics.notify';
    const want = [
      '-- by hand: guest worker + host worker + SharedArrayBuffer',
      'guest: before',
      'guest: js_timeout(100) asked the host, blocking in Atomics.wait',
      'guest: after 54321',
    ];
    const hostAt = lines.indexOf(host);
    if (!(hostAt === 3 || hostAt === 4)) throw new Error(`no "${host}" after the guest blocked`);
    const got = lines.slice(0, 5).filter((l) => l !== host);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    const tail = lines.slice(6, 9);
    if (JSON.stringify(tail) !== JSON.stringify(["-- the same with wasync: instantiate(bytes, imports, { mode: 'worker' })", 'before', 'after 54321']))
      throw new Error(`wasync part: ${JSON.stringify(tail)}`);
    if (data.manual !== 54321 || data.viaWasync !== 54321) throw new Error(`results ${data.manual} / ${data.viaWasync}, want 54321`);
    if (!(Math.min(data.manualMs, data.wasyncMs) >= 100 - TIMER_SLACK_MS)) throw new Error('finished before the 100 ms timer');
    // the page kept running while the guests waited (a blocked page runs no
    // timer at all; a free one runs one every few ms over the >= 200 ms)
    if (!(data.ticks >= 10)) throw new Error(`the page ran only ${data.ticks} timer turns during both runs (two 100 ms waits)`);
  },
};
