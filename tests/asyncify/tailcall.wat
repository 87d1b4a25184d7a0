;; Tail calls (return_call / return_call_indirect) to functions that suspend,
;; and a tail-recursive countdown that suspends every few steps.
;; run: countdown 25
;; run: countdown 3
;; run: via_table 0 10
;; run: via_table 1 10
;; run: chain 4
(module
  (type $unary (func (param i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (table $tab 2 funcref)
  (elem (table $tab) (i32.const 0) func $leaf_async $leaf_sync)

  (func $leaf_async (type $unary) (i32.add (call $sleep (local.get 0)) (i32.const 2)))
  (func $leaf_sync (type $unary) (i32.mul (local.get 0) (i32.const 5)))

  ;; acc-style countdown: suspends when n % 4 == 0, tail-calls itself
  (func $count (param $n i32) (param $acc i32) (result i32)
    (if (i32.eqz (local.get $n)) (then (return (local.get $acc))))
    (if (i32.eqz (i32.and (local.get $n) (i32.const 3)))
      (then (local.set $acc (i32.add (local.get $acc) (call $sleep (local.get $n))))))
    (return_call $count (i32.sub (local.get $n) (i32.const 1))
                        (i32.add (local.get $acc) (local.get $n))))
  (func (export "countdown") (param $n i32) (result i32)
    (call $count (local.get $n) (i32.const 0)))

  (func (export "via_table") (param $k i32) (param $x i32) (result i32)
    (local $t i32)
    (local.set $t (call $sleep (local.get $x)))
    (call $log (local.get $t))
    (return_call_indirect $tab (type $unary) (i32.add (local.get $t) (local.get $x)) (local.get $k)))

  ;; a suspending function tail-calls another suspending one
  (func $c2 (param $x i32) (result i32)
    (local $y i32)
    (local.set $y (call $sleep (local.get $x)))
    (return_call $leaf_async (i32.xor (local.get $y) (local.get $x))))
  (func (export "chain") (param $x i32) (result i32)
    (drop (call $sleep (i32.const 1)))
    (return_call $c2 (i32.add (local.get $x) (i32.const 1)))))
