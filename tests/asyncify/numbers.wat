;; Numeric values live across an unwinding call, in locals, params and on the
;; operand stack: i32 i64 f32 f64 v128.
;; run: ints 12 -5000000000n
;; run: ints -1 9223372036854775807n
;; run: floats 2.5 -0.1
;; run: floats -1e300 3.4e38
;; run: vector 3
;; run: vector -2147483648
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "sleep_i64" (func $sleep_i64 (param i64) (result i64)))
  (import "env" "sleep_f32" (func $sleep_f32 (param f32) (result f32)))
  (import "env" "sleep_f64" (func $sleep_f64 (param f64) (result f64)))
  (import "env" "sleep_ext" (func $sleep_ext (param externref) (result externref)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "log_i64" (func $log_i64 (param i64)))
  (import "env" "log_f32" (func $log_f32 (param f32)))
  (import "env" "log_f64" (func $log_f64 (param f64)))
  (import "env" "log_ext" (func $log_ext (param externref)))
  (memory (export "memory") 1)
  (table $t 4 funcref)
  (elem declare func $f1 $f2)

  (func $f1 (param i32) (result i32) (i32.add (local.get 0) (i32.const 1000)))
  (func $f2 (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))

  (func (export "ints") (param $a i32) (param $b i64) (result i64)
    (local $c i64)
    (local.set $c (i64.mul (local.get $b) (i64.const 0x100000001)))
    ;; an i64 left on the stack while an i32 call suspends, and vice versa
    (i64.add
      (i64.xor (local.get $c) (i64.extend_i32_s (call $sleep (local.get $a))))
      (call $sleep_i64 (i64.add (local.get $b) (i64.extend_i32_u (local.get $a)))))
    (call $log_i64 (local.get $c))
    (call $log (local.get $a))
    (i64.add (i64.extend_i32_s (call $sleep (i32.wrap_i64 (local.get $b))))))

  (func (export "floats") (param $x f64) (param $y f32) (result f64)
    (local $z f32) (local $w f64)
    (local.set $z (f32.mul (local.get $y) (f32.const 3.25)))
    (local.set $w (f64.sqrt (f64.abs (local.get $x))))
    (f64.add
      (f64.promote_f32 (f32.add (local.get $z) (call $sleep_f32 (local.get $y))))
      (f64.mul (local.get $w) (call $sleep_f64 (local.get $x))))
    (call $log_f32 (local.get $z))
    (call $log_f64 (local.get $w))
    (f64.convert_i32_s (call $sleep (i32.trunc_f64_s (local.get $x))))
    (f64.add)
    (f64.add (local.get $x)))

  ;; v128 in a local and on the stack across calls
  (func (export "vector") (param $x i32) (result i32)
    (local $v v128) (local $u v128)
    (local.set $v (i32x4.splat (local.get $x)))
    (local.set $v (i32x4.replace_lane 1 (local.get $v) (i32.const 0x12345678)))
    (local.set $v (i32x4.replace_lane 3 (local.get $v) (i32.const -7)))
    (local.set $u
      (i32x4.add
        (local.get $v)                                           ;; on the stack
        (i32x4.splat (call $sleep (local.get $x)))))            ;; across this call
    (call $log (i32x4.extract_lane 0 (local.get $v)))
    (drop (call $sleep (i32.const 1)))
    (i32.add
      (i32.add (i32x4.extract_lane 0 (local.get $u)) (i32x4.extract_lane 1 (local.get $u)))
      (i32.add (i32x4.extract_lane 2 (local.get $u))
        (i32.add (i32x4.extract_lane 3 (local.get $u))
                 (i32x4.extract_lane 3 (local.get $v))))))

)
