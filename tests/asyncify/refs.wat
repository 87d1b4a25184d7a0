;; Reference values (funcref, externref) live across an unwinding call, in
;; locals and on the operand stack, mixed with every numeric type.  (Binaryen
;; refuses this module: "Asyncify does not yet support non-number types".)
;; run: refs ext:apple 1
;; run: refs ext:pear 0
;; run: refs null 1
;; run: all 7 ext:kiwi
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

  ;; funcref and externref in locals and on the stack across calls
  (func (export "refs") (param $e externref) (param $which i32) (result externref)
    (local $f funcref) (local $r externref)
    (local.set $f (select (result funcref) (ref.func $f1) (ref.func $f2) (local.get $which)))
    (local.set $r (call $sleep_ext (local.get $e)))
    (table.set $t (i32.const 0) (local.get $f))
    (call $log (call_indirect $t (param i32) (result i32) (call $sleep (i32.const 5)) (i32.const 0)))
    (local.get $e)                         ;; externref on the stack across the call
    (drop (call $sleep (i32.const 6)))
    (call $log_ext)
    (call $log_ext (local.get $r))
    (local.get $r))

  ;; everything at once, with a helper that suspends deeper in the stack
  (func $deep (param $v i32) (result i32)
    (i32.add (call $sleep (local.get $v)) (call $sleep (i32.add (local.get $v) (i32.const 1)))))
  (func (export "all") (param $n i32) (param $e externref) (result i32)
    (local $a i64) (local $b f32) (local $c f64) (local $d v128) (local $f funcref) (local $g externref)
    (local.set $a (i64.const -81985529216486896))
    (local.set $b (f32.const 1.5e10))
    (local.set $c (f64.const -3.14159))
    (local.set $d (v128.const i64x2 0x0102030405060708 0x1112131415161718))
    (local.set $f (ref.func $f2))
    (local.set $g (local.get $e))
    (local.set $n (i32.add (local.get $n) (call $deep (local.get $n))))
    (call $log_i64 (local.get $a))
    (call $log_f32 (local.get $b))
    (call $log_f64 (local.get $c))
    (call $log_i64 (i64x2.extract_lane 1 (local.get $d)))
    (call $log_ext (local.get $g))
    (table.set $t (i32.const 1) (local.get $f))
    (i32.add (local.get $n) (call_indirect $t (param i32) (result i32) (i32.const 4) (i32.const 1)))))
