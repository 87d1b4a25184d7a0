(module
  (import "env" "sleep" (func $sleep (param i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32)
    (call $sleep (local.get 0))
    (i32.add (local.get 0) (i32.const 1))))
