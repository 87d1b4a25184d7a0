// Example 07b, shared by the page and Node: example 07's exercise solved.
// In 07 the guest's result came back through a value_return callback,
// because evalCode returned while the guest was still waiting. With
// wasync-quickjs (quickjs/, `make quickjs`) the host writes
//
//   const value = await vm.evalAsync(guestSource);
//
// and `value` is the guest's last line, 42 -- in each of wasync's three
// modes where the engine has it: jspi, asyncify (the asyncify-instrumented
// QuickJS build) and worker. The guest's `sleep(ms)` is a host function
// returning a Promise; the guest's wasm stack suspends while it is pending,
// and a host timer at half the sleep shows the page (or Node) kept running.
import { ms } from '../lib/out.mjs';

export const MODES = ['jspi', 'asyncify', 'worker'];

export async function run({ QuickJS, supportedModes, guestSource, print }) {
  // asyncify needs no engine feature (the package ships the instrumented build)
  const { jspi, worker } = supportedModes().why;
  const why = { jspi, worker };
  const modes = {};
  for (const mode of MODES) {
    print(`-- mode ${mode}: const value = await vm.evalAsync(guest.js)`);
    if (why[mode]) {
      print(`skipped: ${why[mode]}`);
      modes[mode] = { available: false, why: why[mode] };
      continue;
    }
    const vm = await QuickJS.create({ mode });
    const timers = new Set();
    try {
      vm.expose('log', (text) => print(text), { style: 'sync' });
      vm.expose('sleep', (sleepMs) => {
        print(`host: sleep(${sleepMs}) -> a host Promise; the guest's stack is suspended`);
        timers.add(setTimeout(() => print(`host: a ${sleepMs / 2} ms timer ran while the guest waited`), sleepMs / 2));
        return new Promise((resolve) => setTimeout(resolve, sleepMs));
      });
      const t0 = performance.now();
      const value = await vm.evalAsync(guestSource, { filename: 'guest.js' });
      const tookMs = ms(t0);
      print(`value = ${JSON.stringify(value)} (${mode}, after ${Math.round(tookMs)} ms)`);
      modes[mode] = { available: true, value, tookMs };
    } finally {
      for (const t of timers) clearTimeout(t);
      vm.dispose();
    }
  }
  return { modes };
}
