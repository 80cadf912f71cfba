// A stand-in for a model compiled for a GPU target: y = 2 * x on the GPU, in
// the calls that upstream's gpu-to-llvm and gpu.binary translation make for
// what moec emits (a device buffer; the copies, the launch and the free on one
// stream; one wait, before returning; the module loaded by a global
// constructor; its runs can be replayed as a CUDA graph). The kernel is
// hand-written PTX: on the fake driver of the tests it does not run, so
// y == x there.

module attributes {gpu.container_module} {

llvm.mlir.global external constant @moec_model_info("target sm_90a\0Ainput x float32 4\0Aoutput y float32 4\0A\00") {addr_space = 0 : i32}
llvm.mlir.global external constant @moec_gpu_graph_blocker("\00") {addr_space = 0 : i32}

// The kernel receives the buffer's memref descriptor (allocated, aligned,
// offset, size, stride) and doubles element threadIdx.x.
gpu.binary @moec_kernels [#gpu.object<#nvvm.target<chip = "sm_80">, properties = {O = 3 : i32},
  assembly = ".version 7.8\0A.target sm_80\0A.address_size 64\0A.visible .entry double_elements(.param .u64 allocated, .param .u64 aligned, .param .u64 offset,\0A  .param .u64 size, .param .u64 stride) {\0A  .reg .b32 %r<2>;\0A  .reg .b64 %rd<5>;\0A  .reg .f32 %f<3>;\0A  ld.param.u64 %rd1, [aligned];\0A  cvta.to.global.u64 %rd2, %rd1;\0A  mov.u32 %r1, %tid.x;\0A  mul.wide.u32 %rd3, %r1, 4;\0A  add.s64 %rd4, %rd2, %rd3;\0A  ld.global.f32 %f1, [%rd4];\0A  add.f32 %f2, %f1, %f1;\0A  st.global.f32 [%rd4], %f2;\0A  ret;\0A}\0A">]

func.func private @model(%x: memref<4xf32>) -> memref<4xf32> {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %t0 = gpu.wait async
  %buffer, %allocated = gpu.alloc async [%t0] () : memref<4xf32>
  %t1 = gpu.memcpy async [%allocated] %buffer, %x : memref<4xf32>, memref<4xf32>
  %t2 = gpu.launch_func async [%t1] @moec_kernels::@double_elements
      blocks in (%c1, %c1, %c1) threads in (%c4, %c1, %c1) args(%buffer : memref<4xf32>)
  %y = memref.alloc() : memref<4xf32>
  %t3 = gpu.memcpy async [%t2] %y, %buffer : memref<4xf32>, memref<4xf32>
  %t4 = gpu.dealloc async [%t3] %buffer : memref<4xf32>
  gpu.wait [%t4]
  return %y : memref<4xf32>
}

func.func @moec_model_run(%inputs: !llvm.ptr, %outputs: !llvm.ptr) {
  %p0 = llvm.load %inputs : !llvm.ptr -> !llvm.ptr
  %d0 = llvm.load %p0 : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
  %x = builtin.unrealized_conversion_cast %d0 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)> to memref<4xf32>
  %y = call @model(%x) : (memref<4xf32>) -> memref<4xf32>
  %dy = builtin.unrealized_conversion_cast %y : memref<4xf32> to !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>
  %q0 = llvm.load %outputs : !llvm.ptr -> !llvm.ptr
  llvm.store %dy, %q0 : !llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>, !llvm.ptr
  return
}

}
