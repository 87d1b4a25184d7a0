// A script for QuickJS-in-Wasm (run with examples/quickjs/run.mjs): it
// exercises closures, JSON, regexps, classes, BigInt, Date, Math, a Promise
// job and the host function, and prints a checksum line the tests compare.
function counter() {
  let n = 0;
  return () => ++n;
}
const c = counter();
c();
c();
const obj = JSON.parse('{"a":[1,2,{"b":"x"}],"n":1.5}');
class Point {
  constructor(x, y) { this.x = x; this.y = y; }
  norm() { return Math.hypot(this.x, this.y); }
}
const words = "the quick brown fox".match(/\b\w/g).join("");
let fib = [0, 1];
for (let i = 2; i < 30; i++) fib.push(fib[i - 1] + fib[i - 2]);
const big = (2n ** 70n).toString();
let resolved = "pending";
Promise.resolve(7).then((v) => { resolved = v; });
const fromHost = host(21);
const fromHost2 = host("shout");
print("closure", c(), "json", JSON.stringify(obj), "norm", new Point(3, 4).norm());
print("regexp", words, "fib29", fib[29], "big", big, "date", new Date(0).toISOString());
print("host", fromHost, fromHost2);
[c(), obj.a[2].b, new Point(3, 4).norm(), words, fib[29], big, fromHost, fromHost2].join(",");
