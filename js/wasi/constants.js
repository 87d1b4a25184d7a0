// WASI preview1 numbers (witx names): errno, file types, flags and rights.

export const E = {
  SUCCESS: 0, TOOBIG: 1, ACCES: 2, AGAIN: 6, BADF: 8, BUSY: 10, EXIST: 20, FAULT: 21, FBIG: 22,
  INVAL: 28, IO: 29, ISDIR: 31, LOOP: 32, MFILE: 33, NAMETOOLONG: 37, NOENT: 44, NOMEM: 48,
  NOSPC: 51, NOSYS: 52, NOTDIR: 54, NOTSOCK: 57, NOTEMPTY: 55, NOTSUP: 58, NOTTY: 59, OVERFLOW: 61, PERM: 63,
  PIPE: 64, ROFS: 69, SPIPE: 70, XDEV: 75, NOTCAPABLE: 76,
};

export const FILETYPE = { UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SOCKET_DGRAM: 5, SOCKET_STREAM: 6, SYMBOLIC_LINK: 7 };
export const FDFLAGS = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 };
export const OFLAGS = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 };
export const LOOKUP_SYMLINK_FOLLOW = 1;
export const FSTFLAGS = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 };
export const WHENCE = { SET: 0, CUR: 1, END: 2 };
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME: 2, THREAD_CPUTIME: 3 };
export const EVENTTYPE = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 };
export const SUBCLOCK_ABSTIME = 1;
export const EVENT_FD_READWRITE_HANGUP = 1;

const R = (bit) => 1n << BigInt(bit);
export const RIGHTS = {
  FD_DATASYNC: R(0), FD_READ: R(1), FD_SEEK: R(2), FD_FDSTAT_SET_FLAGS: R(3), FD_SYNC: R(4),
  FD_TELL: R(5), FD_WRITE: R(6), FD_ADVISE: R(7), FD_ALLOCATE: R(8), PATH_CREATE_DIRECTORY: R(9),
  PATH_CREATE_FILE: R(10), PATH_LINK_SOURCE: R(11), PATH_LINK_TARGET: R(12), PATH_OPEN: R(13),
  FD_READDIR: R(14), PATH_READLINK: R(15), PATH_RENAME_SOURCE: R(16), PATH_RENAME_TARGET: R(17),
  PATH_FILESTAT_GET: R(18), PATH_FILESTAT_SET_SIZE: R(19), PATH_FILESTAT_SET_TIMES: R(20),
  FD_FILESTAT_GET: R(21), FD_FILESTAT_SET_SIZE: R(22), FD_FILESTAT_SET_TIMES: R(23),
  PATH_SYMLINK: R(24), PATH_REMOVE_DIRECTORY: R(25), PATH_UNLINK_FILE: R(26),
  POLL_FD_READWRITE: R(27), SOCK_SHUTDOWN: R(28), SOCK_ACCEPT: R(29),
};
export const RIGHTS_ALL = (1n << 30n) - 1n;
const r = RIGHTS;
export const RIGHTS_FILE =
  r.FD_DATASYNC | r.FD_READ | r.FD_SEEK | r.FD_FDSTAT_SET_FLAGS | r.FD_SYNC | r.FD_TELL | r.FD_WRITE |
  r.FD_ADVISE | r.FD_ALLOCATE | r.FD_FILESTAT_GET | r.FD_FILESTAT_SET_SIZE | r.FD_FILESTAT_SET_TIMES |
  r.POLL_FD_READWRITE;
export const RIGHTS_DIR =
  r.FD_FDSTAT_SET_FLAGS | r.FD_SYNC | r.FD_ADVISE | r.PATH_CREATE_DIRECTORY | r.PATH_CREATE_FILE |
  r.PATH_LINK_SOURCE | r.PATH_LINK_TARGET | r.PATH_OPEN | r.FD_READDIR | r.PATH_READLINK |
  r.PATH_RENAME_SOURCE | r.PATH_RENAME_TARGET | r.PATH_FILESTAT_GET | r.PATH_FILESTAT_SET_SIZE |
  r.PATH_FILESTAT_SET_TIMES | r.FD_FILESTAT_GET | r.FD_FILESTAT_SET_TIMES | r.PATH_SYMLINK |
  r.PATH_REMOVE_DIRECTORY | r.PATH_UNLINK_FILE;
export const RIGHTS_TTY = r.FD_READ | r.FD_FDSTAT_SET_FLAGS | r.FD_WRITE | r.FD_FILESTAT_GET | r.POLL_FD_READWRITE;

/** An errno raised inside the implementation; syscalls return its number. */
export class WasiError extends Error {
  constructor(errno) {
    super(`wasi errno ${errno}`);
    this.errno = errno;
  }
}
export const fail = (errno) => {
  throw new WasiError(errno);
};

const NODE_CODES = {
  ENOENT: E.NOENT, EEXIST: E.EXIST, ENOTDIR: E.NOTDIR, EISDIR: E.ISDIR, ENOTEMPTY: E.NOTEMPTY,
  EACCES: E.ACCES, EPERM: E.PERM, EBADF: E.BADF, EINVAL: E.INVAL, ELOOP: E.LOOP, EXDEV: E.XDEV,
  ENAMETOOLONG: E.NAMETOOLONG, ENOSPC: E.NOSPC, EROFS: E.ROFS, EMFILE: E.MFILE, EBUSY: E.BUSY,
  ESPIPE: E.SPIPE, EFBIG: E.FBIG, ENOTSUP: E.NOTSUP, EOPNOTSUPP: E.NOTSUP, EAGAIN: E.AGAIN,
  EPIPE: E.PIPE, ENOSYS: E.NOSYS, EOVERFLOW: E.OVERFLOW,
};

/** The errno for any exception raised while serving a syscall. */
export function errnoOf(e) {
  if (e instanceof WasiError) return e.errno;
  if (e && typeof e.code === 'string' && NODE_CODES[e.code] !== undefined) return NODE_CODES[e.code];
  if (e instanceof RangeError) return E.FAULT; // guest pointer outside memory
  return E.IO;
}
