// Example 04, shared by the page and Node: sleep.c built by Emscripten 3.1.6
// (`emcc -sASYNCIFY -sMODULARIZE`, see examples/build.sh) and run through its own
// generated loader, build/examples/emcc-sleep.js. `createModule` is that
// loader's factory. We hand it the .wasm bytes ourselves (`wasmBinary`):
// left alone, 3.1.6's loader fetch()es the file by path, which Node >= 18
// (whose fetch wants a URL) rejects with "Failed to parse URL".
import { ms } from '../lib/out.mjs';

export async function run({ createModule, wasmBinary, print }) {
  print('-- sleep.c built with emcc -sASYNCIFY (Emscripten 3.1.6)');
  const Module = await createModule({
    wasmBinary,
    print: (line) => print(line),
    printErr: (line) => print(`stderr: ${line}`),
  });
  const t0 = performance.now();
  const pending = Module.ccall('run', 'number', [], [], { async: true });
  const result = await pending;
  const tookMs = ms(t0);
  print(`ccall('run', ..., {async: true}) resolved to ${result} after ${Math.round(tookMs)} ms`);
  return { result, tookMs };
}
