(module
  (import "env" "sleep" (func $sleep))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32)
    (call $sleep)
    (block (result i32)
      (br_table 0 (i32.const 7) (local.get 0)))))
