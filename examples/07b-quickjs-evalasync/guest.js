// Runs inside QuickJS (wasync-quickjs). `sleep` is a host function that
// returns a Promise; exposed 'blocking' (the default), the guest sees a plain
// call: QuickJS's own wasm stack is suspended until the Promise settles. The
// script's completion value, 42, is what `await vm.evalAsync(...)` returns.
log('guest: starts');
sleep(100);
log('guest: slept 100 ms');
sleep(100);
log('guest: slept another 100 ms');
6 * 7;
