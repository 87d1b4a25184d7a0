;; A third-party driver: the asyncify-wasm npm package (which keeps its data
;; buffer at bytes 16..1024 of memory "memory") runs the asyncified module;
;; its exports become async functions.  Recursion and loops.  (Only i32
;; async imports: asyncify-wasm returns `undefined` from an import while
;; unwinding, which V8 cannot convert to an i64.)
;; scenario: asyncifyWasm
;; run: walk 12 5
;; run: walk 3 0
;; run: wide 4
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $walk (export "walk") (param $n i32) (param $k i32) (result i32)
    (local $here i32)
    (if (i32.le_s (local.get $n) (i32.const 0)) (then (return (local.get $k))))
    (local.set $here (call $sleep (i32.add (local.get $n) (local.get $k))))
    (call $log (local.get $here))
    (i32.xor (local.get $here)
      (call $walk (i32.sub (local.get $n) (i32.const 1)) (i32.and (local.get $here) (i32.const 31)))))
  (func (export "wide") (param $n i32) (result i64)
    (local $acc i64)
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $acc (i64.add (i64.mul (local.get $acc) (i64.const 1000003))
          (i64.extend_i32_u (call $sleep (local.get $n)))))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
    (local.get $acc)))
