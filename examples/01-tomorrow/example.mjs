// Example 01, shared by the page and Node: the same module called twice --
// with plain WebAssembly.instantiate, and through wasync's instantiate(),
// which accepts synchronous imports unchanged (a plain return value is used
// directly; nothing suspends) in whatever mode the engine offers.
export async function run({ bytes, instantiate, print }) {
  const clock = [];
  // the imported clock: remember what it said, so the difference is exact
  const now = () => {
    const s = Math.floor(Date.now() / 1000);
    clock.push(s);
    return s;
  };
  const iso = (s) => new Date(s * 1000).toISOString();

  const { instance } = await WebAssembly.instantiate(bytes, { env: { now } });
  const t = instance.exports.tomorrow();
  const plain = t - clock.at(-1);
  print(`now (the imported clock): ${iso(clock.at(-1))}`);
  print(`tomorrow() from wasm:     ${iso(t)} (+${plain} s)`);

  const inst = await instantiate(bytes, { env: { now } });
  const t2 = await inst.exports.tomorrow(); // every wasync export returns a Promise
  const viaWasync = t2 - clock.at(-1);
  inst.terminate();
  print(`the same through wasync instantiate() [mode ${inst.mode}]: +${viaWasync} s`);
  return { plain, viaWasync, mode: inst.mode };
}
