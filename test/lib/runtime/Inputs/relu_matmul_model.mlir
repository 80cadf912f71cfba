// The stand-in model of relu_matmul_model.c as MLIR lowers it: y = relu(x @ w),
// w = arange(12).reshape(4, 3) / 10, with the moec_model_run wrapper the
// compiler generates (descriptors loaded and stored through void** arrays) and
// the output allocated by memref.alloc, i.e. malloc.

llvm.mlir.global external constant @moec_model_info("target host\0Ainput x float32 n,4\0Aoutput y float32 n,3\0A\00") {addr_space = 0 : i32}

func.func private @model(%x: memref<?x4xf32>) -> memref<?x3xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %ten = arith.constant 10.0 : f32
  %n = memref.dim %x, %c0 : memref<?x4xf32>
  %y = memref.alloc(%n) : memref<?x3xf32>
  scf.for %i = %c0 to %n step %c1 {
    scf.for %j = %c0 to %c3 step %c1 {
      %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
        %xv = memref.load %x[%i, %k] : memref<?x4xf32>
        %k3 = arith.muli %k, %c3 : index
        %kj = arith.addi %k3, %j : index
        %kji = arith.index_cast %kj : index to i32
        %kjf = arith.sitofp %kji : i32 to f32
        %w = arith.divf %kjf, %ten : f32
        %p = arith.mulf %xv, %w : f32
        %s = arith.addf %acc, %p : f32
        scf.yield %s : f32
      }
      %r = arith.maximumf %sum, %zero : f32
      memref.store %r, %y[%i, %j] : memref<?x3xf32>
    }
  }
  return %y : memref<?x3xf32>
}

func.func @moec_model_run(%inputs: !llvm.ptr, %outputs: !llvm.ptr) {
  %p0 = llvm.load %inputs : !llvm.ptr -> !llvm.ptr
  %d0 = llvm.load %p0 : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
  %x = builtin.unrealized_conversion_cast %d0 : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)> to memref<?x4xf32>
  %y = call @model(%x) : (memref<?x4xf32>) -> memref<?x3xf32>
  %dy = builtin.unrealized_conversion_cast %y : memref<?x3xf32> to !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
  %q0 = llvm.load %outputs : !llvm.ptr -> !llvm.ptr
  llvm.store %dy, %q0 : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, !llvm.ptr
  return
}
