;; Unwinding from calls nested inside loops, ifs, blocks, br_table and
;; multi-value blocks, with values on the operand stack across the call.
;; run: loops 5
;; run: loops 0
;; run: branches 3
;; run: branches -4
;; run: table 0
;; run: table 1
;; run: table 2
;; run: table 7
;; run: multi 6
;; run: nested 4
;; run: stack 9
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)

  ;; a helper that suspends, called from the loops below
  (func $work (param $x i32) (result i32)
    (local $t i32)
    (local.set $t (i32.mul (local.get $x) (i32.const 10)))
    (i32.add (call $sleep (local.get $x)) (local.get $t)))

  ;; nested loops, each iteration suspends (directly and through $work)
  (func (export "loops") (param $n i32) (result i32)
    (local $i i32) (local $j i32) (local $acc i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $j (i32.const 0))
        (loop $inner
          (local.set $acc
            (i32.add (local.get $acc)
              (i32.xor (call $work (i32.add (local.get $i) (local.get $j)))
                       (local.get $j))))
          (call $log (local.get $acc))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br_if $inner (i32.lt_s (local.get $j) (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $acc))

  ;; if/else arms that both suspend; condition recomputed after the call
  (func (export "branches") (param $x i32) (result i32)
    (local $r i32)
    (if (i32.gt_s (local.get $x) (i32.const 0))
      (then
        (local.set $r (call $sleep (local.get $x)))
        (if (i32.and (local.get $r) (i32.const 1))
          (then (local.set $r (i32.add (local.get $r) (call $work (i32.const 2)))))
          (else (local.set $r (i32.sub (local.get $r) (call $work (i32.const 3)))))))
      (else
        (local.set $r (i32.mul (call $sleep (i32.sub (i32.const 0) (local.get $x))) (i32.const -1)))))
    (call $log (local.get $r))
    ;; a value-producing if whose arms suspend
    (i32.add (local.get $r)
      (if (result i32) (i32.lt_s (local.get $r) (i32.const 100))
        (then (call $sleep (i32.const 11)))
        (else (call $work (i32.const 12))))))

  ;; br_table dispatch: each case suspends, and the index itself comes from a call
  (func (export "table") (param $k i32) (result i32)
    (local $r i32)
    (block $end
      (block $default
        (block $c2
          (block $c1
            (block $c0
              (br_table $c0 $c1 $c2 $default
                (i32.rem_u (call $sleep (local.get $k)) (i32.const 4))))
            (local.set $r (call $sleep (i32.const 100)))
            (br $end))
          (local.set $r (call $work (i32.const 200)))
          (br $end))
        (local.set $r (i32.add (call $sleep (i32.const 300)) (call $sleep (i32.const 301))))
        (br $end))
      (local.set $r (i32.const -1)))
    (call $log (local.get $r))
    (local.get $r))

  ;; multi-value blocks with params: values flow in and out across calls
  (func (export "multi") (param $x i32) (result i32)
    (local $a i32) (local $b i32)
    (local.get $x)
    (i32.const 5)
    (block $blk (param i32 i32) (result i32 i32)
      (local.set $b)
      (local.set $a)
      (call $sleep (local.get $a))
      (call $work (local.get $b)))
    (local.set $b)
    (local.set $a)
    (call $log (local.get $a))
    (call $log (local.get $b))
    (i32.add (local.get $a) (local.get $b))
    (loop $l (param i32) (result i32 i32)
      (call $sleep)
      (i32.const 7))
    (i32.sub))

  ;; deep nesting: block in loop in if in block, with a call at the bottom
  (func (export "nested") (param $n i32) (result i32)
    (local $s i32)
    (block $out
      (if (local.get $n)
        (then
          (loop $again
            (block $skip
              (br_if $skip (i32.eqz (i32.and (local.get $n) (i32.const 1))))
              (local.set $s (i32.add (local.get $s) (call $sleep (local.get $n)))))
            (local.set $s (i32.add (local.get $s) (call $work (local.get $n))))
            (local.set $n (i32.sub (local.get $n) (i32.const 1)))
            (br_if $again (local.get $n))))))
    (local.get $s))

  ;; values left on the operand stack below the call (not in locals)
  (func (export "stack") (param $x i32) (result i32)
    (i32.add
      (i32.mul (local.get $x) (i32.const 3))
      (i32.sub
        (call $sleep (i32.add (local.get $x) (i32.const 1)))
        (i32.add (call $work (local.get $x)) (call $sleep (i32.const 2)))))))
