// node examples/02-busy-sleep/node.mjs   (after examples/build.sh)
import { runNode, readBuilt } from '../lib/node.mjs';
import { run } from './example.mjs';

await runNode((print) => run({ bytes: readBuilt('build/examples/busy.wasm'), print }));
