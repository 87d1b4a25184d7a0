// Example 06, the host thread: does the asynchronous work the guest asked
// for (here: a timer that yields 54321), stores the answer in the shared
// cell and wakes the guest with Atomics.notify.
onmessage = ({ data: { sab, port } }) => {
  const cell = new Int32Array(sab);
  port.onmessage = ({ data: { ms } }) => {
    setTimeout(() => {
      postMessage({ line: `host: ${ms} ms timer fired, storing 54321 and calling Atomics.notify` });
      Atomics.store(cell, 1, 54321);
      Atomics.store(cell, 0, 1);
      Atomics.notify(cell, 0);
    }, ms);
  };
};
