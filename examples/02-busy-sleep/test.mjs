// What tests/examples/run.mjs checks for example 02 (the README says the same).
// Not a timing assertion on speed: a synchronous call cannot be interrupted,
// so the event loop's longest gap is at least the time the call took.
export default {
  title: 'A busy-wait sleep freezes the page',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    if (!(data.sleptMs >= data.sleepMs)) throw new Error(`the call took ${data.sleptMs} ms, less than the ${data.sleepMs} ms sleep`);
    // clocks are coarsened in browsers (Firefox: 1 ms); allow 2 ms of rounding
    if (!(data.maxGapMs >= data.sleptMs - 2)) throw new Error(`longest event-loop gap ${data.maxGapMs} ms < the ${data.sleptMs} ms call`);
    if (!lines.some((l) => /^longest event-loop gap meanwhile: \d+ ms/.test(l))) throw new Error('no "longest event-loop gap" line');
  },
};
