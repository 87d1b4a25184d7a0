// Example 06, the guest thread: runs the unmodified sleep.wasm. Its async
// import js_timeout asks the host thread for the work over a MessagePort,
// then blocks this thread in Atomics.wait on the shared cell until the host
// stores the answer and notifies. A worker may block; the page may not.
//   cell[0]: 0 = waiting, 1 = answer ready;  cell[1]: the answer
const WAIT_MS = 10000;

onmessage = async ({ data: { bytes, sab, port } }) => {
  const cell = new Int32Array(sab);
  const env = {
    js_before: () => postMessage({ line: 'guest: before' }),
    js_timeout: (ms) => {
      Atomics.store(cell, 0, 0);
      port.postMessage({ ms });
      postMessage({ line: `guest: js_timeout(${ms}) asked the host, blocking in Atomics.wait` });
      if (Atomics.wait(cell, 0, 0, WAIT_MS) === 'timed-out') throw new Error(`wasync: no answer from the host thread in ${WAIT_MS} ms`);
      return Atomics.load(cell, 1);
    },
    js_after: (v) => postMessage({ line: `guest: after ${v}` }),
  };
  try {
    const { instance } = await WebAssembly.instantiate(bytes, { env });
    postMessage({ result: instance.exports.run() });
  } catch (e) {
    postMessage({ error: String(e?.message ?? e) });
  }
};
