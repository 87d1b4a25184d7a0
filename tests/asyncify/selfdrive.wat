;; A module that drives asyncify itself through the `asyncify.*` imports (no
;; JS involvement): $pause unwinds to `main`, which stops the unwind, logs,
;; and rewinds into $work again.  `main` is excluded from instrumentation
;; (Binaryen's remove-list spelling, which wasync accepts).
;; scenario: selfdrive
;; asyncify-args: --pass-arg=asyncify-removelist@main
(module
  (import "asyncify" "start_unwind" (func $start_unwind (param i32)))
  (import "asyncify" "stop_unwind" (func $stop_unwind))
  (import "asyncify" "start_rewind" (func $start_rewind (param i32)))
  (import "asyncify" "stop_rewind" (func $stop_rewind))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (global $sleeping (mut i32) (i32.const 0))
  (global $pauses (mut i32) (i32.const 0))

  (func $pause
    (if (global.get $sleeping)
      (then                                   ;; rewinding: we are back
        (global.set $sleeping (i32.const 0))
        (call $stop_rewind))
      (else                                   ;; normal: go to sleep
        (global.set $sleeping (i32.const 1))
        (i32.store (i32.const 1024) (i32.const 1032))   ;; pos
        (i32.store (i32.const 1028) (i32.const 4096))   ;; end
        (call $start_unwind (i32.const 1024)))))

  (func $work (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (local.set $acc (i32.const 1))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 3)) (local.get $i)))
        (call $pause)
        (call $log (local.get $acc))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))

  (func $main (export "main") (param $n i32) (result i32)
    (local $r i32)
    (loop $again
      (local.set $r (call $work (local.get $n)))
      (if (global.get $sleeping)
        (then
          (call $stop_unwind)
          (global.set $pauses (i32.add (global.get $pauses) (i32.const 1)))
          (call $log (i32.sub (i32.const 0) (global.get $pauses)))
          (call $start_rewind (i32.const 1024))
          (br $again))))
    (i32.add (local.get $r) (i32.shl (global.get $pauses) (i32.const 20)))))
