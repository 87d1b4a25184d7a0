// What tests/examples/run.mjs checks for example 08 (the README says the same).
// Engines without JSPI (WebKit, Node 20) report {skip: reason}: skipped, with it.
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'JSPI today',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    const want = ['before', 'run() returned a Promise; the wasm stack is suspended in js_timeout', 'after 54321'];
    const got = lines.slice(1, 4);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (data.result !== 54321) throw new Error(`result ${data.result}, want 54321`);
    if (!(data.tookMs >= 100 - TIMER_SLACK_MS)) throw new Error(`finished after ${data.tookMs} ms, before the 100 ms timer`);
  },
};
