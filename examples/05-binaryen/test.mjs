// What tests/examples/run.mjs checks for example 05 (the README says the same).
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'Binaryen-style Asyncify by hand',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    const want = [
      '-- the classic loop, as widely copied',
      'before',
      'after 54321',
      "returned: undefined (the result of the call that finished was dropped)",
      '-- the loop fixed (examples/sleep/callAsyncWasm.mjs)',
      'before',
      'after 54321',
    ];
    const got = lines.slice(0, want.length);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (data.fixed !== 54321) throw new Error(`the fixed loop returned ${data.fixed}, want 54321`);
    if (!(data.tookMs >= 100 - TIMER_SLACK_MS)) throw new Error(`returned after ${data.tookMs} ms, before the 100 ms timer`);
    if (!(data.stateRefs > 0) || data.exports !== 5) throw new Error(`instrumented text: ${data.stateRefs} __asyncify_state uses, ${data.exports} asyncify_* exports (want > 0 and 5)`);
    if (!(data.instrumented > data.original)) throw new Error('the instrumented text is not longer than the original');
  },
};
