//===- MoEParserFuzzer.cpp - libFuzzer over parsing and verifying moe ops -===//
//
// moe-opt, the plugin and every pass parse moe IR that users write: whatever the text, the
// parser and the verifiers must reject bad input with a diagnostic, never crash.
//
//===----------------------------------------------------------------------===//

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <cstddef>
#include <cstdint>
#include <string>

// LLVM's BumpPtrAllocator poisons the unused rest of its slabs in its inline code, which is
// instrumented here, while the uninstrumented libMLIR allocates from the same slabs without
// unpoisoning: a false use-after-poison on most inputs. With manual poisoning off, ASan
// still checks every access against heap, stack and global bounds.
extern "C" const char *__asan_default_options() { return "allow_user_poisoning=0"; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    r->insert<moec::moe::MoEDialect, mlir::func::FuncDialect, mlir::arith::ArithDialect,
              mlir::tensor::TensorDialect>();
    return r;
  }();
  mlir::MLIRContext context(*registry, mlir::MLIRContext::Threading::DISABLED);
  context.allowUnregisteredDialects(false);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) {
    return mlir::success();
  });
  // MLIR's lexer reads the byte after the source, which it expects to be a NUL, as files
  // read through llvm::MemoryBuffer (moe-opt, moec) have; libFuzzer's data has none.
  std::string source(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  if (module)
    (void)mlir::verify(*module);
  return 0;
}
