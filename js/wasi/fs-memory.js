// The in-memory file system: a tree of directories, files and symlinks built
// from a plain object such as {'/data/a.txt': 'text', '/img.png': new URL(...)}.
// Values: a string (UTF-8), bytes, a URL or a Response (fetched/read lazily
// the first time the file is opened or stat'ed), null or {} for a directory.
//
// The backend interface shared with fs-host.js: every method takes `parts`,
// the already-resolved path components below the preopen's root (index.js
// resolves `.`, `..` and symlinks, so a backend never sees an escape). The
// last component may itself be a symlink (lstat semantics).

import { E, FILETYPE, fail } from './constants.js';

const enc = new TextEncoder();
let nextIno = 1n;
const now = () => BigInt(Date.now()) * 1000000n;

function node(kind, extra) {
  const t = now();
  return { kind, ino: nextIno++, nlink: 1n, atim: t, mtim: t, ctim: t, ...extra };
}
const TYPE = { dir: FILETYPE.DIRECTORY, file: FILETYPE.REGULAR_FILE, symlink: FILETYPE.SYMBOLIC_LINK };

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;
}

// duck-typed: reading the global `Response` makes Node 20 load its fetch
// implementation (~100 ms) even when no file uses one
const isResponse = (v) => v !== null && typeof v === 'object' && typeof v.arrayBuffer === 'function' && 'ok' in v && 'status' in v;

