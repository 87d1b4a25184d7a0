// What tests/examples/run.mjs checks for example 07b (the README says the same).
import { TIMER_SLACK_MS, ENGINE_MODES } from '../lib/out.mjs';

const sleepLines = (n) => [
  "host: sleep(100) -> a host Promise; the guest's stack is suspended",
  'host: a 50 ms timer ran while the guest waited',
  n === 1 ? 'guest: slept 100 ms' : 'guest: slept another 100 ms',
];

export default {
  title: 'QuickJS: await vm.evalAsync(...) in every mode',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }, where) {
    const available = ['jspi', 'asyncify', 'worker'].filter((m) => data.modes[m]?.available);
    if (available.join() !== ENGINE_MODES[where].join()) throw new Error(`modes ${available.join(', ')}; want ${ENGINE_MODES[where].join(', ')} in ${where}`);
    const want = [];
    for (const mode of ['jspi', 'asyncify', 'worker']) {
      const m = data.modes[mode];
      want.push(`-- mode ${mode}: const value = await vm.evalAsync(guest.js)`);
      if (!m.available) {
        if (!m.why) throw new Error(`${mode}: unavailable without a reason`);
        want.push(`skipped: ${m.why}`);
        continue;
      }
      if (m.value !== 42) throw new Error(`${mode}: evalAsync resolved to ${JSON.stringify(m.value)}, want 42`);
      if (!(m.tookMs >= 200 - 2 * TIMER_SLACK_MS)) throw new Error(`${mode}: evalAsync resolved after ${m.tookMs} ms, before its two 100 ms sleeps`);
      want.push('guest: starts', ...sleepLines(1), ...sleepLines(2), `value = 42 (${mode}, after ${Math.round(m.tookMs)} ms)`);
    }
    if (JSON.stringify(lines) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(lines)}, want ${JSON.stringify(want)}`);
  },
};
