// Marshalling: export arguments and results described once, converted where
// the guest memory lives.
//
// An export of compiled C takes pointers: a string argument is a pointer to
// NUL-terminated UTF-8 bytes in guest memory, a returned string a pointer the
// caller reads. Writing that by hand (malloc, writeString, call, readString,
// free) works in jspi and asyncify modes but not in worker mode, where the
// memory lives in the worker and is out of reach between calls. So the
// conversion is described -- `inst.ccall('greet', 'string', ['string'],
// ['Bob'])`, `inst.cwrap(...)`, `inst.exports.greet.with({args, returns})`
// -- and runs on the thread that holds the memory: on this thread for jspi
// and asyncify (runner.js), inside the worker for worker mode (worker.js).
// Both call the two functions below with the module's exports and a way to
// reach its memory.
//
// Argument types:
//   'i32' 'u32' 'f32' 'f64' 'number' 'pointer'   a Number, passed as is
//   'bool'                                       true/false -> 1/0
//   'i64'                                        a BigInt (a Number is converted)
//   'string'                                     copied in as NUL-terminated UTF-8
//   'bytes' ('array')                            an ArrayBuffer, any typed array or
//                                                an array of bytes, copied in
//   {out: N}                                     N zeroed bytes; read back after
//   {out: N, as: 'string'}                       the call (a string: up to the NUL)
// Result types: 'void', the number types above, 'bool', 'i64', 'string' (the
// NUL-terminated string at the returned pointer; the module keeps owning it).
// Memory for arguments comes from the module's malloc and is freed with its
// free after the call, whether the call succeeds, fails or is aborted.
//
// The marshalled value of a call is its result, or {value, out: [...]} (the
// out-buffers in argument order) when it has out-buffers.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const NUMBER_TYPES = new Set(['i32', 'u32', 'f32', 'f64', 'number', 'pointer']);

function bytesOf(v) {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer))
    return new Uint8Array(v);
  if (Array.isArray(v)) return Uint8Array.from(v);
  throw new TypeError('wasync: a bytes argument must be an ArrayBuffer, a typed array or an array of bytes');
}

/** Checks a {args, returns} description; throws a TypeError naming what is wrong. */
export function checkSignature(name, returns, argTypes) {
  if (!Array.isArray(argTypes)) throw new TypeError(`wasync: ${name}: argument types must be an array`);
  for (const t of argTypes) {
    const ok =
      typeof t === 'string'
        ? NUMBER_TYPES.has(t) || ['bool', 'i64', 'string', 'bytes', 'array'].includes(t)
        : t !== null && typeof t === 'object' && Number.isInteger(t.out) && t.out >= 0 && (t.as === undefined || t.as === 'string' || t.as === 'bytes');
    if (!ok) throw new TypeError(`wasync: ${name}: unknown argument type ${JSON.stringify(t)}`);
  }
  const r = returns ?? 'void';
  if (!(r === 'void' || NUMBER_TYPES.has(r) || r === 'bool' || r === 'i64' || r === 'string'))
    throw new TypeError(`wasync: ${name}: unknown result type ${JSON.stringify(returns)}`);
}

/**
 * Converts `args` into the export's raw arguments. `ex` holds malloc/free,
 * `bytes()` returns a Uint8Array over the whole memory (fresh: malloc may
 * grow it). Returns {values, allocs, outs}; call release() after the call.
 */
export function marshalArgs(name, ex, bytes, argTypes, args) {
  if (args.length !== argTypes.length)
    throw new TypeError(`wasync: ${name}: ${argTypes.length} argument types but ${args.length} arguments`);
  const malloc = ex.malloc ?? ex._malloc;
  const free = ex.free ?? ex._free;
  const state = { values: [], allocs: [], outs: [], free };
  const alloc = (n) => {
    if (typeof malloc !== 'function' || typeof free !== 'function')
      throw new Error(
        `wasync: ${name}: string, bytes and out arguments need the module to export malloc and free ` +
          '(clang: -Wl,--export=malloc,--export=free; Emscripten: _malloc/_free)',
      );
    const p = malloc(Math.max(n, 1)) >>> 0;
    if (p === 0) throw new Error(`wasync: ${name}: the module's malloc could not provide ${n} bytes`);
    state.allocs.push(p);
    return p;
  };
  try {
    for (let i = 0; i < argTypes.length; i++) {
      const t = argTypes[i];
      const v = args[i];
      if (t === 'string') {
        const b = encoder.encode(String(v));
        const p = alloc(b.length + 1);
        const mem = bytes();
        mem.set(b, p);
        mem[p + b.length] = 0;
        state.values.push(p);
      } else if (t === 'bytes' || t === 'array') {
        const b = bytesOf(v);
        const p = alloc(b.length);
        bytes().set(b, p);
        state.values.push(p);
      } else if (typeof t === 'object') {
        const p = alloc(t.out);
        bytes().fill(0, p, p + t.out);
        state.outs.push({ ptr: p, len: t.out, as: t.as ?? 'bytes' });
        state.values.push(p);
      } else if (t === 'i64') state.values.push(typeof v === 'bigint' ? v : BigInt(v));
      else if (t === 'bool') state.values.push(v ? 1 : 0);
      else state.values.push(Number(v));
    }
  } catch (e) {
    release(state);
    throw e;
  }
  return state;
}

function cString(mem, ptr) {
  const end = mem.indexOf(0, ptr);
  return decoder.decode(mem.subarray(ptr, end < 0 ? mem.length : end));
}

/** Converts the raw result (and the out-buffers) into the marshalled value. */
export function marshalResult(bytes, returns, raw, state) {
  let value;
  if (returns === 'string') value = (raw >>> 0) === 0 ? null : cString(bytes(), raw >>> 0);
  else if (returns === 'bool') value = raw !== 0;
  else if (returns === 'u32' || returns === 'pointer') value = raw >>> 0;
  else if (returns === 'void' || returns === undefined) value = undefined;
  else value = raw;
  if (state.outs.length === 0) return value;
  const mem = bytes();
  const out = state.outs.map((o) => (o.as === 'string' ? cString(mem.subarray(0, o.ptr + o.len), o.ptr) : mem.slice(o.ptr, o.ptr + o.len)));
  return { value, out };
}

/** Frees what marshalArgs allocated. */
export function release(state) {
  for (const p of state.allocs.splice(0)) state.free(p);
}
