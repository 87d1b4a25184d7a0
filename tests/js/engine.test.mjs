// node --test: tuneEngine() (js/engine.js) -- what it sets on which engine,
// once per process, and that instantiate() applies it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { tuneEngine, hasHugeFunctionFallback } from '../../js/engine.js';

const FLAG = '--no-turbo-use-mid-tier-regalloc-for-huge-functions';
const index = new URL('../../js/index.js', import.meta.url).href;

test('the fallback is detected from the V8 version', () => {
  const [major, minor] = process.versions.v8.split('.').map(Number);
  assert.equal(hasHugeFunctionFallback(), major < 11 || (major === 11 && minor < 6));
});

test('tuneEngine() sets the flag exactly where the fallback exists, once', async () => {
  const a = await tuneEngine();
  const b = await tuneEngine();
  assert.equal(a, b, 'the second call returns the first result');
  assert.equal(typeof a.reason, 'string');
  assert.deepEqual(a.applied, hasHugeFunctionFallback() ? [FLAG] : []);
});

test('instantiate() applies it unless tuneEngine: false', () => {
  // A fresh process for each case: the flag and the once-only state are
  // process-wide.
  const engine = new URL('../../js/engine.js', import.meta.url).href;
  const src = (opt) => `
    import { instantiate } from ${JSON.stringify(index)};
    import { engineTuned } from ${JSON.stringify(engine)};
    const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
    const before = engineTuned();
    await instantiate(empty, {}, { mode: 'asyncify', ${opt} }).catch(() => {});
    console.log(JSON.stringify({ before, after: engineTuned() }));`;
  for (const [opt, want] of [['', true], ['tuneEngine: false', false]]) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', src(opt)], { encoding: 'utf8', timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.trim().split('\n').pop()), { before: false, after: want }, opt || 'default');
  }
});
