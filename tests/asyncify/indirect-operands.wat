;; call_indirect whose table index and operands are computed before the call
;; (they sit on the operand stack while the callee suspends).  On rewind the
;; call is executed again and must reach the same function: the index is
;; live across the call even though no local holds it in the source.
;; run: go 1
;; run: go 2
;; run: go 3
;; run: twice 2
(module
  (type $t3 (func (param i64 i32 i32) (result i32)))
  (type $u (func (param i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (table $tab 8 funcref)
  (elem (table $tab) (i32.const 1) func $a $b $c)
  (elem (table $tab) (i32.const 5) func $ua $ub)
  (data (i32.const 64) "\05\00\00\00\00\00\00\00\01\00\00\00\02\00\00\00\03\00\00\00")
  (func $a (type $t3) (i32.add (i32.wrap_i64 (local.get 0)) (call $sleep (local.get 1))))
  (func $b (type $t3) (i32.mul (local.get 2) (call $sleep (local.get 1))))
  (func $c (type $t3) (i32.sub (call $sleep (local.get 2)) (local.get 1)))
  (func $ua (type $u) (call $sleep (local.get 0)))
  (func $ub (type $u) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
  (func $g (param $k i32) (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (call $sleep (local.get $x)))
    (i32.add (local.get $r)
      (call_indirect $tab (type $t3)
        (i64.load (i32.const 64)) (local.get $x) (i32.const -1)
        (i32.load (i32.add (i32.const 68) (i32.shl (local.get $k) (i32.const 2)))))))
  (func (export "go") (param $k i32) (result i32)
    (call $g (local.get $k) (i32.const 3)))
  ;; the index of the second call depends on the first call's result
  (func (export "twice") (param $x i32) (result i32)
    (call_indirect $tab (type $u)
      (call_indirect $tab (type $u) (local.get $x) (i32.const 6))
      (i32.add (i32.const 5) (i32.and (call $sleep (local.get $x)) (i32.const 1))))))
