// Guest memory access, the same API in every mode.
//
// Imports that move strings or buffers in and out of the guest see one
// object, `GuestMemory`. Its primitives are readBytes / writeBytes /
// cStringLength / size; everything else (strings, integers, floats) is built
// on them here, once.
//
// LocalMemory serves the primitives straight from a WebAssembly.Memory (JSPI
// and Asyncify modes, where the instance lives on this thread). The worker
// mode's RemoteMemory (worker-host.js) serves them by asking the worker, which
// is blocked in Atomics.wait while an import runs and answers memory requests
// through a SharedArrayBuffer. Because of that, an import written against this
// API -- read the arguments, await something, write the answer -- behaves the
// same in all three modes.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function checkRange(ptr, len, size) {
  if (!Number.isInteger(ptr) || !Number.isInteger(len) || ptr < 0 || len < 0 || ptr + len > size) {
    throw new RangeError(`wasync: guest memory access out of bounds (ptr ${ptr}, len ${len}, memory size ${size})`);
  }
}

export class GuestMemory {
  /** Bytes [ptr, ptr+len) copied out of guest memory. */
  readBytes(ptr, len) {
    throw new Error('abstract');
  }

  /** Copies `bytes` (Uint8Array / ArrayBuffer / array of numbers) into guest memory at ptr. */
  writeBytes(ptr, bytes) {
    throw new Error('abstract');
  }

  /** Length of the NUL-terminated string at ptr (the NUL not counted). */
  cStringLength(ptr) {
    throw new Error('abstract');
  }

  /** Current memory size in bytes. */
  get size() {
    throw new Error('abstract');
  }

  /** UTF-8 string at ptr of len bytes; without len, up to the first NUL byte. */
  readString(ptr, len) {
    if (len === undefined) len = this.cStringLength(ptr);
    return decoder.decode(this.readBytes(ptr, len));
  }

  /**
   * Writes `str` as UTF-8 at ptr. With maxBytes, writes at most that many bytes
   * (never splitting a character). With {nul: true}, appends a NUL byte (counted
   * against maxBytes, not in the return value). Returns the number of string
   * bytes written.
   */
  writeString(ptr, str, maxBytes = Infinity, { nul = false } = {}) {
    let bytes = encoder.encode(String(str));
    const room = nul ? maxBytes - 1 : maxBytes;
    if (bytes.length > room) {
      let cut = Math.max(0, room);
      while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
      bytes = bytes.subarray(0, cut);
    }
    if (nul) {
      const withNul = new Uint8Array(bytes.length + 1);
      withNul.set(bytes);
      this.writeBytes(ptr, withNul);
    } else {
      this.writeBytes(ptr, bytes);
    }
    return bytes.length;
  }

  /** Number of UTF-8 bytes `str` needs. */
  static byteLength(str) {
    return encoder.encode(String(str)).length;
  }

  #scalar(ptr, n) {
    const b = this.readBytes(ptr, n);
    return new DataView(b.buffer, b.byteOffset, n);
  }

  #put(ptr, n, fill) {
    const b = new Uint8Array(n);
    fill(new DataView(b.buffer));
    this.writeBytes(ptr, b);
  }

  readU8(ptr) {
    return this.#scalar(ptr, 1).getUint8(0);
  }
  readI32(ptr) {
    return this.#scalar(ptr, 4).getInt32(0, true);
  }
  readU32(ptr) {
    return this.#scalar(ptr, 4).getUint32(0, true);
  }
  readI64(ptr) {
    return this.#scalar(ptr, 8).getBigInt64(0, true);
  }
  readF32(ptr) {
    return this.#scalar(ptr, 4).getFloat32(0, true);
  }
  readF64(ptr) {
    return this.#scalar(ptr, 8).getFloat64(0, true);
  }
  writeU8(ptr, v) {
    this.#put(ptr, 1, (d) => d.setUint8(0, v));
  }
  writeI32(ptr, v) {
    this.#put(ptr, 4, (d) => d.setInt32(0, v, true));
  }
  writeU32(ptr, v) {
    this.#put(ptr, 4, (d) => d.setUint32(0, v, true));
  }
  writeI64(ptr, v) {
    this.#put(ptr, 8, (d) => d.setBigInt64(0, BigInt(v), true));
  }
  writeF32(ptr, v) {
    this.#put(ptr, 4, (d) => d.setFloat32(0, v, true));
  }
  writeF64(ptr, v) {
    this.#put(ptr, 8, (d) => d.setFloat64(0, v, true));
  }

  /** A DataView over the whole memory (JSPI and Asyncify modes only). */
  view() {
    throw new Error(
      'wasync: view() is not available in worker mode (the memory lives in the worker); use readBytes/writeBytes',
    );
  }
}

function toU8(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && bytes instanceof SharedArrayBuffer))
    return new Uint8Array(bytes);
  return Uint8Array.from(bytes);
}

export { toU8 };

/** Memory of an instance on this thread. `get()` returns the WebAssembly.Memory (or null). */
export class LocalMemory extends GuestMemory {
  #get;
  #mem = null; // the WebAssembly.Memory once found (it never changes; its buffer may)
  #buf = null;
  #u8 = null;
  #dv = null;

  constructor(get) {
    super();
    this.#get = get;
  }

  /** The WebAssembly.Memory itself, or null when the module has none. */
  raw() {
    return (this.#mem ??= this.#get() ?? null);
  }

  #refresh() {
    const mem = (this.#mem ??= this.#get() ?? null);
    if (!mem) throw new Error('wasync: the module has no memory (export one named "memory")');
    const buf = mem.buffer;
    if (buf !== this.#buf) {
      this.#buf = buf;
      this.#u8 = new Uint8Array(buf);
      this.#dv = new DataView(buf);
    }
    return this.#u8;
  }

  get size() {
    return this.#refresh().length;
  }

  readBytes(ptr, len) {
    const u8 = this.#refresh();
    checkRange(ptr, len, u8.length);
    return u8.slice(ptr, ptr + len);
  }

  writeBytes(ptr, bytes) {
    const src = toU8(bytes);
    const u8 = this.#refresh();
    checkRange(ptr, src.length, u8.length);
    u8.set(src, ptr);
  }

  cStringLength(ptr) {
    const u8 = this.#refresh();
    checkRange(ptr, 0, u8.length);
    const end = u8.indexOf(0, ptr);
    if (end < 0) throw new RangeError(`wasync: unterminated string at ${ptr}`);
    return end - ptr;
  }

  readString(ptr, len) {
    const u8 = this.#refresh();
    if (len === undefined) len = this.cStringLength(ptr);
    checkRange(ptr, len, u8.length);
    return decoder.decode(u8.subarray(ptr, ptr + len));
  }

  readI32(ptr) {
    this.#refresh();
    checkRange(ptr, 4, this.#u8.length);
    return this.#dv.getInt32(ptr, true);
  }

  readU32(ptr) {
    this.#refresh();
    checkRange(ptr, 4, this.#u8.length);
    return this.#dv.getUint32(ptr, true);
  }

  writeI32(ptr, v) {
    this.#refresh();
    checkRange(ptr, 4, this.#u8.length);
    this.#dv.setInt32(ptr, v, true);
  }

  writeU32(ptr, v) {
    this.#refresh();
    checkRange(ptr, 4, this.#u8.length);
    this.#dv.setUint32(ptr, v, true);
  }

  view() {
    this.#refresh();
    return this.#dv;
  }

  /** A Uint8Array over the whole memory (JSPI and Asyncify modes only). */
  bytes() {
    return this.#refresh();
  }
}
