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
