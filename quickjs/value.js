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

/** The encoding of `value`; throws if it cannot cross or exceeds `max` bytes. */
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
  const w = new Writer(max);
  put(w, value, 0);
  return w.buf.subarray(0, w.len);
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

/** The value in `bytes` (a Uint8Array). */
export function decode(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let p = 0;
  const str = () => {
    const n = dv.getUint32(p, true);
    p += 4;
    const s = fromUtf8.decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const get = () => {
    const tag = bytes[p++];
    switch (tag) {
      case T.UNDEFINED: return undefined;
      case T.NULL: return null;
      case T.FALSE: return false;
      case T.TRUE: return true;
      case T.INT: p += 4; return dv.getInt32(p - 4, true);
      case T.NUMBER: p += 8; return dv.getFloat64(p - 8, true);
      case T.DATE: p += 8; return new Date(dv.getFloat64(p - 8, true));
      case T.STRING: return str();
      case T.BIGINT: return BigInt(str());
      case T.ARRAY: {
        const n = dv.getUint32(p, true);
        p += 4;
        const a = new Array(n);
        for (let i = 0; i < n; i++) a[i] = get();
        return a;
      }
      case T.OBJECT: {
        const n = dv.getUint32(p, true);
        p += 4;
        const o = {};
        for (let i = 0; i < n; i++) {
          const k = str();
          Object.defineProperty(o, k, { value: get(), enumerable: true, writable: true, configurable: true });
        }
        return o;
      }
      case T.BYTES: {
        const n = dv.getUint32(p, true);
        p += 4;
        const b = bytes.slice(p, p + n);
        p += n;
        return b;
      }
      case T.ERROR: {
        const name = str();
        const message = str();
        const stack = str();
        return makeError(name, message, stack);
      }
      default:
        throw new Error(`wasync: bad value tag ${tag} from QuickJS at byte ${p - 1} (a bug in quickjs/value.c)`);
    }
  };
  if (bytes.length === 0) return undefined;
  return get();
}
