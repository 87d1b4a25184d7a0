// wasync/wasi: WASI preview1 in JavaScript whose blocking calls really wait.
//
// The idea. A WASI program calls `fd_read` on stdin, `poll_oneoff` with a
// timeout (sleep), or opens a file fetched from a URL, and expects the call
// to return when the data is there. Under wasync an import may return a
// Promise and the guest suspends until it settles (JSPI, Asyncify or the
// worker bridge, see ../index.js), so here those calls return a Promise only
// when they must wait; everything that can answer at once (buffered stdin,
// files in memory or on a local disk, clocks, fd_write) returns its errno
// directly and costs no suspension.
//
// The rules every syscall keeps:
//   - guest memory is reached only through the import context's memory API
//     (`this.memory` of the call: readBytes/writeBytes/readU32/...), which
//     works the same in all three modes -- in worker mode the memory lives in
//     the worker and each access is a round trip, so structures are read and
//     written in one piece;
//   - no JavaScript exception reaches the guest: failures become errno values
//     (constants.js errnoOf); the one exception is proc_exit, which unwinds
//     the guest and resolves start() with the exit code;
//   - paths are resolved here, component by component, below the directory fd
//     they are relative to: `..` may not climb above it, absolute paths and
//     absolute symlink targets are refused (ENOTCAPABLE), and symlinks are
//     read and re-resolved inside the sandbox (at most 32 per lookup), so a
//     file system backend (fs-memory.js, fs-host.js) only ever sees a path
//     below its root with no symlink in a directory component.

import { E, FILETYPE, FDFLAGS, OFLAGS, LOOKUP_SYMLINK_FOLLOW, FSTFLAGS, WHENCE, CLOCK, EVENTTYPE } from './constants.js';
import { SUBCLOCK_ABSTIME, EVENT_FD_READWRITE_HANGUP, RIGHTS, RIGHTS_FILE, RIGHTS_DIR, RIGHTS_TTY } from './constants.js';
import { WasiError, fail, errnoOf } from './constants.js';
import { MemoryFS } from './fs-memory.js';
import { HostFS } from './fs-host.js';
import { Input, Output, stdinFromElement } from './stdio.js';

export { MemoryFS, HostFS, WasiError, E as errno, stdinFromElement };
export { guestJsImports } from './guest-js.js';
export { persistentFS } from './fs-idb.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** WASI imports that may return a Promise: the list to asyncify a module for. */
export const ASYNC_IMPORTS = ['fd_read', 'fd_pread', 'poll_oneoff', 'sched_yield', 'path_open', 'path_filestat_get'];

/** Thrown through the guest by proc_exit; start() turns it into the exit code. */
export class WasiExit extends Error {
  constructor(code) {
    super(`wasync: the WASI program exited with code ${code}`);
    this.code = code;
  }
}

const monoStart = typeof performance === 'object' ? performance.now() : 0;
function monotonicNs() {
  return BigInt(Math.round((performance.now() - monoStart) * 1e6)) + 1n;
}
function realtimeNs() {
  const ms = (performance.timeOrigin ?? Date.now() - performance.now()) + performance.now();
  return BigInt(Math.round(ms * 1000)) * 1000n;
}

class RawMemory {
  // for start()/initialize() on a plain WebAssembly.Instance (no wasync runtime)
  constructor(mem) {
    this.mem = mem;
  }
  get u8() {
    return new Uint8Array(this.mem.buffer);
  }
  get dv() {
    return new DataView(this.mem.buffer);
  }
  readBytes(p, n) {
    return this.u8.slice(p, p + n);
  }
  writeBytes(p, b) {
    this.u8.set(b, p);
  }
  readU32(p) {
    return this.dv.getUint32(p, true);
  }
  writeU32(p, v) {
    this.dv.setUint32(p, v, true);
  }
  readI64(p) {
    return this.dv.getBigInt64(p, true);
  }
  writeI64(p, v) {
    this.dv.setBigInt64(p, BigInt(v), true);
  }
  get size() {
    return this.mem.buffer.byteLength;
  }
}

function le(size) {
  const b = new Uint8Array(size);
  return [b, new DataView(b.buffer)];
}
function filestatBytes(st) {
  const [b, v] = le(64);
  v.setBigUint64(0, BigInt(st.dev), true);
  v.setBigUint64(8, BigInt(st.ino), true);
  v.setUint8(16, st.filetype);
  v.setBigUint64(24, BigInt(st.nlink), true);
  v.setBigUint64(32, BigInt(st.size), true);
  v.setBigUint64(40, BigInt(st.atim), true);
  v.setBigUint64(48, BigInt(st.mtim), true);
  v.setBigUint64(56, BigInt(st.ctim), true);
  return b;
}
const isThenable = (v) => v !== null && typeof v === 'object' && typeof v.then === 'function';

