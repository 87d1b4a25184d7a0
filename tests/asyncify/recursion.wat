;; Deep recursion: 200 instrumented frames on the stack at every suspension,
;; each with live locals of several types.
;; run: rec 200
;; run: rec 1
;; run: fib 12
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $rec (export "rec") (param $n i32) (result i32)
    (local $a i64) (local $b f64) (local $c i32)
    (local.set $a (i64.extend_i32_s (i32.mul (local.get $n) (i32.const 7))))
    (local.set $b (f64.convert_i32_s (local.get $n)))
    (if (i32.eqz (local.get $n)) (then (return (call $sleep (i32.const 0)))))
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 50)))
      (then (call $log (call $sleep (local.get $n)))))
    (local.set $c (call $rec (i32.sub (local.get $n) (i32.const 1))))
    (i32.add
      (i32.add (local.get $c) (i32.wrap_i64 (local.get $a)))
      (i32.trunc_f64_s (f64.mul (local.get $b) (f64.const 0.5)))))
  ;; a doubly-recursive function that suspends at every leaf
  (func $fib (export "fib") (param $n i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $n) (i32.const 2))
      (then (i32.and (call $sleep (local.get $n)) (i32.const 15)))
      (else
        (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1)))
                 (call $fib (i32.sub (local.get $n) (i32.const 2))))))))
