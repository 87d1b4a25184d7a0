// Example 04, shared by the page and Node: one C file (sleep.c) with an
// async JavaScript import, built two ways (see examples/build.sh).
//
// 1. Emscripten 3.1.6 (`emcc -sASYNCIFY -sMODULARIZE`), run through its own
//    generated loader, build/examples/emcc-sleep.js. `createModule` is that
//    loader's factory. We hand it the .wasm bytes ourselves (`wasmBinary`):
//    left alone, 3.1.6's loader fetch()es the file by path, which Node >= 18
//    (whose fetch wants a URL) rejects with "Failed to parse URL".
// 2. wasync, no Emscripten: the guest kit's WASYNC_ASYNC_JS and `wasync cc
//    --reactor` (build/examples/wasync-sleep.wasm), run through wasync's
//    instantiate() in each mode this engine allows. The JavaScript body comes
//    out of the module's custom section (guestJsImports); printf reaches us
//    through WASI's stdout (js/wasi).
import { ms } from '../lib/out.mjs';

export const MODES = ['jspi', 'asyncify', 'worker'];

async function runEmcc({ createModule, wasmBinary, skip }, print) {
  print('-- sleep.c built with emcc -sASYNCIFY (Emscripten 3.1.6)');
  if (skip) {
    print(`skipped: ${skip}`);
    return { skip };
  }
  const Module = await createModule({
    wasmBinary,
    print: (line) => print(line),
    printErr: (line) => print(`stderr: ${line}`),
  });
  const t0 = performance.now();
  const result = await Module.ccall('run', 'number', [], [], { async: true });
  const tookMs = ms(t0);
  print(`ccall('run', ..., {async: true}) resolved to ${result} after ${Math.round(tookMs)} ms`);
  return { result, tookMs };
}

async function runWasync({ bytes, instantiate, supportedModes, WASI, guestJsImports }, print) {
  print('-- the same sleep.c built with wasync cc (WASYNC_ASYNC_JS), through instantiate()');
  const why = supportedModes(await WebAssembly.compile(bytes)).why;
  const modes = {};
  for (const mode of MODES) {
    if (why[mode]) {
      print(`${mode}: unavailable: ${why[mode]}`);
      modes[mode] = { available: false, why: why[mode] };
      continue;
    }
    // the C stdout, line by line, prefixed with the mode
    const decoder = new TextDecoder();
    let partial = '';
    const stdout = (chunk) => {
      const text = partial + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      partial = lines.pop();
      for (const line of lines) print(`${mode}: ${line}`);
    };
    const wasi = new WASI({ stdout });
    const inst = await instantiate(bytes, () => ({ ...guestJsImports(bytes), ...wasi.getImportObject() }), {
      mode,
      asyncify: { dataSize: 65536 }, // room for the C frames live across the await
    });
    try {
      const t0 = performance.now();
      const result = await inst.exports.run();
      const tookMs = ms(t0);
      if (partial) print(`${mode}: ${partial}`);
      print(`${mode}: run() resolved to ${result} after ${Math.round(tookMs)} ms`);
      modes[mode] = { available: true, result, tookMs };
    } finally {
      inst.terminate();
    }
  }
  return modes;
}

export async function run({ emcc, wasync, print }) {
  const emscripten = await runEmcc(emcc, print);
  const modes = await runWasync(wasync, print);
  return { emscripten, modes };
}
