// RUN: moe-opt %s -split-input-file -verify-diagnostics
// Every verifier error of moe.check: a message the runtime could not format.

func.func @too_many_values(%ok: i1, %v: i64) {
  // expected-error @+1 {{takes at most 2 values}}
  moe.check %ok, "{0} {1} {2}"(%v, %v, %v : i64, i64, i64)
  return
}

// -----

func.func @placeholder_without_value(%ok: i1, %v: i64) {
  // expected-error @+1 {{message has '{' at 4 that is neither '{{' nor '{N}' for one of its 1 values}}
  moe.check %ok, "{0} {1}"(%v : i64)
  return
}

// -----

func.func @lone_brace(%ok: i1) {
  // expected-error @+1 {{message has '{' at 0 that is neither '{{' nor '{N}' for one of its 0 values}}
  moe.check %ok, "{ oops"
  return
}
