// What tests/examples/run.mjs checks for example 07 (the README says the same).
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'QuickJS: promise jobs and a value_return callback',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    const sleepLine = 'host: sleep(100) -> a guest Promise, resolved by a host timer';
    const want = [
      'guest: main() starts',
      sleepLine,
      'host: evalCode returned; the guest is waiting on its promise',
      'guest: slept 100 ms',
      sleepLine,
      'guest: slept another 100 ms',
    ];
    const got = lines.slice(0, want.length);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (data.value !== 42) throw new Error(`value_return(${JSON.stringify(data.value)}), want 42`);
    if (!(data.tookMs >= 200 - 2 * TIMER_SLACK_MS)) throw new Error(`finished after ${data.tookMs} ms, before its two 100 ms timers`);
  },
};
