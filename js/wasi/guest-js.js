// The runtime side of WASYNC_ASYNC_JS (include/wasync/guest.h): the custom
// section "wasync.js" holds, per import, `name NUL (params) NUL {body} NUL`;
// guestJsImports() turns each into an async function of those parameters and
// returns {wasync_js: {name: fn}}, ready to merge into an import object.
// Inside a body, `wasync` is the guest memory of the running call (the same
// API in every mode: readString, writeString, readBytes, writeBytes, readU32,
// ...). Building the functions needs `new Function`; where a page's
// Content-Security-Policy forbids it (no 'unsafe-eval') the error says so.

import { readLeb } from '../binary.js';

const dec = new TextDecoder();

/** The payloads of custom section `name` (from bytes or a WebAssembly.Module). */
export function customSections(source, name) {
  if (source instanceof WebAssembly.Module) return WebAssembly.Module.customSections(source, name).map((b) => new Uint8Array(b));
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source.buffer ?? source, source.byteOffset ?? 0, source.byteLength);
  const out = [];
  const leb = (o) => readLeb(bytes, o);
  let o = 8;
  while (o < bytes.length) {
    const id = bytes[o++];
    const [size, p] = leb(o);
    if (id === 0) {
      const [nl, q] = leb(p);
      if (dec.decode(bytes.subarray(q, q + nl)) === name) out.push(bytes.subarray(q + nl, p + size));
    }
    o = p + size;
  }
  return out;
}

/** Parameter names from a C parameter list such as "(int a, const char *s)". */
function paramNames(list) {
  const inner = list.trim().replace(/^\(/, '').replace(/\)$/, '').trim();
  if (inner === '' || inner === 'void') return [];
  return inner.split(',').map((p) => {
    const m = /([A-Za-z_$][\w$]*)\s*(\[[^\]]*\])?\s*$/.exec(p.trim());
    if (!m) throw new Error(`wasync: WASYNC_ASYNC_JS parameter '${p.trim()}' has no name`);
    return m[1];
  });
}

/** [{name, params: string[], body}] declared with WASYNC_ASYNC_JS in the module. */
export function guestJsDeclarations(source) {
  const out = [];
  for (const sec of customSections(source, 'wasync.js')) {
    // entries of separate variables may be padded apart with NULs (alignment)
    const parts = dec.decode(sec).split('\0');
    for (let i = 0; i < parts.length; ) {
      if (parts[i] === '') {
        i++;
        continue;
      }
      if (i + 2 >= parts.length) throw new Error('wasync: the custom section wasync.js is truncated (rebuild with wasync cc)');
      out.push({ name: parts[i], params: paramNames(parts[i + 1]), body: parts[i + 2] });
      i += 3;
    }
  }
  return out;
}

/** {wasync_js: {name: async function}} for the WASYNC_ASYNC_JS bodies of a module ({} when none). */
export function guestJsImports(source) {
  const decls = guestJsDeclarations(source);
  if (!decls.length) return {};
  const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor;
  const ns = {};
  for (const d of decls) {
    let fn;
    try {
      fn = new AsyncFunction('wasync', ...d.params, d.body.replace(/^\s*\{/, '').replace(/\}\s*$/, ''));
    } catch (e) {
      if (e instanceof EvalError)
        throw new Error(
          `wasync: this page's Content-Security-Policy forbids new Function, so the WASYNC_ASYNC_JS import '${d.name}' cannot be built; allow 'unsafe-eval' in script-src or pass your own wasync_js.${d.name} import`,
        );
      throw new Error(`wasync: the JavaScript body of WASYNC_ASYNC_JS '${d.name}' does not compile: ${e.message}`);
    }
    ns[d.name] = function (...args) {
      return fn.call(this, this?.memory ?? this, ...args);
    };
  }
  return { wasync_js: ns };
}
