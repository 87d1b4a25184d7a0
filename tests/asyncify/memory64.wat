;; memory64: the data structure is {i64 pos, i64 end} and the control
;; exports take an i64 address.
;; memory64: yes
;; min-node: 26
;; run: go 5
;; run: go 0
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log_i64" (func $log_i64 (param i64)))
  (memory (export "memory") i64 2)
  (func $step (param $p i64) (param $x i32) (result i32)
    (i32.store (local.get $p) (call $sleep (local.get $x)))
    (i32.add (i32.load (local.get $p)) (local.get $x)))
  (func (export "go") (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $p i64)
    (local.set $p (i64.const 70000))
    (block $done
      (loop $l
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (call $step (local.get $p) (local.get $i))))
        (call $log_i64 (local.get $p))
        (local.set $p (i64.add (local.get $p) (i64.const 4)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $acc) (call $sleep (i32.const 100)))))
