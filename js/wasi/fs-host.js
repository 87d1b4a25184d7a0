// A preopened Node host directory. index.js resolves every guest path
// component by component (`..` never above the preopen, symlink targets read
// and re-resolved inside it, absolute targets refused), so the `parts` this
// backend gets name a host path strictly below `root` with no symlink in any
// directory component; the last component may be a symlink and is never
// followed here (O_NOFOLLOW, lstat, lutimes). Calls are synchronous: a local
// disk answers in microseconds and the guest need not suspend for it.

import { E, FILETYPE, fail } from './constants.js';

const fs = globalThis.process?.getBuiltinModule?.('node:fs');
const pathMod = globalThis.process?.getBuiltinModule?.('node:path');

function typeOf(st) {
  if (st.isFile()) return FILETYPE.REGULAR_FILE;
  if (st.isDirectory()) return FILETYPE.DIRECTORY;
  if (st.isSymbolicLink()) return FILETYPE.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return FILETYPE.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return FILETYPE.BLOCK_DEVICE;
  if (st.isSocket()) return FILETYPE.SOCKET_STREAM;
  return FILETYPE.UNKNOWN;
}
// Node's utimes takes seconds as a double (about 0.2 µs steps today), WASI
// gives nanoseconds: the exact values set are remembered per inode and
// reported while the host still holds the rounded value we wrote.
const exactTimes = new Map();
function remember(st, atim, mtim) {
  exactTimes.set(`${st.dev}:${st.ino}`, { atim, mtim, hostA: st.atimeNs, hostM: st.mtimeNs });
}
function statOf(st) {
  const x = exactTimes.get(`${st.dev}:${st.ino}`);
  return {
    ...statRaw(st),
    ...(x && x.hostA === st.atimeNs && x.atim !== undefined ? { atim: x.atim } : {}),
    ...(x && x.hostM === st.mtimeNs && x.mtim !== undefined ? { mtim: x.mtim } : {}),
  };
}
function statRaw(st) {
  return {
    dev: st.dev, ino: st.ino, filetype: typeOf(st), nlink: st.nlink, size: st.size,
    atim: st.atimeNs, mtim: st.mtimeNs, ctim: st.ctimeNs,
  };
}
const secs = (ns) => Number(ns / 1000n) / 1e6;

export class HostFS {
  constructor(root) {
    if (!fs) throw new Error('wasync: a host directory preopen (a string path) needs Node; use an in-memory tree in browsers');
    this.root = pathMod.resolve(root);
    if (!fs.statSync(this.root).isDirectory()) throw new Error(`wasync: WASI preopen ${root} is not a directory`);
  }
  host(parts) {
    return parts.length ? pathMod.join(this.root, ...parts) : this.root;
  }
  lstat(parts) {
    return statOf(fs.lstatSync(this.host(parts), { bigint: true }));
  }
  readlink(parts) {
    return fs.readlinkSync(this.host(parts));
  }
  open(parts, { create, excl, trunc, directory, read, write }) {
    const p = this.host(parts);
    let st = null;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      if (e.code !== 'ENOENT' || !create) throw e;
    }
    if (st?.isSymbolicLink()) fail(E.LOOP);
    if (st?.isDirectory()) {
      if (create && excl) fail(E.EXIST);
      if (trunc || write) fail(E.ISDIR);
      return new HostDir(this, p);
    }
    if (directory) fail(st ? E.NOTDIR : E.NOENT);
    const C = fs.constants;
    let flags = (write ? (read ? C.O_RDWR : C.O_WRONLY) : C.O_RDONLY) | C.O_NOFOLLOW;
    if (create) flags |= C.O_CREAT;
    if (excl) flags |= C.O_EXCL;
    if (trunc) flags |= C.O_TRUNC;
    return new HostFile(fs.openSync(p, flags, 0o666));
  }
  mkdir(parts) {
    fs.mkdirSync(this.host(parts));
  }
  rmdir(parts) {
    if (parts.length === 0) fail(E.BUSY);
    fs.rmdirSync(this.host(parts));
  }
  unlink(parts) {
    const p = this.host(parts);
    if (fs.lstatSync(p).isDirectory()) fail(E.ISDIR);
    fs.unlinkSync(p);
  }
  symlink(target, parts) {
    fs.symlinkSync(target, this.host(parts));
  }
  link(from, to) {
    fs.linkSync(this.host(from), this.host(to));
  }
  rename(from, to) {
    if (from.length === 0 || to.length === 0) fail(E.BUSY);
    fs.renameSync(this.host(from), this.host(to));
  }
  utimes(parts, atim, mtim) {
    const p = this.host(parts);
    const st = fs.lstatSync(p, { bigint: true });
    fs.lutimesSync(p, secs(atim ?? st.atimeNs), secs(mtim ?? st.mtimeNs));
    remember(fs.lstatSync(p, { bigint: true }), atim ?? statOf(st).atim, mtim ?? statOf(st).mtim);
  }
}

