;; Coroutines: two instances of `co` run alternately on two asyncify data
;; buffers.  `yield` (an import) suspends the running coroutine; the driver
;; resumes the other one by rewinding its buffer, passing it the value the
;; other coroutine yielded last.  The expected sequence comes from the same
;; algorithm written as JS generators (custom.mjs).
;; scenario: coroutines
(module
  (import "env" "yield" (func $yield (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; yields through a small recursion so the suspended stacks are deeper
  (func $emit (param $depth i32) (param $v i32) (result i32)
    (local $keep i32)
    (local.set $keep (i32.mul (local.get $depth) (i32.const 3)))
    (if (result i32) (local.get $depth)
      (then (i32.sub (call $emit (i32.sub (local.get $depth) (i32.const 1)) (local.get $v))
                     (local.get $keep)))
      (else (call $yield (local.get $v)))))
  (func (export "co") (param $id i32) (param $n i32) (result i32)
    (local $i i32) (local $acc i32) (local $got i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $got
          (call $emit (i32.rem_u (local.get $i) (i32.const 3))
            (i32.add (i32.add (i32.mul (local.get $id) (i32.const 1000))
                              (i32.mul (local.get $i) (i32.const 10)))
                     (i32.and (local.get $acc) (i32.const 7)))))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 31)) (local.get $got)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc)))
