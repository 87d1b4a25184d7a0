// node examples/09-every-engine/node.mjs   (after examples/build.sh; try Node 20 and 26)
import { instantiate, supportedModes } from '../../js/index.js';
import { runNode, readBuilt } from '../lib/node.mjs';
import { run } from './example.mjs';

await runNode((print) =>
  run({
    plain: readBuilt('build/examples/sleep.wasm'),
    instrumented: readBuilt('build/examples/sleep.async.wasm'),
    instantiate,
    supportedModes,
    print,
  }),
);
