// What tests/examples/run.mjs checks for example 01 (the README says the same).
export default {
  title: 'A synchronous import: tomorrow',
  page: 'index.html',
  node: ['node20', 'node26'],
  check({ lines, data }) {
    if (data.plain !== 86400) throw new Error(`plain WebAssembly: tomorrow - now = ${data.plain}, want 86400`);
    if (data.viaWasync !== 86400) throw new Error(`wasync: tomorrow - now = ${data.viaWasync}, want 86400`);
    if (!lines.some((l) => /^tomorrow\(\) from wasm: .*\(\+86400 s\)$/.test(l))) throw new Error('no "tomorrow() from wasm: ... (+86400 s)" line');
  },
};
