// Runs inside QuickJS (example 07). `sleep` and `value_return` are host
// functions; sleep returns a guest Promise the host resolves later.
async function main() {
  log('guest: main() starts');
  await sleep(100);
  log('guest: slept 100 ms');
  await sleep(100);
  log('guest: slept another 100 ms');
  return 6 * 7;
}
main().then(value_return, (e) => value_return('error: ' + e));
