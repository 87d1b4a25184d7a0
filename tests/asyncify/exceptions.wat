;; Exceptions (legacy try/catch): calls that suspend inside try bodies, wasm
;; exceptions thrown after resuming (caught in the same function and in a
;; caller), and a host exception delivered while rewinding (the Promise
;; rejects; the import throws after stop_rewind) caught by catch_all.
;; run: body 3
;; run: body 4
;; run: outer 5
;; run: outer 6
;; run: host 8
(module
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "sleep_throw" (func $sleep_throw (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (tag $e (param i32))

  ;; suspends inside the try; throws after resuming when the value is odd
  (func $maybe_throw (param $x i32) (result i32)
    (local $v i32)
    (local.set $v (call $sleep (local.get $x)))
    (if (i32.and (local.get $v) (i32.const 1))
      (then (throw $e (local.get $v))))
    (local.get $v))

  (func (export "body") (param $x i32) (result i32)
    (local $r i32)
    (try (result i32)
      (do
        (local.set $r (call $sleep (local.get $x)))
        (call $log (local.get $r))
        (if (i32.and (local.get $r) (i32.const 2))
          (then (throw $e (i32.add (local.get $r) (i32.const 1000)))))
        (local.get $r))
      (catch $e
        (call $log (i32.const -1))))
    (i32.add (local.get $r)))

  ;; the exception is thrown in a callee after it resumed; caught here,
  ;; after which we suspend again
  (func (export "outer") (param $x i32) (result i32)
    (local $r i32)
    (local.set $r
      (try (result i32)
        (do (i32.add (call $maybe_throw (local.get $x)) (call $maybe_throw (i32.const 2))))
        (catch $e (i32.mul (i32.const -1)))))
    (i32.add (local.get $r) (call $sleep (local.get $r))))

  ;; the host rejects: the import throws a JS error during the rewind
  (func (export "host") (param $x i32) (result i32)
    (local $r i32)
    (local.set $r (i32.const 11))
    (try
      (do
        (local.set $r (call $sleep (local.get $x)))
        (local.set $r (i32.add (local.get $r) (call $sleep_throw (local.get $r)))))
      (catch_all
        (local.set $r (i32.sub (i32.const 0) (local.get $r)))))
    (local.get $r)))
