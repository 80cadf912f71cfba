// RUN: moe-opt %s -split-input-file -moec-merge-gpu-modules | FileCheck %s
// Every kernel moves into one @moec_kernels; a clashing name is renamed, and each launch
// follows its kernel.

// CHECK-LABEL: func.func @launches
// CHECK: gpu.launch_func @moec_kernels::@main_kernel
// CHECK: gpu.launch_func @moec_kernels::@[[RENAMED:main_kernel_[0-9]+]]
// CHECK: gpu.module @moec_kernels
// CHECK-DAG: gpu.func @main_kernel(%{{.*}}: memref<4xf32>) kernel
// CHECK-DAG: gpu.func @[[RENAMED]](%{{.*}}: memref<8xf32>) kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @launches(%a: memref<4xf32>, %b: memref<8xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @main_kernel::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    gpu.launch_func @main_kernel_0::@main_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%b : memref<8xf32>)
    return
  }
  gpu.module @main_kernel {
    gpu.func @main_kernel(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @main_kernel_0 {
    gpu.func @main_kernel(%arg0: memref<8xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// Kernels already in @moec_kernels stay; outlined ones join them.
// CHECK-LABEL: func.func @into_existing
// CHECK: gpu.launch_func @moec_kernels::@mma_kernel
// CHECK: gpu.launch_func @moec_kernels::@into_existing_kernel
// CHECK: gpu.module @moec_kernels
// CHECK-DAG: gpu.func @mma_kernel() kernel
// CHECK-DAG: gpu.func @into_existing_kernel() kernel
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @into_existing() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @moec_kernels::@mma_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @into_existing_kernel::@into_existing_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
  gpu.module @moec_kernels {
    gpu.func @mma_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @into_existing_kernel {
    gpu.func @into_existing_kernel() kernel {
      gpu.return
    }
  }
}
