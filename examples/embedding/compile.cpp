//===- compile.cpp - Compile an ONNX model through moec's C++ API ---------===//
//
// Usage: moec-compile-example MODEL.onnx OUTPUT
// Compiles the model to a standalone executable, printing each diagnostic but remarks (why
// a layer that looks MoE did not raise) on one line.
//
//===----------------------------------------------------------------------===//

#include "moec/Compiler/Compile.h"

#include "llvm/Support/raw_ostream.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    llvm::errs() << "usage: " << argv[0] << " MODEL.onnx OUTPUT\n";
    return 1;
  }
  moec::CompileOptions options;
  options.output = moec::OutputKind::Executable;
  moec::CompileResult result = moec::compile(moec::ModelSource::file(argv[1]), argv[2], options);
  for (const moec::CompileDiagnostic &diagnostic : result.diagnostics)
    if (diagnostic.severity != mlir::DiagnosticSeverity::Remark)
      llvm::errs() << diagnostic.str() << "\n";
  llvm::outs() << argv[2] << ": " << (result.succeeded() ? "compiled" : "failed") << "\n";
  return static_cast<int>(result.status);
}
