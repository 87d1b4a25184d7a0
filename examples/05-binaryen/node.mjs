// node examples/05-binaryen/node.mjs   (after examples/build.sh)
// The two texts: build/examples/sleep.wasm.wat and sleep.async.wasm.wat.
import { runNode, readBuilt } from '../lib/node.mjs';
import { run } from './example.mjs';

await runNode((print) =>
  run({
    bytes: readBuilt('build/examples/sleep.async.wasm'),
    texts: {
      original: readBuilt('build/examples/sleep.wasm.wat').toString(),
      instrumented: readBuilt('build/examples/sleep.async.wasm.wat').toString(),
    },
    print,
  }),
);
