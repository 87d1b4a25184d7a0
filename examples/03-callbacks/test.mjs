// What tests/examples/run.mjs checks for example 03 (the README says the same).
import { TIMER_SLACK_MS } from '../lib/out.mjs';

export default {
  title: 'Callbacks: the work split by hand',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    if (data.value !== 123) throw new Error(`result ${data.value}, want 123 (steps 1, 2, 3)`);
    const steps = lines.map((l) => /^step (\d): value (\d+) /.exec(l)?.slice(1).join('=')).filter(Boolean);
    if (steps.join(' ') !== '1=1 2=12 3=123') throw new Error(`steps (n=value): ${steps.join(' ')}, want 1=1 2=12 3=123`);
    if (data.pauses !== 2) throw new Error(`${data.pauses} sleeps, want 2`);
    const waited = data.pauses * data.pauseMs;
    if (!(data.totalMs >= waited - TIMER_SLACK_MS)) throw new Error(`finished after ${data.totalMs} ms, before its ${waited} ms of timers`);
    // responsive: never blocked for a whole pause (a busy wait would block for >= one pause)
    if (!(data.maxGapMs < data.pauseMs)) throw new Error(`event loop blocked for ${data.maxGapMs} ms (>= one ${data.pauseMs} ms pause)`);
  },
};
