//===- Commands.cpp - What moec's commands share --------------------------===//

#include "Commands.h"

#include "moec/Compiler/Compile.h"

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

using namespace llvm;

void parseCommandLine(int argc, char **argv, cl::OptionCategory &category,
                      StringRef overview) {
  cl::HideUnrelatedOptions(category);
  // `moec COMMAND` is the program in usage lines and messages.
  std::string program = (Twine(argv[0]) + " " + argv[1]).str();
  std::vector<char *> args{program.data()};
  args.insert(args.end(), argv + 2, argv + argc);
  cl::ParseCommandLineOptions(int(args.size()), args.data(), overview);
}

std::optional<moec::ModelShape> raiseModelShape(StringRef path, int &exitCode) {
  moec::CompileOptions options;
  options.pipeline.stopAfter = moec::Stage::Raise;
  std::optional<moec::ModelShape> shape;
  moec::CompileResult result = moec::compileToModule(
      moec::ModelSource::file(path), options,
      [&](mlir::ModuleOp module) {
        shape = moec::getModelShape(module);
        return moec::CompileStatus::Success;
      },
      [](const moec::CompileDiagnostic &diagnostic) {
        if (diagnostic.severity != mlir::DiagnosticSeverity::Remark)
          errs() << diagnostic.str() << "\n";
      });
  exitCode = static_cast<int>(result.status);
  return result.succeeded() ? shape : std::nullopt;
}
