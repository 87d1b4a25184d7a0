// value.js -- the host side of the structured value format (quickjs/value.h
// has the layout): encode(value, max) -> Uint8Array, decode(bytes) -> value.
//
// Crossing: undefined, null, booleans, numbers, strings, BigInt, arrays,
// plain objects (own enumerable string keys), Uint8Array (other typed
// arrays and ArrayBuffers arrive as Uint8Array of their bytes), Date, Error
// (name, message, stack). Functions and symbols are refused; nesting deeper
// than 256 levels (a cycle) and encodings larger than `max` bytes throw.

const T = {
  UNDEFINED: 0, NULL: 1, FALSE: 2, TRUE: 3, NUMBER: 4, STRING: 5, BIGINT: 6,
  ARRAY: 7, OBJECT: 8, BYTES: 9, DATE: 10, ERROR: 11, INT: 12,
};
const DEPTH = 256;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

class Writer {
  constructor(max) {
    this.max = max;
    this.buf = new Uint8Array(256);
    this.dv = new DataView(this.buf.buffer);
    this.len = 0;
  }
  reserve(n) {
    const need = this.len + n;
    if (need > this.max)
      throw new RangeError(`wasync: the value is larger than maxValueSize (${this.max} bytes); pass less or raise the limit`);
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(x) {
    this.reserve(1);
    this.buf[this.len++] = x;
  }
  u32(x) {
    this.reserve(4);
    this.dv.setUint32(this.len, x, true);
    this.len += 4;
  }
  f64(x) {
    this.reserve(8);
    this.dv.setFloat64(this.len, x, true);
    this.len += 8;
  }
  bytes(b) {
    this.u32(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  str(s) {
    // ASCII fast path; else the exact UTF-8 bytes.
    const n = s.length;
    if (n < 64) {
      let ascii = true;
      for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break; }
      if (ascii) {
        this.u32(n);
        this.reserve(n);
        for (let i = 0; i < n; i++) this.buf[this.len++] = s.charCodeAt(i);
        return;
      }
    }
    this.bytes(utf8.encode(s));
  }
}

function put(w, v, depth) {
  if (depth > DEPTH) throw new RangeError(`wasync: the value nests deeper than ${DEPTH} levels (a cycle?); pass a flatter value`);
  switch (typeof v) {
    case 'undefined': return w.u8(T.UNDEFINED);
    case 'boolean': return w.u8(v ? T.TRUE : T.FALSE);
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        w.u8(T.INT);
        w.reserve(4);
        w.dv.setInt32(w.len, v, true);
        w.len += 4;
        return;
      }
      w.u8(T.NUMBER);
      return w.f64(v);
    case 'string':
      w.u8(T.STRING);
      return w.str(v);
    case 'bigint':
      w.u8(T.BIGINT);
      return w.str(v.toString());
    case 'object':
      break;
    default:
      throw new TypeError(`wasync: a ${typeof v} cannot be passed to QuickJS (pass data: JSON types, undefined, BigInt, Uint8Array, Date, Error)`);
  }
  if (v === null) return w.u8(T.NULL);
  if (Array.isArray(v)) {
    w.u8(T.ARRAY);
    w.u32(v.length);
    for (let i = 0; i < v.length; i++) put(w, v[i], depth + 1);
    return;
  }
  if (v instanceof Uint8Array || ArrayBuffer.isView(v)) {
    w.u8(T.BYTES);
    return w.bytes(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  if (v instanceof ArrayBuffer) {
    w.u8(T.BYTES);
    return w.bytes(new Uint8Array(v));
  }
  if (v instanceof Date) {
    w.u8(T.DATE);
    return w.f64(v.getTime());
  }
  if (v instanceof Error) {
    w.u8(T.ERROR);
    w.str(String(v.name ?? 'Error'));
    w.str(String(v.message ?? ''));
    w.str(String(v.stack ?? ''));
    return;
  }
  const keys = Object.keys(v);
  w.u8(T.OBJECT);
  w.u32(keys.length);
  for (const k of keys) {
    w.str(k);
    put(w, v[k], depth + 1);
  }
}

// One Writer reused by encode() (host calls encode one reply at a time);
// a nested encode (a getter of the value calling back in) gets its own.
let spare = null;

/**
 * The encoding of `value`; throws if it cannot cross or exceeds `max` bytes.
 * The bytes are valid until the next encode(): copy them to keep them.
 */
export function encode(value, max = 16 << 20) {
  // Fast paths (host call results are mostly small primitives): exact-size
  // bytes, no Writer.
  switch (typeof value) {
    case 'undefined':
      return new Uint8Array(1);
    case 'boolean':
      return Uint8Array.of(value ? T.TRUE : T.FALSE);
    case 'number':
      if ((value | 0) === value && !Object.is(value, -0)) {
        const b = new Uint8Array(5);
        b[0] = T.INT;
        b[1] = value;
        b[2] = value >> 8;
        b[3] = value >> 16;
        b[4] = value >> 24;
        return b;
      }
      break;
    default:
      if (value === null) return Uint8Array.of(T.NULL);
  }
  let w = spare;
  spare = null;
  if (w === null || w.buf.length > 1 << 16) w = new Writer(max);
  w.max = max;
  w.len = 0;
  try {
    put(w, value, 0);
    return w.buf.subarray(0, w.len);
  } finally {
    spare = w;
  }
}

/**
 * Writes the encoding of a primitive `value` (undefined, null, boolean,
 * number) at byte `at` of memory `u8`/`dv` if it fits in `cap` bytes:
 * returns its length, or -1 for any other value (use encode()).
 */
export function encodePrimitiveInto(value, u8, dv, at, cap) {
  switch (typeof value) {
    case 'undefined':
      if (cap < 1) return -1;
      u8[at] = T.UNDEFINED;
      return 1;
    case 'boolean':
      if (cap < 1) return -1;
      u8[at] = value ? T.TRUE : T.FALSE;
      return 1;
    case 'number':
      if ((value | 0) === value && !Object.is(value, -0)) {
        if (cap < 5) return -1;
        u8[at] = T.INT;
        dv.setInt32(at + 1, value, true);
        return 5;
      }
      if (cap < 9) return -1;
      u8[at] = T.NUMBER;
      dv.setFloat64(at + 1, value, true);
      return 9;
    case 'object':
      if (value !== null || cap < 1) return -1;
      u8[at] = T.NULL;
      return 1;
    default:
      return -1;
  }
}

function makeError(name, message, stack) {
  const ctors = { TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };
  const E = ctors[name] ?? Error;
  const e = new E(message);
  if (!(name in ctors) && name !== 'Error') Object.defineProperty(e, 'name', { value: name, configurable: true, writable: true });
  // The guest's frames first, as "    at f (file:line)" lines like V8's.
  e.stack = `${name}: ${message}\n${stack}`.trimEnd();
  e.guestStack = stack;
  return e;
}

// Reads values at p of bytes/dv (one object per decode, no closures).
class Reader {
  constructor(bytes, dv, p) {
    this.bytes = bytes;
    this.dv = dv;
    this.p = p;
  }
  u32() {
    const x = this.dv.getUint32(this.p, true);
    this.p += 4;
    return x;
  }
  f64() {
    const x = this.dv.getFloat64(this.p, true);
    this.p += 8;
    return x;
  }
  str() {
    const n = this.u32();
    const s = fromUtf8.decode(this.bytes.subarray(this.p, this.p + n));
    this.p += n;
    return s;
  }
  get() {
    const tag = this.bytes[this.p++];
    switch (tag) {
      case T.UNDEFINED: return undefined;
      case T.NULL: return null;
      case T.FALSE: return false;
      case T.TRUE: return true;
      case T.INT: {
        const x = this.dv.getInt32(this.p, true);
        this.p += 4;
        return x;
      }
      case T.NUMBER: return this.f64();
      case T.DATE: return new Date(this.f64());
      case T.STRING: return this.str();
      case T.BIGINT: return BigInt(this.str());
      case T.ARRAY: {
        const n = this.u32();
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = this.get();
        return a;
      }
      case T.OBJECT: {
        const n = this.u32();
        const o = {};
        for (let i = 0; i < n; i++) {
          const k = this.str();
          Object.defineProperty(o, k, { value: this.get(), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
      case T.BYTES: {
        const n = this.u32();
        const b = this.bytes.slice(this.p, this.p + n);
        this.p += n;
        return b;
      }
      case T.ERROR: {
        const name = this.str();
        const message = this.str();
        const stack = this.str();
        return makeError(name, message, stack);
      }
      default:
        throw new Error(`wasync: bad value tag ${tag} from QuickJS at byte ${this.p - 1} (a bug in quickjs/value.c)`);
    }
  }
}

/**
 * The value in `bytes` (a Uint8Array), or in bytes[start, end) with `dv` a
 * DataView over the same buffer as `bytes` (guest memory read in place).
 */
export function decode(bytes, start = 0, end = bytes.length, dv = null) {
  if (dv === null) {
    dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } else if (bytes.byteOffset !== 0 || dv.buffer !== bytes.buffer || dv.byteOffset !== 0) {
    throw new TypeError('wasync: decode: dv must view the whole buffer of bytes');
  }
  if (!(start >= 0 && start <= end && end <= bytes.length)) throw new RangeError(`wasync: decode: bad range ${start}..${end}`);
  if (start === end) return undefined;
  return new Reader(bytes, dv, start).get();
}
