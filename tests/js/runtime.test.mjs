// node --test suite for the wasync runtime (js/): every scenario of
// scenarios.mjs in every mode this engine supports (Node 20: asyncify and
// worker; Node >= 25 with JSPI: all three). Fixtures: scripts/test-js.sh.
import { test } from 'node:test';
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiate, supportedModes } from '../../js/index.js';
import { scenarios } from './scenarios.mjs';
import { tracked } from './harness.mjs';

const fixtures = fileURLToPath(new URL('../../build/js-fixtures/', import.meta.url));
if (!existsSync(`${fixtures}app.wasm`)) throw new Error('fixtures missing: run scripts/test-js.sh --build-only');
const load = (name) => readFileSync(fixtures + name);

// Each scenario is bounded by TIMEOUT, and every instance it made is
// terminated after it (tracked), so nothing of it keeps the process alive.
const TIMEOUT = 20000;
const { modes, why } = supportedModes(null);
for (const mode of ['jspi', 'asyncify', 'worker']) {
  // asyncify needs an instrumented module, which every fixture has in its .async.wasm
  const skip = mode !== 'asyncify' && !modes.includes(mode) ? why[mode] : false;
  for (const [name, run] of Object.entries(scenarios)) {
    test(`${mode}: ${name}`, { skip, timeout: TIMEOUT }, async (t) => {
      const r = await run({ instantiate: tracked(t, instantiate), mode, load, note: (m) => t.diagnostic(m) });
      if (r === 'skip') t.skip('not applicable in this mode');
    });
  }
}

// worker mode's fallback for engines without Atomics.waitAsync: every request by postMessage
if (modes.includes('worker')) {
  const slow = (src, imps, opts) => instantiate(src, imps, { ...opts, worker: { ...opts?.worker, fast: false } });
  for (const [name, run] of Object.entries(scenarios)) {
    test(`worker (postMessage path): ${name}`, { timeout: TIMEOUT }, async (t) => {
      const r = await run({ instantiate: tracked(t, slow), mode: 'worker', load });
      if (r === 'skip') t.skip('not applicable in this mode');
    });
  }
}
