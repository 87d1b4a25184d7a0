// A persistent in-memory file system for browsers: a MemoryFS loaded from
// IndexedDB when opened and written back by save() -- which WASI.start()
// calls when the program ends (exit or return). One record per name, in the
// database "wasync-wasi", store "fs". The guest works on memory at memory
// speed; persistence is a snapshot at exit, so two tabs writing the same name
// keep the last save.

import { MemoryFS } from './fs-memory.js';

const DB = 'wasync-wasi';
const STORE = 'fs';

function db() {
  if (typeof indexedDB === 'undefined') return Promise.reject(new Error('wasync: persistentFS needs IndexedDB (a browser)'));
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`wasync: cannot open IndexedDB ${DB}: ${req.error?.message}`));
  });
}
function run(mode, fn) {
  return db().then(
    (d) =>
      new Promise((resolve, reject) => {
        const tx = d.transaction(STORE, mode);
        const req = fn(tx.objectStore(STORE));
        tx.oncomplete = () => {
          d.close();
          resolve(req.result);
        };
        tx.onerror = tx.onabort = () => {
          d.close();
          reject(new Error(`wasync: IndexedDB ${mode} failed: ${tx.error?.message}`));
        };
      }),
  );
}

/**
 * persistentFS(name, initialTree) -> Promise<MemoryFS> with save() and
 * clear(): the tree saved under `name`, or `initialTree` the first time.
 * Pass it as a preopen: `preopens: {'/home': await persistentFS('home')}`.
 */
export async function persistentFS(name, initialTree = {}) {
  const saved = await run('readonly', (s) => s.get(name));
  const fs = new MemoryFS(saved ? {} : initialTree);
  if (saved) fs.restore(saved.map((e) => ({ ...e, atim: BigInt(e.atim), mtim: BigInt(e.mtim) })));
  fs.save = () => run('readwrite', (s) => s.put(fs.snapshot().map((e) => ({ ...e, atim: String(e.atim), mtim: String(e.mtim) })), name));
  fs.clear = () => run('readwrite', (s) => s.delete(name));
  return fs;
}
