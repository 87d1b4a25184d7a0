// Node.js built-ins, reached so that bundlers leave them alone.
//
// The runtime runs in Node and in browsers from the same files. Where it
// needs a Node built-in (reading a file: path, starting a worker_thread,
// setting a V8 flag) it asks for it at run time, by a name in a variable:
// process.getBuiltinModule where Node has it (20.16+), else import(name).
// A bundler targeting browsers then finds no `node:` import to resolve and
// needs no --external flags; in a browser these paths are never taken.

/** True in Node.js (not in a browser, even one with a `process` shim). */
export function isNode() {
  return typeof process === 'object' && typeof process.versions?.node === 'string' && typeof window === 'undefined';
}

/** The Node built-in module `name` ('node:fs/promises', ...). */
export async function nodeModule(name) {
  if (typeof process === 'object' && typeof process.getBuiltinModule === 'function') return process.getBuiltinModule(name);
  const specifier = name; // not a literal: bundlers must not try to resolve it
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}