export class WASI {
  /**
   * options: {args: string[], env: {NAME: value}, preopens: {guestPath: hostDir | tree | MemoryFS},
   *           stdin, stdout, stderr, returnOnExit (default true)}
   */
  constructor(options = {}) {
    this.args = (options.args ?? []).map(String);
    this.env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
    this.returnOnExit = options.returnOnExit !== false;
    this.exitCode = null;
    this.stdin = new Input(options.stdin);
    this.outputs = [new Output(options.stdout, 1), new Output(options.stderr, 2)];
    this.fds = [];
    this.fds[0] = this.#stdio(0, RIGHTS.FD_READ | RIGHTS.POLL_FD_READWRITE | RIGHTS.FD_FILESTAT_GET);
    this.fds[1] = this.#stdio(1, RIGHTS_TTY & ~RIGHTS.FD_READ);
    this.fds[2] = this.#stdio(2, RIGHTS_TTY & ~RIGHTS.FD_READ);
    for (const [guest, value] of Object.entries(options.preopens ?? {})) {
      let fsys;
      if (typeof value === 'string') fsys = new HostFS(value);
      else if (value instanceof URL && value.protocol === 'file:') fsys = new HostFS(decodeURIComponent(value.pathname));
      else if (value instanceof MemoryFS || value instanceof HostFS) fsys = value;
      else fsys = new MemoryFS(value ?? {});
      this.#preopened.push(fsys);
      this.fds.push({
        type: 'dir', fsys, parts: [], handle: fsys.open([], { directory: true }), pos: 0, fdflags: 0,
        rightsBase: RIGHTS_DIR, rightsInheriting: RIGHTS_DIR | RIGHTS_FILE, preopen: guest,
      });
    }
    this.#imports = this.#makeImports();
  }

  #imports;
  #fallbackMemory = null;
  #preopened = [];

  #stdio(fd, rights) {
    return { type: 'stdio', fd, filetype: FILETYPE.CHARACTER_DEVICE, fdflags: fd === 0 ? 0 : FDFLAGS.APPEND, rightsBase: rights, rightsInheriting: 0n };
  }

  /** {wasi_snapshot_preview1: {...}}; functions use `this.memory` of the wasync import context. */
  getImportObject() {
    return { wasi_snapshot_preview1: this.#imports };
  }

  /** Runs `_start` of a wasync instance (or a WebAssembly.Instance); resolves with the exit code. */
  async start(inst) {
    const exp = inst.exports;
    if (typeof exp?._start !== 'function') throw new TypeError('wasync: WASI start() needs an instance exporting _start (a command)');
    this.#bind(inst);
    try {
      await exp._start();
    } catch (e) {
      await this.#finish();
      if (this.exitCode === null) throw e;
      if (!this.returnOnExit && typeof globalThis.process?.exit === 'function') process.exit(this.exitCode);
      return this.exitCode;
    }
    await this.#finish();
    return this.exitCode ?? 0;
  }

  /** Calls `_initialize` of a reactor (a no-op when the wasync runtime has already run it). */
  async initialize(inst) {
    this.#bind(inst);
    if (inst instanceof WebAssembly.Instance && typeof inst.exports._initialize === 'function') inst.exports._initialize();
  }

  /** Flushes stdout/stderr and releases stdin (start() does this at exit). */
  async #finish() {
    this.stdin.close();
    for (const o of this.outputs) await o.flush();
    // persistent file systems (fs-idb.js) are written back when the program ends
    for (const fsys of this.#preopened) if (typeof fsys.save === 'function') await fsys.save();
  }

  #bind(inst) {
    if (inst instanceof WebAssembly.Instance) {
      const mem = inst.exports.memory;
      if (mem instanceof WebAssembly.Memory) this.#fallbackMemory = new RawMemory(mem);
    }
  }

  #mem(ctx) {
    const m = ctx?.memory;
    if (m && typeof m.readBytes === 'function') return m;
    if (this.#fallbackMemory) return this.#fallbackMemory;
    throw new WasiError(E.FAULT);
  }

  #makeImports() {
    const out = {};
    const self = this;
    for (const name of Object.getOwnPropertyNames(Syscalls.prototype)) {
      if (name === 'constructor') continue;
      const impl = Syscalls.prototype[name];
      const done = (e) => {
        if (e instanceof WasiExit) throw e;
        return errnoOf(e);
      };
      out[name] = {
        [name](...args) {
          try {
            const r = impl.call(self, self.#mem(this), ...args);
            if (isThenable(r)) return r.then((v) => v ?? 0, done);
            return r ?? 0;
          } catch (e) {
            return done(e);
          }
        },
      }[name];
    }
    return out;
  }

  // ---- helpers for syscalls (bound to this WASI) ----
  fd(n, right) {
    const f = this.fds[n];
    if (!f) fail(E.BADF);
    if (right !== undefined && (f.rightsBase & right) === 0n) fail(f.type === 'dir' && (right === RIGHTS.FD_READ || right === RIGHTS.FD_WRITE) ? E.ISDIR : E.NOTCAPABLE);
    return f;
  }
  dirfd(n, right) {
    const f = this.fd(n);
    if (f.type !== 'dir') fail(E.NOTDIR);
    if (right !== undefined && (f.rightsBase & right) === 0n) fail(E.NOTCAPABLE);
    return f;
  }
  newFd(entry) {
    let i = 3;
    while (this.fds[i]) i++;
    this.fds[i] = entry;
    return i;
  }
  readPath(m, ptr, len) {
    const s = dec.decode(m.readBytes(ptr, len));
    if (s.includes('\0')) fail(E.INVAL);
    return s;
  }

  /** Resolves `path` below dir fd `dir`: {fsys, parts, trailing}. */
  resolve(dir, path, follow) {
    if (path.length === 0) fail(E.NOENT);
    if (path.startsWith('/')) fail(E.NOTCAPABLE);
    const fsys = dir.fsys;
    const base = dir.parts;
    const split = (p) => p.split('/');
    let queue = split(path);
    let trailing = false;
    const stack = [];
    let links = 0;
    const markTrailing = (q) => {
      while (q.length && (q[q.length - 1] === '' || q[q.length - 1] === '.')) {
        q.pop();
        trailing = true;
      }
      if (q.length && q[q.length - 1] === '..') trailing = true;
      return q;
    };
    queue = markTrailing(queue);
    while (queue.length) {
      const c = queue.shift();
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (!stack.length) fail(E.NOTCAPABLE);
        stack.pop();
        continue;
      }
      const last = queue.every((q) => q === '' || q === '.');
      const here = base.concat(stack, c);
      if (!last || follow || trailing) {
        let st;
        try {
          st = fsys.lstat(here);
        } catch (e) {
          if (last && errnoOf(e) === E.NOENT) {
            stack.push(c);
            break;
          }
          throw e;
        }
        if (st.filetype === FILETYPE.SYMBOLIC_LINK) {
          if (++links > 32) fail(E.LOOP);
          const target = fsys.readlink(here);
          if (target.startsWith('/')) fail(E.NOTCAPABLE);
          const t = split(target);
          if (last) {
            const before = trailing;
            queue = markTrailing(t);
            trailing = trailing || before;
          } else queue = t.concat(queue);
          continue;
        }
        if (!last && st.filetype !== FILETYPE.DIRECTORY) fail(E.NOTDIR);
        if (last && trailing && st.filetype !== FILETYPE.DIRECTORY) fail(E.NOTDIR);
      }
      stack.push(c);
    }
    return { fsys, parts: base.concat(stack), trailing };
  }
}

