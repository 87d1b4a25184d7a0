// Load and faults on one instance, shared by the test scenario (CI size,
// tests/js/scenarios.mjs: loadAndFaults) and bench/runtime.mjs --load (full
// size: 10,000 concurrent suspended calls, 1,000 aborts and timeouts).
//
//   1. `calls` export calls suspended at once, each keeping salted data on
//      its C stack across two suspensions (compute): every result checked;
//   2. `aborts` calls in a row aborted or timed out while suspended;
//   3. `calls` calls whose import rejects every other time (fail_path);
//   4. phase 1 again: the runtime's guest memory (C stacks, asyncify
//      buffers) must all be back -- none in use -- and neither the memory nor
//      the runtime's kept regions may grow in the second round.
// Returns {calls, aborts, rejections, wrong, leakedBytes, grownBytes}
// (grownBytes is null in worker mode, whose memory is out of reach).
import { appImports, expectedCompute, delay } from './scenarios.mjs';

export async function runLoad({ instantiate, mode, load, calls, aborts }) {
  const file = mode === 'asyncify' ? 'app.async.wasm' : 'app.wasm';
  let sleepMs = 1;
  const imports = (ctx) => {
    const imps = appImports(ctx, [], {});
    imps.env.sleep_ms = function (ms) {
      return delay(sleepMs, ms + 1, this.signal);
    };
    imps.env.fail_async = async (code) => {
      await delay(0);
      if (code % 2) throw new Error(`odd ${code}`);
      return code;
    };
    return imps;
  };
  // many calls at once: small C stacks and asyncify buffers (the defaults,
  // the module's own 64 KiB stack and 16 KiB, would take 800 MB for 10,000)
  const inst = await instantiate(load(file), imports, { mode, stackSize: 4096, asyncify: { dataSize: 2048 } });
  const report = { calls: 0, aborts: 0, rejections: 0, wrong: 0, leakedBytes: 0, grownBytes: null };
  const memSize = () => (inst.instance ? inst.exports.memory.buffer.byteLength : null);

  const concurrent = async () => {
    const ps = [];
    for (let k = 0; k < calls; k++) ps.push(inst.exports.compute(3, k & 0xff, 1));
    const rs = await Promise.all(ps);
    rs.forEach((r, k) => {
      report.calls++;
      if (r !== expectedCompute(3, k & 0xff, 1)) report.wrong++;
    });
  };
  await concurrent();

  sleepMs = 60000; // suspended until aborted
  for (let i = 0; i < aborts; i++) {
    const ac = new AbortController();
    const p = inst.call('compute', [3, i & 0xff, 1], i % 2 ? { timeout: 1 } : { signal: ac.signal });
    if (i % 2 === 0) {
      await delay(0);
      ac.abort();
    }
    try {
      await p;
      report.wrong++;
    } catch (e) {
      if (e?.name === (i % 2 ? 'TimeoutError' : 'AbortError')) report.aborts++;
      else report.wrong++;
    }
  }
  sleepMs = 1;

  const ps = [];
  for (let k = 0; k < calls; k++) ps.push(inst.exports.fail_path(k % 100).then((v) => ({ ok: true, v }), (e) => ({ ok: false, e })));
  (await Promise.all(ps)).forEach((r, k) => {
    const code = k % 100;
    report.calls++;
    if (code % 2) {
      if (!r.ok && r.e?.message === `odd ${code}`) report.rejections++;
      else report.wrong++;
    } else if (!r.ok || r.v !== 2 * code) report.wrong++;
  });

  const size1 = memSize();
  const kept1 = inst.stats().regionBytesKept;
  await concurrent();
  if (size1 !== null) report.grownBytes = memSize() - size1 + (inst.stats().regionBytesKept - kept1);
  if ((await inst.exports.compute(5, 7, 3)) !== expectedCompute(5, 7, 3)) report.wrong++;
  report.leakedBytes = inst.stats().regionBytesInUse;
  if (inst.stats().pending !== 0) report.wrong++;
  inst.terminate();
  return report;
}
