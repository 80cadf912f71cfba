//===- ImportFuzzer.cpp - libFuzzer entry point for the ONNX importer -----===//
//
// Each input is a serialized model. Importing it must end in a module that verifies or in
// diagnostics, never in a crash, a sanitizer report or a hang.
//
// libonnx's shape inference runs in a forked child (see the importer), which is slow under
// ASan (tens of inputs a second instead of thousands) and fuzzes libonnx more than moec;
// it is off unless MOEC_FUZZ_INFER_SHAPES=1 is set.
//
//===----------------------------------------------------------------------===//

#include "moec/Importer/ONNXImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::DialectRegistry registry;
  moec::registerImportedDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  mlir::ScopedDiagnosticHandler swallowDiagnostics(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  // External data is looked up in a folder that does not exist: the fuzzer exercises the
  // checks on external data, never the files of the machine it runs on.
  static const bool inferShapes = [] {
    const char *setting = std::getenv("MOEC_FUZZ_INFER_SHAPES");
    return setting && std::strcmp(setting, "1") == 0;
  }();
  moec::ImportOptions options;
  options.inferShapes = inferShapes;
  moec::importONNXBuffer(llvm::StringRef(reinterpret_cast<const char *>(data), size),
                         "fuzz.onnx", "/nonexistent/moec-fuzz", context, options);
  return 0;
}
