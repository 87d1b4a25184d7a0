// node examples/01-tomorrow/node.mjs   (after examples/build.sh)
import { instantiate } from '../../js/index.js';
import { runNode, readBuilt } from '../lib/node.mjs';
import { run } from './example.mjs';

await runNode((print) => run({ bytes: readBuilt('build/examples/tomorrow.wasm'), instantiate, print }));
