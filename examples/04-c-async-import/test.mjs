// What tests/examples/run.mjs checks for example 04 (the README says the same).
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'C with an async import (emcc -sASYNCIFY)',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    const want = ['-- sleep.c built with emcc -sASYNCIFY (Emscripten 3.1.6)', 'before', 'after 54321'];
    const got = lines.slice(0, 3);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`lines: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    if (data.result !== 54321) throw new Error(`run() resolved to ${data.result}, want 54321`);
    if (!(data.tookMs >= 100 - TIMER_SLACK_MS)) throw new Error(`run() resolved after ${data.tookMs} ms, before the 100 ms timer`);
  },
};
