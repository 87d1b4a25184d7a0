// Example 07 (callback half), shared by the page and Node: QuickJS's own
// promise jobs. QuickJS (here the npm build quickjs-emscripten, synchronous
// variant: no Asyncify, no JSPI) runs an async guest script. The host gives
// it `sleep(ms)`, which returns a *guest* Promise and resolves it from a host
// setTimeout; resolving only queues QuickJS jobs, so the host then runs
// them (executePendingJobs). The guest cannot hand its final value back as a
// return value -- eval returned long ago, with a pending promise -- so it
// calls the host function `value_return(v)`.
export async function run({ newQuickJSWASMModuleFromVariant, variant, guestSource, print }) {
  const QuickJS = await newQuickJSWASMModuleFromVariant(variant);
  const vm = QuickJS.newContext();
  const pending = new Set();
  let finish;
  const result = new Promise((resolve) => (finish = resolve));
  const t0 = performance.now();
  try {
    vm.newFunction('log', (h) => void print(vm.getString(h))).consume((f) => vm.setProp(vm.global, 'log', f));
    vm.newFunction('value_return', (h) => void finish(vm.dump(h))).consume((f) => vm.setProp(vm.global, 'value_return', f));
    vm.newFunction('sleep', (h) => {
      const ms = vm.getNumber(h);
      const deferred = vm.newPromise();
      pending.add(deferred);
      print(`host: sleep(${ms}) -> a guest Promise, resolved by a host timer`);
      setTimeout(() => {
        pending.delete(deferred);
        deferred.resolve();
        deferred.dispose();
        const jobs = vm.runtime.executePendingJobs(); // the guest's await continues here
        if (jobs.error) finish(`error: ${vm.dump(jobs.error)}`);
      }, ms);
      return deferred.handle;
    }).consume((f) => vm.setProp(vm.global, 'sleep', f));

    vm.unwrapResult(vm.evalCode(guestSource, 'guest.js')).dispose();
    print('host: evalCode returned; the guest is waiting on its promise');
    const value = await result;
    print(`host: value_return(${JSON.stringify(value)}) after ${Math.round(performance.now() - t0)} ms`);
    return { value, tookMs: performance.now() - t0 };
  } finally {
    for (const d of pending) d.dispose();
    vm.dispose();
  }
}
