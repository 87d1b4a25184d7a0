;; A call that suspends inside a catch handler: rewinding cannot re-enter a
;; catch body (the exception is gone), so the transform must either handle
;; it correctly or refuse the module with a clear error -- never produce code
;; that misbehaves.  (Binaryen's output traps with `unreachable` here.)
;; Also an exception thrown after resuming that escapes to JS.
;; accept-refusal: catch
;; run: escape 2
;; run: escape 3
;; run: escape 4
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))
  (func $maybe_throw (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $sleep (local.get $x)))
    (if (i32.and (local.get $v) (i32.const 1))
      (then (throw $e (local.get $v))))
    (local.get $v))
  ;; an exception thrown after resuming escapes to JS
  (func (export "escape") (param $x i32) (result i32)
    (try (result i32)
      (do (call $maybe_throw (local.get $x)))
      (catch $e (drop) (call $sleep (i32.const 1))))
    (drop)
    (call $maybe_throw (i32.add (local.get $x) (i32.const 1)))))
