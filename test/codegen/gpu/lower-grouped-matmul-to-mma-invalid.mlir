// RUN: moe-opt %s -moec-lower-grouped-matmul-to-mma=chip=sm_75 -verify-diagnostics

// expected-error @below {{moec-lower-grouped-matmul-to-mma: mma.sync m16n8k16 on bf16/f16 needs sm_80 or newer, not 'sm_75'}}
module {
}
