// node examples/08-jspi/node.mjs   (after examples/build.sh; Node 26 has JSPI, Node 20 not)
import { runNode, readBuilt } from '../lib/node.mjs';
import { run } from './example.mjs';

await runNode((print) => run({ bytes: readBuilt('build/examples/sleep.wasm'), print }));
