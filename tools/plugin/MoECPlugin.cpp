//===- MoECPlugin.cpp - moec as an mlir-opt dialect and pass plugin -------===//

#include "moec/InitMoEC.h"

#include "mlir/Tools/Plugins/DialectPlugin.h"
#include "mlir/Tools/Plugins/PassPlugin.h"
#include "llvm/Config/llvm-config.h"

extern "C" LLVM_ATTRIBUTE_WEAK mlir::DialectPluginLibraryInfo mlirGetDialectPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MoECDialects", LLVM_VERSION_STRING,
          [](mlir::DialectRegistry *registry) { moec::registerMoECDialects(*registry); }};
}

extern "C" LLVM_ATTRIBUTE_WEAK mlir::PassPluginLibraryInfo mlirGetPassPluginInfo() {
  return {MLIR_PLUGIN_API_VERSION, "MoECPasses", LLVM_VERSION_STRING,
          [] { moec::registerMoECPasses(); }};
}
