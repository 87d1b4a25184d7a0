// What tests/examples/run.mjs checks for example 04 (the README says the same).
import { TIMER_SLACK_MS, ENGINE_MODES } from '../lib/out.mjs';

function same(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}
function afterTimer(tookMs, what) {
  if (!(tookMs >= 100 - TIMER_SLACK_MS)) throw new Error(`${what} resolved after ${tookMs} ms, before the 100 ms timer`);
}

export default {
  title: 'C with an async import (emcc -sASYNCIFY, and wasync cc)',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }, where) {
    // the Emscripten half: its three lines, then ccall's result
    let at = 4;
    if (data.emscripten.skip) {
      // no emcc when the examples were built: said on the page, the rest is checked
      same(lines.slice(0, 2), ['-- sleep.c built with emcc -sASYNCIFY (Emscripten 3.1.6)', `skipped: ${data.emscripten.skip}`], 'lines');
      at = 2;
    } else {
      same(lines.slice(0, 3), ['-- sleep.c built with emcc -sASYNCIFY (Emscripten 3.1.6)', 'before', 'after 54321'], 'lines');
      if (data.emscripten.result !== 54321) throw new Error(`ccall run() resolved to ${data.emscripten.result}, want 54321`);
      afterTimer(data.emscripten.tookMs, 'ccall run()');
    }
    // the wasync half: every mode the engine allows, each printing the C
    // program's two lines and run()'s result
    same(lines[at++], '-- the same sleep.c built with wasync cc (WASYNC_ASYNC_JS), through instantiate()', 'line');
    const available = ['jspi', 'asyncify', 'worker'].filter((m) => data.modes[m]?.available);
    same(available, ENGINE_MODES[where], `modes in ${where}`);
    for (const mode of ['jspi', 'asyncify', 'worker']) {
      const m = data.modes[mode];
      if (!m.available) {
        if (!m.why) throw new Error(`${mode}: unavailable without a reason`);
        same(lines[at++], `${mode}: unavailable: ${m.why}`, 'line');
        continue;
      }
      same(lines.slice(at, at + 2), [`${mode}: before`, `${mode}: after 54321`], 'lines');
      at += 2;
      if (m.result !== 54321) throw new Error(`${mode}: run() resolved to ${m.result}, want 54321`);
      afterTimer(m.tookMs, `${mode}: run()`);
      if (!lines[at++].startsWith(`${mode}: run() resolved to 54321 after `)) throw new Error(`line ${at}: ${lines[at - 1]}`);
    }
    if (lines.length !== at) throw new Error(`${lines.length - at} lines more than expected: ${JSON.stringify(lines.slice(at))}`);
  },
};
