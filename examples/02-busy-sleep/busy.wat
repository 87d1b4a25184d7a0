;; Example 02: the only way a synchronous module can "sleep" -- spin on an
;; imported clock (`env.now`, milliseconds as f64) until the time is up.
;; Returns how many times it read the clock.
(module
  (import "env" "now" (func $now (result f64)))
  (func (export "sleep") (param $ms f64) (result f64)
    (local $end f64)
    (local $reads f64)
    (local.set $end (f64.add (call $now) (local.get $ms)))
    (loop $spin
      (local.set $reads (f64.add (local.get $reads) (f64.const 1)))
      (br_if $spin (f64.lt (call $now) (local.get $end))))
    (local.get $reads)))
