;; Buffer overflow: recursion that suspends at several depths, run with a
;; data buffer that starts far too small (custom.mjs, scenario overflow).
;; scenario: overflow
;; run: rec 40
;; run: rec 7
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (func $rec (export "rec") (param $n i32) (result i32)
    (local $a i64) (local $b f64) (local $v v128)
    (local.set $a (i64.extend_i32_s (i32.mul (local.get $n) (i32.const 7))))
    (local.set $b (f64.convert_i32_s (local.get $n)))
    (local.set $v (i32x4.splat (local.get $n)))
    (if (i32.eqz (local.get $n)) (then (return (call $sleep (i32.const 0)))))
    (if (i32.eqz (i32.rem_u (local.get $n) (i32.const 6)))
      (then (call $log (call $sleep (local.get $n)))))
    (i32.add
      (i32.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (i32.wrap_i64 (local.get $a)))
      (i32.add (i32.trunc_f64_s (local.get $b)) (i32x4.extract_lane 2 (local.get $v))))))
