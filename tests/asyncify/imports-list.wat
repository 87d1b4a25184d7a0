;; An import list: only env.sleep may unwind (given with a Binaryen-style
;; wildcard); env.sleep_i64 is an ordinary synchronous import here.  Functions
;; that reach only the synchronous import are not instrumented.
;; asyncify-args: --pass-arg=asyncify-imports@env.sl*p,other.thing
;; sync-imports: sleep_i64
;; run: mixed 4
;; run: only_sync 9
;; instrumented: mixed uses_async
;; not-instrumented: only_sync uses_sync
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "sleep_i64" (func $sleep_i64 (param i64) (result i64)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $uses_async (param $x i32) (result i32)
    (i32.add (call $sleep (local.get $x)) (local.get $x)))
  (func $uses_sync (param $x i32) (result i32)
    (i32.wrap_i64 (call $sleep_i64 (i64.extend_i32_s (local.get $x)))))
  (func $mixed (export "mixed") (param $x i32) (result i32)
    (local $a i32)
    (local.set $a (call $uses_sync (local.get $x)))
    (call $log (local.get $a))
    (i32.add (local.get $a) (call $uses_async (local.get $a))))
  (func $only_sync (export "only_sync") (param $x i32) (result i32)
    (i32.mul (call $uses_sync (local.get $x)) (i32.const 3))))
