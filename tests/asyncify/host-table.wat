;; An exported table that the host fills with a function that suspends
;; (Emscripten's addFunction of a JS function using Asyncify.handleSleep),
;; with an explicit import list that does not name it: the indirect call
;; may reach a host function, so $caller is instrumented (as Binaryen does)
;; and the call unwinds and rewinds through it.  With --precise-indirect the
;; type analysis alone would decide (only $quiet is in the table: $caller
;; left as it is, and the suspension would break it).
;; scenario: hosttable
;; asyncify-args: --imports env.sleep
;; instrumented: caller direct
;; not-instrumented: quiet
(module
  (type $un (func (param i32) (result i32)))
  (import "env" "sleep" (func $sleep (param i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (memory (export "memory") 1)
  (table (export "tab") 2 funcref)
  (elem (i32.const 0) func $quiet)
  (func $quiet (type $un) (i32.add (local.get 0) (i32.const 1)))
  (func $caller (export "caller") (param $x i32) (result i32)
    (local $y i32)
    (local.set $y (i32.mul (local.get $x) (i32.const 3)))
    (call $log (local.get $y))
    (i32.add (call_indirect (type $un) (local.get $x) (i32.const 1)) (local.get $y)))
  ;; exported, so a reference to it may come back -- but of another type
  (func $direct (export "direct") (param i32)
    (drop (call $sleep (local.get 0)))))
