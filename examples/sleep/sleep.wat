;; The smallest asyncify demo: `run` calls three host functions in order.
;; `js_timeout` is asynchronous on the JS side (it waits with setTimeout and
;; then produces 54321); after `wasync asyncify` the module can wait for it
;; without blocking the event loop, and `run` still sees the value as if the
;; call had returned normally.
(module
  (import "env" "js_before" (func $js_before))
  (import "env" "js_timeout" (func $js_timeout (param i32) (result i32)))
  (import "env" "js_after" (func $js_after (param i32)))
  (memory (export "memory") 1 1)
  (func (export "run") (result i32)
    (local $v i32)
    (call $js_before)
    (local.set $v (call $js_timeout (i32.const 100)))
    (call $js_after (local.get $v))
    (local.get $v)))
