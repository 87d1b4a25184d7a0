// Shared set-up of the node:test files: every test is bounded (TIMEOUT) and
// every instance a test makes is terminated after it, pass or fail, so that a
// failing or hanging call can neither hang the file nor keep a worker alive.
import { test as nodeTest, afterEach } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { instantiate as wasyncInstantiate } from '../../js/index.js';

export const TIMEOUT = 30000;
export const test = (name, fn) => nodeTest(name, { timeout: TIMEOUT }, fn);
const live = new Set();
export const instantiate = async (...args) => {
  const inst = await wasyncInstantiate(...args);
  live.add(inst);
  return inst;
};
afterEach(() => {
  for (const inst of live) inst.terminate();
  live.clear();
});

export const dir = fileURLToPath(new URL('../../build/js-fixtures/', import.meta.url));
export const bytes = (n) => readFileSync(dir + n);

/**
 * For node:test tests that run scenarios: `instantiate0` wrapped so that
 * every instance made in test `t` is terminated after it, pass, fail or
 * timeout (its pending calls aborted, its worker stopped).
 */
export function tracked(t, instantiate0) {
  const made = [];
  t.after(() => {
    for (const inst of made) inst.terminate();
  });
  return async (...args) => {
    const inst = await instantiate0(...args);
    made.push(inst);
    return inst;
  };
}
