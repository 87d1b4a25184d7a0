// Runs the Emscripten build of the demo (build/examples/wasi/demo-emcc.js) in
// Node, for comparison: `node --no-experimental-fetch examples/wasi/emcc-node.cjs [ms]`
// (Emscripten 3.1.6's loader mistakes Node >= 18's fetch for a browser's);
// --ticks as in node.mjs.
// Its Node branch takes the program's arguments from process.argv (a global
// Module is shadowed by the generated file's own `var Module`), so the sleep
// and the data file's path (argv[2], read by emscripten_wget) go there.
const path = require('path');
if (process.argv.includes('--ticks')) {
  // like node.mjs --ticks: 10 ms timer ticks while the program ran
  process.argv.splice(process.argv.indexOf('--ticks'), 1);
  let n = 0;
  setInterval(() => n++, 10).unref();
  process.on('exit', () => console.error(`ticks: ${n}`));
}
const dir = path.resolve(__dirname, '../../build/examples/wasi');
process.argv.splice(2, Infinity, process.argv[2] ?? '300', path.join(__dirname, 'remote.txt'));
require(path.join(dir, 'demo-emcc.js'));
