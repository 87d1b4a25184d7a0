;; Indirect calls.  Type $unary has a table entry that suspends, so a
;; call_indirect of $unary may unwind.  Type $binary's table entries never
;; suspend -- the only $binary function that suspends ($hidden_sleeper) is
;; never referenced (no table, elem, ref.func or export), so a call_indirect
;; of $binary cannot reach it: wasync must not instrument $pure_caller (checked
;; through --verbose).  Binaryen, without type analysis, instruments it.
;; run: run_async 0 5
;; run: run_async 1 5
;; run: run_async 2 -3
;; run: mixed 0 9
;; run: mixed 1 4
;; run: direct 6
;; instrumented: async_caller mixed sleeper
;; not-instrumented: pure_caller add mul
(module
  (type $unary (func (param i32) (result i32)))
  (type $binary (func (param i32 i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (table $tab 8 funcref)
  (elem (table $tab) (i32.const 0) func $sleeper $double $add $mul $negate)

  (func $sleeper (type $unary) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
  (func $double (type $unary) (i32.shl (local.get 0) (i32.const 1)))
  (func $negate (type $unary) (i32.sub (i32.const 0) (local.get 0)))
  (func $add (type $binary) (i32.add (local.get 0) (local.get 1)))
  (func $mul (type $binary) (i32.mul (local.get 0) (local.get 1)))
  (func $hidden_sleeper (type $binary) (call $sleep (i32.add (local.get 0) (local.get 1))))

  ;; k selects $sleeper (0), $double (1) or $negate (4)
  (func $async_caller (param $k i32) (param $x i32) (result i32)
    (local $keep i32)
    (local.set $keep (i32.mul (local.get $x) (i32.const 100)))
    (i32.add (local.get $keep)
      (call_indirect $tab (type $unary) (local.get $x)
        (select (i32.const 0) (select (i32.const 1) (i32.const 4) (i32.eq (local.get $k) (i32.const 1)))
                (i32.eqz (local.get $k))))))
  (func $pure_caller (param $k i32) (param $x i32) (result i32)
    (call_indirect $tab (type $binary) (local.get $x) (i32.const 7)
      (i32.add (i32.const 2) (i32.and (local.get $k) (i32.const 1)))))

  (func (export "run_async") (param $k i32) (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (call $async_caller (local.get $k) (local.get $x)))
    (call $log (local.get $r))
    (i32.add (local.get $r) (call $async_caller (i32.const 0) (local.get $r))))
  (func $mixed (export "mixed") (param $k i32) (param $x i32) (result i32)
    (local $p i32)
    (local.set $p (call $pure_caller (local.get $k) (local.get $x)))
    (i32.add (local.get $p) (call $sleep (local.get $p))))
  (func (export "direct") (param $x i32) (result i32)
    (call $hidden_sleeper (local.get $x) (i32.const 1))))