// The syscalls, in witx order. Each gets the guest memory first, then the
// raw wasm arguments (i64 as BigInt); it returns an errno (or nothing for
// success) or a Promise of one, and may throw WasiError.
class Syscalls {
  args_get(m, argv, buf) {
    this.strings(m, this.args, argv, buf);
  }
  args_sizes_get(m, countPtr, sizePtr) {
    this.sizes(m, this.args, countPtr, sizePtr);
  }
  environ_get(m, envp, buf) {
    this.strings(m, this.env, envp, buf);
  }
  environ_sizes_get(m, countPtr, sizePtr) {
    this.sizes(m, this.env, countPtr, sizePtr);
  }
  clock_res_get(m, id, ptr) {
    if (id < 0 || id > 3) fail(E.INVAL);
    m.writeI64(ptr, 1000n);
  }
  clock_time_get(m, id, _precision, ptr) {
    if (id === CLOCK.REALTIME) m.writeI64(ptr, realtimeNs());
    else if (id >= 1 && id <= 3) m.writeI64(ptr, monotonicNs());
    else fail(E.INVAL);
  }
  fd_advise(m, fd, _offset, _len, advice) {
    const f = this.fd(fd);
    if (f.type === 'dir') fail(E.BADF);
    if (f.type !== 'file') fail(E.SPIPE);
    if (advice < 0 || advice > 5) fail(E.INVAL);
  }
  fd_allocate(m, fd, offset, len) {
    const f = this.fd(fd);
    if (f.type !== 'file') fail(f.type === 'dir' ? E.BADF : E.SPIPE);
    const end = Number(offset + len);
    if (end > f.handle.size()) f.handle.truncate(end);
  }
  fd_close(m, fd) {
    const f = this.fd(fd);
    if (f.type !== 'stdio') f.handle.close();
    delete this.fds[fd];
  }
  fd_datasync(m, fd) {
    const f = this.fd(fd);
    if (f.type === 'file') f.handle.sync();
    else if (f.type === 'dir') fail(E.BADF);
  }
  fd_fdstat_get(m, fd, ptr) {
    const f = this.fd(fd);
    const [b, v] = le(24);
    v.setUint8(0, f.type === 'stdio' ? f.filetype : f.handle.filetype);
    v.setUint16(2, f.fdflags, true);
    v.setBigUint64(8, f.rightsBase, true);
    v.setBigUint64(16, f.rightsInheriting, true);
    m.writeBytes(ptr, b);
  }
  fd_fdstat_set_flags(m, fd, flags) {
    const f = this.fd(fd);
    if (flags & ~(FDFLAGS.APPEND | FDFLAGS.NONBLOCK | FDFLAGS.DSYNC | FDFLAGS.RSYNC | FDFLAGS.SYNC)) fail(E.INVAL);
    f.fdflags = flags;
  }
  fd_fdstat_set_rights(m, fd, base, inheriting) {
    const f = this.fd(fd);
    if ((base & ~f.rightsBase) !== 0n || (inheriting & ~f.rightsInheriting) !== 0n) fail(E.NOTCAPABLE);
    f.rightsBase = base;
    f.rightsInheriting = inheriting;
  }
  fd_filestat_get(m, fd, ptr) {
    const f = this.fd(fd);
    if (f.type === 'stdio') {
      m.writeBytes(ptr, filestatBytes({ dev: 0, ino: 0, filetype: f.filetype, nlink: 1, size: 0, atim: 0, mtim: 0, ctim: 0 }));
      return;
    }
    m.writeBytes(ptr, filestatBytes(f.handle.stat()));
  }
  fd_filestat_set_size(m, fd, size) {
    const f = this.fd(fd);
    if (f.type !== 'file') fail(f.type === 'dir' ? E.ISDIR : E.INVAL);
    if ((f.rightsBase & RIGHTS.FD_FILESTAT_SET_SIZE) === 0n) fail(E.NOTCAPABLE);
    f.handle.truncate(Number(size));
  }
  fd_filestat_set_times(m, fd, atim, mtim, flags) {
    const f = this.fd(fd);
    if (f.type === 'stdio') fail(E.BADF);
    const [a, mt] = this.times(atim, mtim, flags);
    f.handle.utimes(a, mt);
  }
  fd_pread(m, fd, iovs, n, offset, nreadPtr) {
    const f = this.fd(fd);
    if (f.type === 'stdio') fail(E.SPIPE);
    if (f.type === 'dir') fail(E.ISDIR);
    if ((f.rightsBase & RIGHTS.FD_READ) === 0n) fail(E.BADF);
    return this.readInto(m, f, iovs, n, Number(offset), nreadPtr);
  }
  fd_prestat_get(m, fd, ptr) {
    const f = this.fds[fd];
    if (!f || f.preopen === undefined || f.preopen === null) fail(E.BADF);
    const [b, v] = le(8);
    v.setUint8(0, 0);
    v.setUint32(4, enc.encode(f.preopen).length, true);
    m.writeBytes(ptr, b);
  }
  fd_prestat_dir_name(m, fd, ptr, len) {
    const f = this.fds[fd];
    if (!f || f.preopen == null) fail(E.BADF);
    const name = enc.encode(f.preopen);
    if (len < name.length) fail(E.NAMETOOLONG);
    m.writeBytes(ptr, name);
  }
  fd_pwrite(m, fd, iovs, n, offset, nwrittenPtr) {
    const f = this.fd(fd);
    if (f.type === 'stdio') fail(E.SPIPE);
    if (f.type === 'dir') fail(E.ISDIR);
    if ((f.rightsBase & RIGHTS.FD_WRITE) === 0n) fail(E.BADF);
    const bytes = this.gather(m, iovs, n);
    const written = f.handle.write(bytes, Number(offset));
    m.writeU32(nwrittenPtr, written);
  }
  fd_read(m, fd, iovs, n, nreadPtr) {
    const f = this.fd(fd);
    if (f.type === 'dir') fail(E.ISDIR);
    if ((f.rightsBase & RIGHTS.FD_READ) === 0n) fail(E.BADF);
    if (f.type === 'stdio') {
      const vecs = this.iovecs(m, iovs, n);
      const total = vecs.reduce((s, [, l]) => s + l, 0);
      const finish = () => {
        const got = this.stdin.take(total);
        this.scatter(m, vecs, got);
        m.writeU32(nreadPtr, got.length);
        return 0;
      };
      if (total === 0 || this.stdin.ready()) return finish();
      return this.stdin.fill().then(finish);
    }
    return this.readInto(m, f, iovs, n, null, nreadPtr);
  }
  fd_readdir(m, fd, buf, len, cookie, usedPtr) {
    const f = this.fd(fd);
    if (f.type !== 'dir') fail(E.NOTDIR);
    if ((f.rightsBase & RIGHTS.FD_READDIR) === 0n) fail(E.NOTCAPABLE);
    let parentIno;
    if (f.parts.length) {
      try {
        parentIno = f.fsys.lstat(f.parts.slice(0, -1)).ino;
      } catch {
        parentIno = undefined;
      }
    }
    const entries = f.handle.readdir(parentIno);
    const chunks = [];
    let size = 0;
    for (let i = Number(cookie); i < entries.length && size < len; i++) {
      const e = entries[i];
      const name = enc.encode(e.name);
      const [b, v] = le(24 + name.length);
      v.setBigUint64(0, BigInt(i + 1), true);
      v.setBigUint64(8, BigInt(e.ino), true);
      v.setUint32(16, name.length, true);
      v.setUint8(20, e.filetype);
      b.set(name, 24);
      chunks.push(b);
      size += b.length;
    }
    const all = new Uint8Array(size);
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    const used = Math.min(size, len);
    m.writeBytes(buf, all.subarray(0, used));
    m.writeU32(usedPtr, used);
  }
  fd_renumber(m, from, to) {
    const f = this.fd(from);
    const t = this.fd(to);
    if (from === to) return;
    if (t.type !== 'stdio') t.handle.close();
    this.fds[to] = f;
    delete this.fds[from];
  }
  fd_seek(m, fd, offset, whence, ptr) {
    const f = this.fd(fd);
    if (f.type === 'stdio') fail(E.SPIPE);
    if (f.type === 'dir') fail(E.BADF);
    if ((f.rightsBase & (RIGHTS.FD_SEEK | RIGHTS.FD_TELL)) === 0n) fail(E.NOTCAPABLE);
    const base = whence === WHENCE.SET ? 0 : whence === WHENCE.CUR ? f.pos : whence === WHENCE.END ? f.handle.size() : fail(E.INVAL);
    const pos = base + Number(offset);
    if (pos < 0) fail(E.INVAL);
    f.pos = pos;
    m.writeI64(ptr, BigInt(pos));
  }
  fd_sync(m, fd) {
    const f = this.fd(fd);
    if (f.type === 'file') f.handle.sync();
  }
  fd_tell(m, fd, ptr) {
    const f = this.fd(fd);
    if (f.type === 'stdio') fail(E.SPIPE);
    if (f.type === 'dir') fail(E.BADF);
    m.writeI64(ptr, BigInt(f.pos));
  }
  fd_write(m, fd, iovs, n, nwrittenPtr) {
    const f = this.fd(fd);
    if (f.type === 'dir') fail(E.BADF);
    if ((f.rightsBase & RIGHTS.FD_WRITE) === 0n) fail(E.BADF);
    const bytes = this.gather(m, iovs, n);
    if (f.type === 'stdio') {
      if (bytes.length) this.outputs[f.fd - 1].write(bytes);
      m.writeU32(nwrittenPtr, bytes.length);
      return;
    }
    if (f.fdflags & FDFLAGS.APPEND) f.pos = f.handle.size();
    const w = f.handle.write(bytes, f.pos);
    f.pos += w;
    m.writeU32(nwrittenPtr, w);
  }
  path_create_directory(m, fd, ptr, len) {
    const d = this.dirfd(fd, RIGHTS.PATH_CREATE_DIRECTORY);
    const { fsys, parts } = this.resolve(d, this.readPath(m, ptr, len), false);
    if (parts.length === d.parts.length) fail(E.EXIST);
    fsys.mkdir(parts);
  }
  path_filestat_get(m, fd, flags, ptr, len, out) {
    const d = this.dirfd(fd, RIGHTS.PATH_FILESTAT_GET);
    const { fsys, parts } = this.resolve(d, this.readPath(m, ptr, len), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const write = () => m.writeBytes(out, filestatBytes(fsys.lstat(parts)));
    const p = fsys.pending?.(parts);
    if (p) return p.then(write);
    write();
  }
  path_filestat_set_times(m, fd, flags, ptr, len, atim, mtim, fst) {
    const d = this.dirfd(fd, RIGHTS.PATH_FILESTAT_SET_TIMES);
    const [a, mt] = this.times(atim, mtim, fst);
    const { fsys, parts } = this.resolve(d, this.readPath(m, ptr, len), (flags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    fsys.utimes(parts, a, mt);
  }
  path_link(m, ofd, oflags, optr, olen, nfd, nptr, nlen) {
    const od = this.dirfd(ofd, RIGHTS.PATH_LINK_SOURCE);
    const nd = this.dirfd(nfd, RIGHTS.PATH_LINK_TARGET);
    const from = this.resolve(od, this.readPath(m, optr, olen), (oflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const to = this.resolve(nd, this.readPath(m, nptr, nlen), false);
    if (from.fsys !== to.fsys) fail(E.XDEV);
    const st = from.fsys.lstat(from.parts);
    if (st.filetype === FILETYPE.DIRECTORY) fail(E.PERM);
    if (from.trailing) fail(E.NOTDIR);
    if (to.trailing) {
      let exists = true;
      try {
        to.fsys.lstat(to.parts);
      } catch {
        exists = false;
      }
      fail(exists ? E.EXIST : E.NOENT);
    }
    from.fsys.link(from.parts, to.parts);
  }
  path_open(m, fd, dirflags, ptr, len, oflags, base, inheriting, fdflags, out) {
    const d = this.dirfd(fd, RIGHTS.PATH_OPEN);
    const create = (oflags & OFLAGS.CREAT) !== 0;
    const trunc = (oflags & OFLAGS.TRUNC) !== 0;
    if (create && (d.rightsBase & RIGHTS.PATH_CREATE_FILE) === 0n) fail(E.NOTCAPABLE);
    if (trunc && (d.rightsBase & RIGHTS.PATH_FILESTAT_SET_SIZE) === 0n) fail(E.NOTCAPABLE);
    const path = this.readPath(m, ptr, len);
    const { fsys, parts, trailing } = this.resolve(d, path, (dirflags & LOOKUP_SYMLINK_FOLLOW) !== 0);
    const directory = (oflags & OFLAGS.DIRECTORY) !== 0 || trailing;
    if (directory && create && (oflags & OFLAGS.DIRECTORY)) fail(E.INVAL);
    if (trailing && create) fail(E.ISDIR);
    const finish = () => {
      const read = (base & (RIGHTS.FD_READ | RIGHTS.FD_READDIR)) !== 0n;
      const write = (base & (RIGHTS.FD_WRITE | RIGHTS.FD_ALLOCATE | RIGHTS.FD_FILESTAT_SET_SIZE)) !== 0n || (fdflags & FDFLAGS.APPEND) !== 0 || trunc;
      const handle = fsys.open(parts, { create, excl: (oflags & OFLAGS.EXCL) !== 0, trunc, directory, read, write });
      const isDir = handle.filetype === FILETYPE.DIRECTORY;
      const mask = isDir ? RIGHTS_DIR : RIGHTS_FILE;
      const nfd = this.newFd({
        type: isDir ? 'dir' : 'file', fsys, parts, handle, pos: 0, fdflags,
        rightsBase: base & mask & d.rightsInheriting, rightsInheriting: inheriting & d.rightsInheriting, preopen: null,
      });
      m.writeU32(out, nfd);
    };
    const p = fsys.pending?.(parts);
    if (p) return p.then(finish);
    finish();
  }
  path_readlink(m, fd, ptr, len, buf, bufLen, usedPtr) {
    const d = this.dirfd(fd, RIGHTS.PATH_READLINK);
    const { fsys, parts } = this.resolve(d, this.readPath(m, ptr, len), false);
    const t = enc.encode(fsys.readlink(parts));
    const n = Math.min(t.length, bufLen);
    m.writeBytes(buf, t.subarray(0, n));
    m.writeU32(usedPtr, n);
  }
  path_remove_directory(m, fd, ptr, len) {
    const d = this.dirfd(fd, RIGHTS.PATH_REMOVE_DIRECTORY);
    const { fsys, parts } = this.resolve(d, this.readPath(m, ptr, len), false);
    if (parts.length === d.parts.length) fail(E.BUSY);
    const st = fsys.lstat(parts);
    if (st.filetype !== FILETYPE.DIRECTORY) fail(E.NOTDIR);
    fsys.rmdir(parts);
  }
  path_rename(m, fd, optr, olen, nfd, nptr, nlen) {
    const od = this.dirfd(fd, RIGHTS.PATH_RENAME_SOURCE);
    const nd = this.dirfd(nfd, RIGHTS.PATH_RENAME_TARGET);
    const from = this.resolve(od, this.readPath(m, optr, olen), false);
    const to = this.resolve(nd, this.readPath(m, nptr, nlen), false);
    if (from.fsys !== to.fsys) fail(E.XDEV);
    const st = from.fsys.lstat(from.parts);
    if ((from.trailing || to.trailing) && st.filetype !== FILETYPE.DIRECTORY) fail(E.NOTDIR);
    from.fsys.rename(from.parts, to.parts);
  }
  path_symlink(m, optr, olen, fd, nptr, nlen) {
    const d = this.dirfd(fd, RIGHTS.PATH_SYMLINK);
    const target = this.readPath(m, optr, olen);
    if (target.startsWith('/')) fail(E.NOTCAPABLE);
    const { fsys, parts, trailing } = this.resolve(d, this.readPath(m, nptr, nlen), false);
    let exists = true;
    try {
      fsys.lstat(parts);
    } catch {
      exists = false;
    }
    if (exists) fail(E.EXIST);
    if (trailing) fail(E.NOENT);
    fsys.symlink(target, parts);
  }
  path_unlink_file(m, fd, ptr, len) {
    const d = this.dirfd(fd, RIGHTS.PATH_UNLINK_FILE);
    const { fsys, parts, trailing } = this.resolve(d, this.readPath(m, ptr, len), false);
    const st = fsys.lstat(parts);
    if (st.filetype === FILETYPE.DIRECTORY) fail(E.ISDIR);
    if (trailing) fail(E.NOTDIR);
    fsys.unlink(parts);
  }
  poll_oneoff(m, inPtr, outPtr, nsubs, neventsPtr) {
    if (nsubs === 0) fail(E.INVAL);
    const raw = m.readBytes(inPtr, nsubs * 48);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const subs = [];
    const startMono = monotonicNs();
    for (let i = 0; i < nsubs; i++) {
      const o = i * 48;
      const s = { userdata: v.getBigUint64(o, true), tag: v.getUint8(o + 8) };
      if (s.tag === EVENTTYPE.CLOCK) {
        const id = v.getUint32(o + 16, true);
        const timeout = v.getBigUint64(o + 24, true);
        const abs = (v.getUint16(o + 40, true) & SUBCLOCK_ABSTIME) !== 0;
        if (id > 3) s.error = E.INVAL;
        const now = id === CLOCK.REALTIME ? realtimeNs() : startMono;
        const wait = abs ? timeout - now : timeout;
        s.deadline = startMono + (wait > 0n ? wait : 0n);
      } else if (s.tag === EVENTTYPE.FD_READ || s.tag === EVENTTYPE.FD_WRITE) s.fd = v.getUint32(o + 16, true);
      else s.error = E.INVAL;
      subs.push(s);
    }
    const collect = () => {
      const events = [];
      const now = monotonicNs();
      for (const s of subs) {
        let ev = null;
        if (s.error) ev = { error: s.error };
        else if (s.tag === EVENTTYPE.CLOCK) {
          if (now >= s.deadline) ev = {};
        } else {
          const f = this.fds[s.fd];
          if (!f) ev = { error: E.BADF };
          else if (f.type === 'stdio' && s.fd === 0) {
            if (s.tag === EVENTTYPE.FD_WRITE) ev = { error: E.BADF };
            else if (this.stdin.ready()) ev = { nbytes: BigInt(this.stdin.buf.length), hangup: this.stdin.eof && !this.stdin.buf.length };
          } else if (f.type === 'stdio') ev = s.tag === EVENTTYPE.FD_WRITE ? { nbytes: 0n } : { error: E.BADF };
          else if (f.type === 'dir') ev = { error: E.BADF };
          else ev = { nbytes: s.tag === EVENTTYPE.FD_READ ? BigInt(Math.max(0, f.handle.size() - f.pos)) : 0n };
        }
        if (ev) events.push([s, ev]);
      }
      return events;
    };
    const write = (events) => {
      const [b, dv] = le(32 * events.length);
      events.forEach(([s, ev], i) => {
        const o = i * 32;
        dv.setBigUint64(o, s.userdata, true);
        dv.setUint16(o + 8, ev.error ?? 0, true);
        dv.setUint8(o + 10, s.tag);
        if (s.tag !== EVENTTYPE.CLOCK) {
          dv.setBigUint64(o + 16, ev.nbytes ?? 0n, true);
          dv.setUint16(o + 24, ev.hangup ? EVENT_FD_READWRITE_HANGUP : 0, true);
        }
      });
      m.writeBytes(outPtr, b);
      m.writeU32(neventsPtr, events.length);
      return 0;
    };
    let events = collect();
    if (events.length) return write(events);
    // nothing ready: wait for the earliest clock or for stdin, whichever first
    const waits = [];
    let timer = null;
    const clocks = subs.filter((s) => s.tag === EVENTTYPE.CLOCK);
    if (clocks.length) {
      const deadline = clocks.reduce((a, s) => (s.deadline < a ? s.deadline : a), clocks[0].deadline);
      waits.push(
        new Promise((r) => {
          const tick = () => {
            const left = deadline - monotonicNs();
            if (left <= 0n) r();
            else timer = setTimeout(tick, Math.max(0, Math.ceil(Number(left) / 1e6)));
          };
          tick();
        }),
      );
    }
    if (subs.some((s) => s.tag === EVENTTYPE.FD_READ && s.fd === 0)) waits.push(this.stdin.fill());
    if (!waits.length) fail(E.NOTSUP);
    return Promise.race(waits).then(() => {
      clearTimeout(timer);
      events = collect();
      return write(events);
    });
  }
  proc_exit(m, code) {
    this.exitCode = code >>> 0;
    throw new WasiExit(this.exitCode);
  }
  proc_raise() {
    fail(E.NOSYS);
  }
  sched_yield() {
    return new Promise((r) => setTimeout(r, 0));
  }
  random_get(m, ptr, len) {
    const b = new Uint8Array(len);
    for (let o = 0; o < len; o += 65536) crypto.getRandomValues(b.subarray(o, Math.min(len, o + 65536)));
    m.writeBytes(ptr, b);
  }
  sock_accept(m, fd) {
    this.fd(fd);
    fail(E.NOTSOCK);
  }
  sock_recv(m, fd) {
    this.fd(fd);
    fail(E.NOTSUP);
  }
  sock_send(m, fd) {
    this.fd(fd);
    fail(E.NOTSUP);
  }
  sock_shutdown(m, fd) {
    this.fd(fd);
    fail(E.NOTSOCK);
  }
}

// helpers used by the syscalls, kept on WASI.prototype (not imports)
Object.assign(WASI.prototype, {
  strings(m, list, ptrs, buf) {
    const bytes = list.map((s) => enc.encode(s + '\0'));
    const [pb, pv] = le(4 * list.length);
    let o = 0;
    bytes.forEach((b, i) => {
      pv.setUint32(4 * i, buf + o, true);
      o += b.length;
    });
    const all = new Uint8Array(o);
    o = 0;
    for (const b of bytes) {
      all.set(b, o);
      o += b.length;
    }
    if (list.length) m.writeBytes(ptrs, pb);
    if (all.length) m.writeBytes(buf, all);
  },
  sizes(m, list, countPtr, sizePtr) {
    m.writeU32(countPtr, list.length);
    m.writeU32(sizePtr, list.reduce((s, x) => s + enc.encode(x).length + 1, 0));
  },
  iovecs(m, iovs, n) {
    const raw = m.readBytes(iovs, 8 * n);
    const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = [];
    for (let i = 0; i < n; i++) out.push([v.getUint32(8 * i, true), v.getUint32(8 * i + 4, true)]);
    return out;
  },
  gather(m, iovs, n) {
    const vecs = this.iovecs(m, iovs, n).filter(([, l]) => l > 0);
    if (vecs.length === 1) return m.readBytes(vecs[0][0], vecs[0][1]);
    const parts = vecs.map(([p, l]) => m.readBytes(p, l));
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return all;
  },
  scatter(m, vecs, bytes) {
    let o = 0;
    for (const [p, l] of vecs) {
      if (o >= bytes.length) break;
      const piece = bytes.subarray(o, o + l);
      m.writeBytes(p, piece);
      o += piece.length;
    }
  },
  readInto(m, f, iovs, n, offset, nreadPtr) {
    const vecs = this.iovecs(m, iovs, n);
    const total = vecs.reduce((s, [, l]) => s + l, 0);
    const pos = offset ?? f.pos;
    const got = f.handle.read(total, pos);
    if (offset === null) f.pos += got.length;
    this.scatter(m, vecs, got);
    m.writeU32(nreadPtr, got.length);
  },
  times(atim, mtim, flags) {
    if (flags & ~15) fail(E.INVAL);
    if ((flags & FSTFLAGS.ATIM && flags & FSTFLAGS.ATIM_NOW) || (flags & FSTFLAGS.MTIM && flags & FSTFLAGS.MTIM_NOW)) fail(E.INVAL);
    const now = realtimeNs();
    const a = flags & FSTFLAGS.ATIM_NOW ? now : flags & FSTFLAGS.ATIM ? atim : undefined;
    const mt = flags & FSTFLAGS.MTIM_NOW ? now : flags & FSTFLAGS.MTIM ? mtim : undefined;
    return [a, mt];
  },
});

/**
 * runWasi(source, options) -> Promise<exit code>: instantiates a WASI command
 * with wasync (options.mode, options.imports for extra namespaces, the rest
 * for new WASI(...)) and runs it.
 */
export async function runWasi(source, options = {}) {
  const { instantiate } = await import('../index.js');
  const { guestJsImports } = await import('./guest-js.js');
  const { mode, imports, instantiateOptions, ...wasiOptions } = options;
  if (source && typeof source.then === 'function') source = await source;
  if (source && typeof source === 'object' && typeof source.arrayBuffer === 'function' && 'ok' in source) {
    if (!source.ok) throw new Error(`wasync: fetching ${source.url} failed: ${source.status} ${source.statusText}`);
    source = new Uint8Array(await source.arrayBuffer());
  }
  const guestJs = source instanceof WebAssembly.Module || ArrayBuffer.isView(source) || source instanceof ArrayBuffer ? guestJsImports(source) : {};
  const wasi = new WASI(wasiOptions);
  const extra = typeof imports === 'function' ? imports : () => imports ?? {};
  const inst = await instantiate(source, (ctx) => ({ ...guestJs, ...extra(ctx), ...wasi.getImportObject() }), {
    ...instantiateOptions,
    // C programs keep big frames live across a suspension (main with inlined
    // stdio): a roomier unwind buffer than the runtime's 16 KiB default
    asyncify: { dataSize: 65536, ...instantiateOptions?.asyncify },
    mode: mode ?? 'auto',
  });
  try {
    return await wasi.start(inst);
  } finally {
    inst.terminate?.();
  }
}
