// Import signatures from a module's bytes.
//
// Asyncify mode has to hand a dummy value back to the guest when an import
// starts an unwind, and that value must match the import's result type (an
// i64 result wants a BigInt, everything else a Number). The JS API does not
// reveal function types, so this file reads just enough of the binary --
// the type section and the import section -- to know, for every imported
// function, its result types. It also reports memory import limits, which
// worker mode needs to recreate an imported memory inside the worker.
//
// The reader is deliberately forgiving: on any surprise it returns null and
// the caller falls back to Number results. It never throws on bad input,
// because WebAssembly.compile has already validated the bytes.

import { readLeb } from './binary.js';

const SEC_TYPE = 1;
const SEC_IMPORT = 2;
const SEC_MEMORY = 5;
const SEC_DATA = 11;

function reader(bytes) {
  let pos = 0;
  return {
    get pos() {
      return pos;
    },
    set pos(v) {
      pos = v;
    },
    byte() {
      if (pos >= bytes.length) throw new RangeError('eof');
      return bytes[pos++];
    },
    u32() {
      const [v, next] = readLeb(bytes, pos);
      pos = next;
      return v;
    },
    skip(n) {
      pos += n;
      if (pos > bytes.length) throw new RangeError('eof');
    },
    name() {
      const n = this.u32();
      const s = new TextDecoder().decode(bytes.subarray(pos, pos + n));
      this.skip(n);
      return s;
    },
  };
}

// Value type codes -> short names. Reference types and anything unknown map
// to 'ref' (the dummy for those is null).
function valtype(r) {
  const b = r.byte();
  switch (b) {
    case 0x7f:
      return 'i32';
    case 0x7e:
      return 'i64';
    case 0x7d:
      return 'f32';
    case 0x7c:
      return 'f64';
    case 0x7b:
      return 'v128';
    case 0x63:
    case 0x64:
      r.u32(); // heap type index or (negative) abstract heap type, as LEB
      return 'ref';
    default:
      return 'ref';
  }
}

function readLimits(r) {
  const flags = r.byte();
  const initial = r.u32();
  const maximum = flags & 1 ? r.u32() : undefined;
  return { initial, maximum, shared: (flags & 2) !== 0, memory64: (flags & 4) !== 0 };
}

/**
 * Returns { funcs: [{module, name, results}], memories: [{module, name, limits}],
 * memory64 } for the imports of a module, or null when the bytes cannot be
 * read. memory64 names the first 64-bit memory ('env.mem' for an import,
 * 'index N' for a defined one), else null.
 */
export function readImportSignatures(bytes) {
  try {
    const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength);
    const r = reader(u8);
    r.skip(8);
    const types = [];
    const funcs = [];
    const memories = [];
    let memory64 = null;
    let memIndex = 0;
    let data = [];
    while (r.pos < u8.length) {
      const id = r.byte();
      const size = r.u32();
      const end = r.pos + size;
      if (id === SEC_TYPE) {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          let form = r.byte();
          // rec groups / sub types (GC): only plain func types are understood
          if (form === 0x4e) return { funcs: null, memories: null };
          if (form === 0x50 || form === 0x4f) {
            const n = r.u32();
            for (let k = 0; k < n; k++) r.u32();
            form = r.byte();
          }
          if (form !== 0x60) return { funcs: null, memories: null };
          const np = r.u32();
          for (let k = 0; k < np; k++) valtype(r);
          const nr = r.u32();
          const results = [];
          for (let k = 0; k < nr; k++) results.push(valtype(r));
          types.push(results);
        }
      } else if (id === SEC_IMPORT) {
        const count = r.u32();
        for (let i = 0; i < count; i++) {
          const module = r.name();
          const name = r.name();
          const kind = r.byte();
          if (kind === 0) {
            funcs.push({ module, name, results: types[r.u32()] ?? [] });
          } else if (kind === 1) {
            valtype(r);
            readLimits(r);
          } else if (kind === 2) {
            const limits = readLimits(r);
            if (limits.memory64 && memory64 === null) memory64 = `${module}.${name}`;
            memIndex++;
            memories.push({ module, name, limits });
          } else if (kind === 3) {
            valtype(r);
            r.byte();
          } else if (kind === 4) {
            r.byte();
            r.u32();
          } else {
            return null;
          }
        }
      } else if (id === SEC_MEMORY) {
        const count = r.u32();
        for (let i = 0; i < count; i++, memIndex++)
          if (readLimits(r).memory64 && memory64 === null) memory64 = `index ${memIndex}`;
      } else if (id === SEC_DATA) {
        data = readDataSegments(r);
      }
      r.pos = end;
    }
    return { funcs, memories, memory64, data };
  } catch {
    return null;
  }
}

// Active data segments of memory 0 placed at a constant address:
// [{offset, size}] (others are left out; null on a surprise).
function readDataSegments(r) {
  const out = [];
  const count = r.u32();
  for (let i = 0; i < count; i++) {
    const flags = r.u32();
    let offset = null;
    if (flags === 0 || flags === 2) {
      const mem = flags === 2 ? r.u32() : 0;
      const op = r.byte();
      if (op === 0x41 || op === 0x42) {
        // i32.const / i64.const: signed LEB; addresses are small and positive here
        offset = r.u32();
      } else if (op === 0x23) r.u32();
      else return null;
      if (r.byte() !== 0x0b) return null;
      if (mem !== 0) offset = null;
    }
    const size = r.u32();
    r.skip(size);
    if (offset !== null) out.push({ offset, size });
  }
  return out;
}

/**
 * The size of a module's own C stack, from the stack pointer's initial value
 * `top` and its data segments (`data`, from readImportSignatures; null when
 * unknown): wasm-ld puts the stack either first (stack-first: [0, top)) or
 * between the data and the heap ([end of data, top)). Errs on the large
 * side: zero-filled data (.bss) is not in the segments, so it counts as
 * stack; without any data information the whole of [0, top) does.
 */
export function moduleStackSize(top, data) {
  if (!(top > 0)) return 0;
  let below = 0;
  for (const s of data ?? []) {
    const end = s.offset + s.size;
    if (end <= top && end > below) below = end;
  }
  return Math.max(0, (top - below) & ~15);
}

/** A value of the given result list that the JS API accepts as a return value. */
export function dummyResult(results) {
  // Result types unknown (a WebAssembly.Module source: no bytes to read):
  // `false` converts to every number type -- 0 for i32/f32/f64, 0n for i64
  // (ToBigInt accepts booleans) -- where 0 or 0n would each fail one of them.
  if (!results) return false;
  if (results.length === 0) return undefined;
  const one = (t) => (t === 'i64' ? 0n : t === 'ref' ? null : 0);
  return results.length === 1 ? one(results[0]) : results.map(one);
}
