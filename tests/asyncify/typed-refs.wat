;; Typed function references and GC structs: call_ref and return_call_ref
;; to functions that suspend, a (ref null $u) and a GC struct reference live
;; across calls, and an exception thrown after resuming inside a try_table.
;; Assembled with Binaryen's wasm-as (wabt 1.0.32 cannot parse these).
;; assembler: wasm-as
;; min-node: 26
;; run: go 1
;; run: go 0
;; run: go 2
;; run: tail 5
;; run: point 4
(module
  (type $u (func (param i32) (result i32)))
  (type $pt (struct (field $x (mut i32)) (field $y i64)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (elem declare func $f $g)
  (func $f (type $u) (i32.add (call $sleep (local.get 0)) (i32.const 1)))
  (func $g (type $u) (i32.mul (local.get 0) (i32.const 3)))
  (func $thrower (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $sleep (local.get $x)))
    (if (i32.and (local.get $v) (i32.const 1)) (then (throw $e (local.get $v))))
    (local.get $v))
  (func (export "go") (param $x i32) (result i32)
    (local $r (ref null $u))
    (local.set $r (select (result (ref null $u)) (ref.func $f) (ref.func $g) (local.get $x)))
    (i32.add
      (block $h (result i32)
        (try_table (result i32) (catch $e $h)
          (call_ref $u (call $sleep (local.get $x)) (local.get $r))
          (call $thrower (local.get $x))
          (i32.add)))
      (call_ref $u (i32.const 7) (local.get $r))))
  (func $tailer (param $x i32) (result i32)
    (local $r (ref $u))
    (local.set $r (ref.func $f))
    (drop (call $sleep (local.get $x)))
    (return_call_ref $u (i32.add (local.get $x) (i32.const 1)) (local.get $r)))
  (func (export "tail") (param $x i32) (result i32)
    (call $tailer (local.get $x)))
  (func (export "point") (param $x i32) (result i32)
    (local $p (ref null $pt))
    (local.set $p (struct.new $pt (local.get $x) (i64.const 1234567890123)))
    (struct.set $pt $x (local.get $p) (call $sleep (struct.get $pt $x (local.get $p))))
    (call $log (struct.get $pt $x (local.get $p)))
    (i32.add (struct.get $pt $x (local.get $p))
      (i32.add (call $sleep (i32.const 2)) (i32.wrap_i64 (struct.get $pt $y (local.get $p)))))))
