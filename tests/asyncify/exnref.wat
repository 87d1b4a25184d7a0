;; The new exception handling (try_table / exnref): an exception thrown
;; after resuming is caught with catch_all_ref; the exnref is kept across
;; another suspension and rethrown with throw_ref.
;; Assembled with Binaryen's wasm-as (wabt 1.0.32 cannot parse these).
;; assembler: wasm-as
;; min-node: 26
;; run: exn 3
;; run: exn 4
;; run: exn 7
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $thrower (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $sleep (local.get $x)))
    (if (i32.and (local.get $v) (i32.const 1)) (then (throw $e (local.get $v))))
    (local.get $v))
  (func (export "exn") (param $x i32) (result i32)
    (local $ex exnref) (local $r i32)
    (local.set $ex
      (block $c (result exnref)
        (try_table (catch_all_ref $c)
          (local.set $r (call $thrower (local.get $x))))
        (ref.null exn)))
    (local.set $r (i32.add (local.get $r) (call $sleep (i32.const 9))))
    (if (ref.is_null (local.get $ex)) (then (return (local.get $r))))
    (call $log (local.get $r))
    (block $d (result i32)
      (try_table (catch $e $d)
        (throw_ref (local.get $ex)))
      (unreachable))))
