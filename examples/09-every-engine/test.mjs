// What tests/examples/run.mjs checks for example 09 (the README says the same).
// The timings are printed by the runner side by side, never asserted.
import { ENGINE_MODES as EXPECTED } from '../lib/out.mjs';

export default {
  title: 'One module, every engine',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ data }, where) {
    const order = ['jspi', 'asyncify', 'worker'];
    const available = order.filter((m) => data.modes[m]?.available);
    if (available.join() !== EXPECTED[where].join()) throw new Error(`modes ${available.join(', ')}; want ${EXPECTED[where].join(', ')} in ${where}`);
    for (const [mode, m] of Object.entries(data.modes)) {
      if (!m.available && !m.why) throw new Error(`${mode}: unavailable without a reason`);
      if (m.available && (m.right !== m.calls || m.before !== m.calls || m.after !== m.calls))
        throw new Error(`${mode}: ${m.right}/${m.calls} results right, js_before ${m.before}, js_after ${m.after}`);
    }
  },
};
