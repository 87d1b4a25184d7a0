// Node side of examples/lib/out.mjs: runs an example's core, prints its lines
// and, with --json, one last line `__example {...}` for the gallery tests.
import { readFileSync } from 'node:fs';
import { printer } from './out.mjs';

export const root = new URL('../../', import.meta.url);

/** Reads a file relative to the repository root, with a clear error. */
export function readBuilt(rel) {
  try {
    return readFileSync(new URL(rel, root));
  } catch {
    throw new Error(`wasync: ${rel} is missing -- build the examples first: examples/build.sh`);
  }
}

export async function runNode(main) {
  const json = process.argv.includes('--json');
  const { print, lines } = printer((line) => console.log(line));
  let result;
  try {
    result = { done: true, ok: true, lines, data: (await main(print)) ?? {} };
  } catch (e) {
    console.error(`error: ${e?.message ?? e}`);
    result = { done: true, ok: false, lines, data: {}, error: String(e?.stack ?? e) };
    process.exitCode = 1;
  }
  if (json) console.log(`__example ${JSON.stringify(result)}`);
}
