// RUN: moe-opt %s -moec-approximate-math-functions | FileCheck %s
// f32 exp, tanh and erf become polynomials (arithmetic that vectorizes), scalar or vector;
// f16 goes through f32; f64 and functions without an approximation here stay math ops, for
// libm.

// CHECK-LABEL: func.func @f32
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: return
func.func @f32(%x: f32, %v: vector<16xf32>) -> (f32, f32, vector<16xf32>) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %v2 = math.erf %v : vector<16xf32>
  return %e, %t, %v2 : f32, f32, vector<16xf32>
}

// CHECK-LABEL: func.func @f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK-NOT: math.exp
// CHECK: arith.truncf %{{.*}} : f32 to f16
func.func @f16(%x: f16) -> f16 {
  %e = math.exp %x : f16
  return %e : f16
}

// CHECK-LABEL: func.func @kept
// CHECK: math.exp %{{.*}} : f64
// CHECK: math.sin %{{.*}} : f32
func.func @kept(%x: f64, %y: f32) -> (f64, f32) {
  %e = math.exp %x : f64
  %s = math.sin %y : f32
  return %e, %s : f64, f32
}
