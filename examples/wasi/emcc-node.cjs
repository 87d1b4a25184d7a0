// Runs the Emscripten build of the demo (build/examples/wasi/demo-emcc.js) in
// Node, for comparison: `node --no-experimental-fetch examples/wasi/emcc-node.cjs [ms]`
// (Emscripten 3.1.6's loader mistakes Node >= 18's fetch for a browser's).
const path = require('path');
const dir = path.resolve(__dirname, '../../build/examples/wasi');
const args = process.argv.slice(2);
globalThis.Module = { arguments: [args[0] ?? '300', path.join(__dirname, 'remote.txt')] };
require(path.join(dir, 'demo-emcc.js'));
