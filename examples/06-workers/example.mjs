// Example 06 (browser): two workers, a SharedArrayBuffer and
// Atomics.wait/notify, by hand -- then the same module through wasync's
// worker mode in a few lines. Needs a cross-origin isolated page
// (wasync-serve sends COOP/COEP); says why and stops otherwise.
import { watchLoop, ms } from '../lib/out.mjs';

const NOT_ISOLATED =
  'the page is not cross-origin isolated, so there is no SharedArrayBuffer: serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (wasync-serve does)';

function byHand(bytes, print) {
  return new Promise((resolve, reject) => {
    const sab = new SharedArrayBuffer(8);
    const { port1, port2 } = new MessageChannel();
    const host = new Worker(new URL('./host-worker.js', import.meta.url));
    const guest = new Worker(new URL('./guest-worker.js', import.meta.url));
    const stop = () => {
      host.terminate();
      guest.terminate();
    };
    host.onmessage = ({ data }) => print(data.line);
    guest.onmessage = ({ data }) => {
      if (data.line) return print(data.line);
      stop();
      if (data.error) reject(new Error(data.error));
      else resolve(data.result);
    };
    host.onerror = guest.onerror = (e) => (stop(), reject(new Error(`worker: ${e.message}`)));
    host.postMessage({ sab, port: port1 }, [port1]);
    guest.postMessage({ bytes, sab, port: port2 }, [port2]);
  });
}

export async function run({ bytes, instantiate, print }) {
  if (!globalThis.crossOriginIsolated) {
    print(`skipped: ${NOT_ISOLATED}`);
    return { skip: NOT_ISOLATED };
  }
  print('-- by hand: guest worker + host worker + SharedArrayBuffer');
  const watch = watchLoop();
  let t0 = performance.now();
  const manual = await byHand(bytes, print);
  const manualMs = ms(t0);
  print(`result ${manual} after ${Math.round(manualMs)} ms`);

  print("-- the same with wasync: instantiate(bytes, imports, { mode: 'worker' })");
  const inst = await instantiate(
    bytes,
    {
      env: {
        js_before: () => print('before'),
        js_timeout: (t) => new Promise((resolve) => setTimeout(() => resolve(54321), t)),
        js_after: (v) => print(`after ${v}`),
      },
    },
    { mode: 'worker' },
  );
  t0 = performance.now();
  const viaWasync = await inst.exports.run();
  const wasyncMs = ms(t0);
  inst.terminate();
  const { maxGapMs, ticks } = await watch.stop();
  print(`result ${viaWasync} after ${Math.round(wasyncMs)} ms`);
  print(`meanwhile the page ran ${ticks} timer turns; longest event-loop gap ${maxGapMs} ms`);
  return { manual, manualMs, viaWasync, wasyncMs, maxGapMs, ticks, mode: inst.mode };
}
