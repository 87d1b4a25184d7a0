;; Example 01: a synchronous import. The module has no clock of its own: it
;; imports one (`env.now`, seconds since 1970 as f64) and adds a day.
(module
  (import "env" "now" (func $now (result f64)))
  (func (export "tomorrow") (result f64)
    (f64.add (call $now) (f64.const 86400))))
