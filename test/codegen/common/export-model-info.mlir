// RUN: moe-opt %s -split-input-file -moec-export-model-info -verify-diagnostics | FileCheck %s
// The model info names every input and output with its dtype and dimensions.

// CHECK: llvm.mlir.global external constant @moec_model_info("target host\0Ainput tokens float32 batch,?,64\0Ainput mask bool batch\0Ainput step int64 -\0Aoutput out_0 float16 batch,64\0Aoutput output_1 uint8 3\0A\00")
func.func @main(%x: tensor<?x?x64xf32> {onnx.name = "tokens", onnx.dim_params = ["batch", "", ""]},
                %m: tensor<?xi1> {onnx.name = "mask", onnx.dim_params = ["batch"]},
                %s: tensor<i64> {onnx.name = "step"})
    -> (tensor<?x64xf16> {onnx.name = "out 0", onnx.dim_params = ["batch", ""]}, tensor<3xui8>) {
  %c = arith.constant 1 : index
  %0 = tensor.empty(%c) : tensor<?x64xf16>
  %1 = tensor.empty() : tensor<3xui8>
  return %0, %1 : tensor<?x64xf16>, tensor<3xui8>
}

// -----

// expected-error @+1 {{no entry function 'main' to describe}}
module {
  func.func @other() { return }
}

// -----

// expected-error @+1 {{input 'input_0' has element type 'complex<f32>', which executables cannot take or return yet}}
func.func @main(%x: tensor<2xcomplex<f32>>) { return }

// -----

// expected-error @+1 {{output 'output_0' has type 'tensor<*xf32>', but executables take and return ranked tensors only}}
func.func @main(%x: tensor<4xf32>) -> tensor<*xf32> {
  %0 = tensor.cast %x : tensor<4xf32> to tensor<*xf32>
  return %0 : tensor<*xf32>
}
