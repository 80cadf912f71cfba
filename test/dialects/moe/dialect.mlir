// RUN: moe-opt --show-dialects | FileCheck %s
// CHECK: moe
