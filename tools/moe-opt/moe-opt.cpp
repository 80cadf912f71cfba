//===- moe-opt.cpp - mlir-opt with moec's dialects and passes -------------===//
//
// Every upstream dialect, extension, pass and LLVM IR translation, plus the moe dialect
// and every moec pass and pipeline: the driver for lit tests and for trying passes by hand.
//
//===----------------------------------------------------------------------===//

#include "moec/InitMoEC.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  moec::registerMoECPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  moec::registerMoECDialects(registry);
  // gpu-module-to-binary translates kernels to LLVM IR.
  mlir::registerAllToLLVMIRTranslations(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "moec optimizer driver: upstream MLIR plus the moe dialect\n", registry));
}