function fileFrom(value) {
  if (typeof value === 'string') return node('file', { data: enc.encode(value) });
  if (value instanceof Uint8Array) return node('file', { data: value.slice() });
  if (value instanceof ArrayBuffer) return node('file', { data: new Uint8Array(value.slice(0)) });
  if (ArrayBuffer.isView(value))
    return node('file', { data: new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength)) });
  if (value instanceof URL || isResponse(value)) {
    const src = value;
    return node('file', {
      data: new Uint8Array(0),
      lazy: async () => {
        const res = src instanceof URL ? await fetch(src) : src;
        if (!res.ok) throw new Error(`wasync: fetching ${res.url || src} for the WASI file system failed: ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    });
  }
  throw new TypeError('wasync: a WASI in-memory file must be a string, bytes, a URL, a Response, or null/{} for a directory');
}

export class MemoryFS {
  /** tree: {'path/in/fs': value, ...} (leading '/' optional). */
  constructor(tree = {}) {
    this.dev = 1n;
    this.root = node('dir', { entries: new Map() });
    this.#add(this.root, tree);
  }

  #add(dir, tree) {
    for (const [path, value] of Object.entries(tree)) {
      const parts = path.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.includes('..')) throw new TypeError(`wasync: '..' in WASI file system path '${path}'`);
      let d = dir;
      const dirOnly = value === null || isPlainObject(value) || path.endsWith('/');
      const upto = dirOnly ? parts.length : parts.length - 1;
      for (let i = 0; i < upto; i++) {
        let n = d.entries.get(parts[i]);
        if (!n) d.entries.set(parts[i], (n = node('dir', { entries: new Map() })));
        if (n.kind !== 'dir') throw new TypeError(`wasync: WASI file system path '${path}' goes through a file`);
        d = n;
      }
      if (dirOnly) {
        if (isPlainObject(value)) this.#add(d, value);
      } else d.entries.set(parts[parts.length - 1], fileFrom(value));
    }
  }

  #get(parts) {
    let n = this.root;
    for (const p of parts) {
      if (n.kind !== 'dir') fail(E.NOTDIR);
      n = n.entries.get(p);
      if (!n) fail(E.NOENT);
    }
    return n;
  }
  #parent(parts) {
    if (parts.length === 0) fail(E.BUSY);
    const d = this.#get(parts.slice(0, -1));
    if (d.kind !== 'dir') fail(E.NOTDIR);
    return [d, parts[parts.length - 1]];
  }

  #stat(n) {
    return {
      dev: this.dev, ino: n.ino, filetype: TYPE[n.kind], nlink: n.nlink,
      size: BigInt(n.kind === 'file' ? n.data.length : n.kind === 'symlink' ? enc.encode(n.target).length : 4096),
      atim: n.atim, mtim: n.mtim, ctim: n.ctim,
    };
  }

  /** Loads a lazily fetched file (returns a Promise then, else undefined). */
  prepare(parts) {
    let n;
    try {
      n = this.#get(parts);
    } catch {
      return undefined;
    }
    if (!n.lazy) return undefined;
    const load = n.lazy;
    n.lazy = null;
    return (n.loading = load().then(
      (data) => {
        n.data = data;
        n.loading = null;
      },
      (e) => {
        n.lazy = load;
        n.loading = null;
        throw e;
      },
    ));
  }
  pending(parts) {
    try {
      const n = this.#get(parts);
      return n.loading ?? (n.lazy ? this.prepare(parts) : undefined);
    } catch {
      return undefined;
    }
  }

  lstat(parts) {
    return this.#stat(this.#get(parts));
  }
  readlink(parts) {
    const n = this.#get(parts);
    if (n.kind !== 'symlink') fail(E.INVAL);
    return n.target;
  }
  open(parts, { create, excl, trunc, directory, write }) {
    let n;
    try {
      n = this.#get(parts);
    } catch (e) {
      if (!create || e.errno !== E.NOENT) throw e;
    }
    if (n && create && excl) fail(E.EXIST);
    if (!n) {
      const [d, name] = this.#parent(parts);
      if (directory) fail(E.NOENT);
      d.entries.set(name, (n = node('file', { data: new Uint8Array(0) })));
      d.mtim = d.ctim = now();
    }
    if (n.kind === 'symlink') fail(E.LOOP);
    if (directory && n.kind !== 'dir') fail(E.NOTDIR);
    if (n.kind === 'dir' && write) fail(E.ISDIR);
    if (trunc) {
      if (n.kind === 'dir') fail(E.ISDIR);
      n.data = new Uint8Array(0);
      n.mtim = n.ctim = now();
    }
    return new MemoryHandle(this, n);
  }
  mkdir(parts) {
    const [d, name] = this.#parent(parts);
    if (d.entries.has(name)) fail(E.EXIST);
    d.entries.set(name, node('dir', { entries: new Map() }));
    d.mtim = d.ctim = now();
  }
  rmdir(parts) {
    const [d, name] = this.#parent(parts);
    const n = d.entries.get(name);
    if (!n) fail(E.NOENT);
    if (n.kind !== 'dir') fail(E.NOTDIR);
    if (n.entries.size) fail(E.NOTEMPTY);
    d.entries.delete(name);
    d.mtim = d.ctim = now();
  }
  unlink(parts) {
    const [d, name] = this.#parent(parts);
    const n = d.entries.get(name);
    if (!n) fail(E.NOENT);
    if (n.kind === 'dir') fail(E.ISDIR);
    d.entries.delete(name);
    n.nlink--;
    d.mtim = d.ctim = now();
  }
  symlink(target, parts) {
    const [d, name] = this.#parent(parts);
    if (d.entries.has(name)) fail(E.EXIST);
    d.entries.set(name, node('symlink', { target }));
  }
  link(from, to) {
    const n = this.#get(from);
    if (n.kind === 'dir') fail(E.PERM);
    const [d, name] = this.#parent(to);
    if (d.entries.has(name)) fail(E.EXIST);
    d.entries.set(name, n);
    n.nlink++;
  }
  rename(from, to) {
    const [sd, sname] = this.#parent(from);
    const n = sd.entries.get(sname);
    if (!n) fail(E.NOENT);
    const [dd, dname] = this.#parent(to);
    const old = dd.entries.get(dname);
    if (old === n) return;
    if (n.kind === 'dir') {
      // a directory may not move below itself
      for (let i = 0; i < to.length - 1; i++) if (this.#get(to.slice(0, i + 1)) === n) fail(E.INVAL);
      if (old && old.kind !== 'dir') fail(E.NOTDIR);
      if (old && old.entries.size) fail(E.NOTEMPTY);
    } else if (old && old.kind === 'dir') fail(E.ISDIR);
    sd.entries.delete(sname);
    dd.entries.set(dname, n);
    sd.mtim = dd.mtim = now();
  }
  /** Every entry below the root: [{path, kind, data?, target?, atim, mtim}] (hard links come out as copies). */
  snapshot() {
    const out = [];
    const walk = (dir, prefix) => {
      for (const [name, n] of dir.entries) {
        const path = prefix + name;
        const e = { path, kind: n.kind, atim: n.atim, mtim: n.mtim };
        if (n.kind === 'file') e.data = n.data.slice();
        if (n.kind === 'symlink') e.target = n.target;
        out.push(e);
        if (n.kind === 'dir') walk(n, path + '/');
      }
    };
    walk(this.root, '');
    return out;
  }
  /** Adds the entries of a snapshot() (parents first, as snapshot() lists them). */
  restore(entries) {
    for (const e of entries) {
      const parts = e.path.split('/');
      const [d, name] = this.#parent(parts);
      const n =
        e.kind === 'dir' ? node('dir', { entries: new Map() }) : e.kind === 'symlink' ? node('symlink', { target: e.target }) : node('file', { data: new Uint8Array(e.data) });
      n.atim = BigInt(e.atim);
      n.mtim = BigInt(e.mtim);
      d.entries.set(name, n);
    }
  }
  utimes(parts, atim, mtim) {
    const n = this.#get(parts);
    if (atim !== undefined) n.atim = atim;
    if (mtim !== undefined) n.mtim = mtim;
    n.ctim = now();
  }
}

class MemoryHandle {
  constructor(fs, n) {
    this.fs = fs;
    this.node = n;
    this.filetype = TYPE[n.kind];
  }
  stat() {
    const n = this.node;
    return {
      dev: this.fs.dev, ino: n.ino, filetype: this.filetype, nlink: n.nlink,
      size: BigInt(n.kind === 'file' ? n.data.length : 4096), atim: n.atim, mtim: n.mtim, ctim: n.ctim,
    };
  }
  size() {
    return this.node.kind === 'file' ? this.node.data.length : 0;
  }
  read(len, pos) {
    const d = this.node.data;
    if (!d) fail(E.ISDIR);
    this.node.atim = now();
    return d.subarray(Math.min(pos, d.length), Math.min(pos + len, d.length)).slice();
  }
  write(bytes, pos) {
    const n = this.node;
    if (!n.data) fail(E.ISDIR);
    const end = pos + bytes.length;
    if (end > n.data.length) this.#resize(end);
    n.data.set(bytes, pos);
    n.mtim = n.ctim = now();
    return bytes.length;
  }
  #resize(size) {
    const n = this.node;
    if (size > 2 ** 31) fail(E.FBIG);
    const d = new Uint8Array(size);
    d.set(n.data.subarray(0, Math.min(size, n.data.length)));
    n.data = d;
  }
  truncate(size) {
    if (!this.node.data) fail(E.ISDIR);
    this.#resize(size);
    this.node.mtim = this.node.ctim = now();
  }
  utimes(atim, mtim) {
    if (atim !== undefined) this.node.atim = atim;
    if (mtim !== undefined) this.node.mtim = mtim;
    this.node.ctim = now();
  }
  readdir(parentIno) {
    const n = this.node;
    if (n.kind !== 'dir') fail(E.NOTDIR);
    const out = [
      { name: '.', ino: n.ino, filetype: FILETYPE.DIRECTORY },
      { name: '..', ino: parentIno ?? n.ino, filetype: FILETYPE.DIRECTORY },
    ];
    for (const [name, c] of n.entries) out.push({ name, ino: c.ino, filetype: TYPE[c.kind] });
    return out;
  }
  sync() {}
  close() {}
}
