// The one LEB128 reader of the JS side, for the few places that read a
// module's (or an object file's) bytes themselves: the import signatures
// (sig.js), custom sections (wasi/guest-js.js) and `wasync cc`'s object files
// (commands/cc.js). Bounds-checked: a truncated or over-long number throws
// a RangeError instead of reading past the end.

/** Reads an unsigned LEB128 at `o`: [value, offset after it]. */
export function readLeb(bytes, o) {
  let v = 0;
  let shift = 0;
  for (;;) {
    if (o >= bytes.length) throw new RangeError('wasync: unexpected end of the module while reading a LEB128 number');
    const b = bytes[o++];
    v += (b & 0x7f) * 2 ** shift;
    if (!(b & 0x80)) return [v, o];
    shift += 7;
    if (shift > 63) throw new RangeError('wasync: a LEB128 number in the module is too long');
  }
}