class HostFile {
  constructor(fd) {
    this.fd = fd;
    this.filetype = typeOf(fs.fstatSync(fd));
  }
  stat() {
    return statOf(fs.fstatSync(this.fd, { bigint: true }));
  }
  size() {
    return fs.fstatSync(this.fd).size;
  }
  read(len, pos) {
    const buf = new Uint8Array(len);
    const n = fs.readSync(this.fd, buf, 0, len, pos);
    return buf.subarray(0, n);
  }
  write(bytes, pos) {
    return fs.writeSync(this.fd, bytes, 0, bytes.length, pos);
  }
  truncate(size) {
    fs.ftruncateSync(this.fd, size);
  }
  utimes(atim, mtim) {
    const st = fs.fstatSync(this.fd, { bigint: true });
    fs.futimesSync(this.fd, secs(atim ?? st.atimeNs), secs(mtim ?? st.mtimeNs));
    remember(fs.fstatSync(this.fd, { bigint: true }), atim ?? statOf(st).atim, mtim ?? statOf(st).mtim);
  }
  readdir() {
    fail(E.NOTDIR);
  }
  sync() {
    fs.fsyncSync(this.fd);
  }
  close() {
    fs.closeSync(this.fd);
  }
}

class HostDir {
  constructor(hostfs, p) {
    this.hostfs = hostfs;
    this.path = p;
    this.filetype = FILETYPE.DIRECTORY;
  }
  stat() {
    return statOf(fs.statSync(this.path, { bigint: true }));
  }
  size() {
    return 0;
  }
  read() {
    fail(E.ISDIR);
  }
  write() {
    fail(E.ISDIR);
  }
  truncate() {
    fail(E.ISDIR);
  }
  utimes(atim, mtim) {
    const st = fs.statSync(this.path, { bigint: true });
    fs.utimesSync(this.path, secs(atim ?? st.atimeNs), secs(mtim ?? st.mtimeNs));
    remember(fs.statSync(this.path, { bigint: true }), atim ?? statOf(st).atim, mtim ?? statOf(st).mtim);
  }
  readdir() {
    const self = fs.statSync(this.path, { bigint: true });
    const up = this.path === this.hostfs.root ? self : fs.statSync(pathMod.dirname(this.path), { bigint: true });
    const out = [
      { name: '.', ino: self.ino, filetype: FILETYPE.DIRECTORY },
      { name: '..', ino: up.ino, filetype: FILETYPE.DIRECTORY },
    ];
    for (const name of fs.readdirSync(this.path)) {
      try {
        const st = fs.lstatSync(pathMod.join(this.path, name), { bigint: true });
        out.push({ name, ino: st.ino, filetype: typeOf(st) });
      } catch {
        // removed meanwhile
      }
    }
    return out;
  }
  sync() {}
  close() {}
}
