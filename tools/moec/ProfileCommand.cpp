//===- ProfileCommand.cpp - moec profile: tokens per expert on real inputs ===//
//
// `moec profile MODEL.onnx --input NAME=FILE.npy ... [-o PROFILE.json]`: compiles the model
// for the host into a temporary folder, runs it once on the inputs with
// MOEC_ROUTING_PROFILE set, so that the runtime's routing kernel counts the tokens of every
// expert of every MoE layer (lib/runtime/cpu/RoutingProfile.h), and writes those counts with
// the layers' names: what `moec plan --profile` and the sharding's placement read
// (docs/sharding.md).
//
// Exit codes as moec's: 1 a bad command line or a compile this build cannot do, 2 a bad
// model or input (the program's own message and code when the run fails).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "moec/Compiler/Compile.h"
#include "moec/Compiler/ShardingPlan.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <string>
#include <vector>

using namespace llvm;

namespace {


cl::OptionCategory profileCategory("moec profile options");

struct ProfileCommandOptions {
  cl::opt<std::string> modelPath{cl::Positional, cl::desc("<model.onnx | model.mlir>"),
                                 cl::cat(profileCategory)};
  cl::list<std::string> inputs{
      "input", cl::value_desc("NAME=FILE.npy"),
      cl::desc("An input of the model, as its executable takes them (repeatable)"),
      cl::cat(profileCategory)};
  cl::opt<std::string> outputPath{"o", cl::value_desc("path"), cl::init("-"),
                                  cl::desc("Where to write the profile ('-': stdout)"),
                                  cl::cat(profileCategory)};
};

} // namespace

int runProfileCommand(int argc, char **argv) {
  ProfileCommandOptions options;
  parseCommandLine(argc, argv, profileCategory,
                   "moec profile: the tokens each expert of each MoE layer gets on sample "
                   "inputs\n");
  if (options.modelPath.empty()) {
    errs() << "error: give a model: moec profile MODEL.onnx --input NAME=FILE.npy ...\n";
    return exitBadCommandLine;
  }

  // The layers' names, and how many routing calls a run must make.
  int exitCode;
  std::optional<moec::ModelShape> model = raiseModelShape(options.modelPath, exitCode);
  if (!model)
    return exitCode;
  if (model->layers.empty()) {
    errs() << "error: " << options.modelPath << ": no MoE layer was raised; nothing to profile\n";
    return exitBadInput;
  }

  SmallString<128> folder;
  if (std::error_code error = sys::fs::createUniqueDirectory("moec-profile", folder)) {
    errs() << "error: cannot create a temporary folder: " << error.message() << "\n";
    return exitBadCommandLine;
  }
  scope_exit removeFolder([&] { sys::fs::remove_directories(folder); });
  SmallString<128> program(folder), counts(folder);
  // Named after the model: the program names itself in its messages.
  sys::path::append(program, sys::path::stem(options.modelPath));
  sys::path::append(counts, "routing.json");
  moec::CompileResult compiled = moec::compile(moec::ModelSource::file(options.modelPath),
                                               program, moec::CompileOptions(), [](const moec::CompileDiagnostic &diagnostic) {
        if (diagnostic.severity == mlir::DiagnosticSeverity::Error)
          errs() << diagnostic.str() << "\n";
      });
  if (!compiled.succeeded())
    return static_cast<int>(compiled.status);

  std::vector<std::string> runArgs{std::string(program)};
  for (const std::string &input : options.inputs) {
    runArgs.push_back("--input");
    runArgs.push_back(input);
  }
  runArgs.insert(runArgs.end(), {"--output-dir", std::string(folder)});
  std::vector<StringRef> runArgRefs(runArgs.begin(), runArgs.end());
  // The program inherits the environment, with the profile's path added.
  ::setenv("MOEC_ROUTING_PROFILE", counts.c_str(), /*overwrite=*/1);
  std::string runError;
  int code = sys::ExecuteAndWait(program, runArgRefs, /*Env=*/std::nullopt, /*Redirects=*/{},
                                 /*SecondsToWait=*/0, /*MemoryLimit=*/0, &runError);
  if (code != 0) {
    if (!runError.empty())
      errs() << "error: running the compiled model: " << runError << "\n";
    return code > 0 ? code : exitBadInput;
  }

  ErrorOr<std::unique_ptr<MemoryBuffer>> file = MemoryBuffer::getFile(counts);
  Expected<json::Value> parsed =
      file ? json::parse((*file)->getBuffer()) : Expected<json::Value>(json::Value(nullptr));
  json::Array *layers = nullptr;
  if (parsed && parsed->getAsObject())
    layers = parsed->getAsObject()->getArray("layers");
  if (!layers || layers->size() != model->layers.size()) {
    if (!parsed)
      consumeError(parsed.takeError());
    errs() << "error: the compiled model counted "
           << (layers ? std::to_string(layers->size()) : "no") << " routing calls for "
           << model->layers.size() << " MoE layers\n";
    return exitBadCommandLine;
  }
  for (auto [layer, shape] : llvm::zip(*layers, model->layers))
    layer.getAsObject()->insert({"name", shape.name});

  std::error_code error;
  ToolOutputFile output(options.outputPath, error, sys::fs::OF_Text);
  if (error) {
    errs() << "error: " << options.outputPath << ": cannot write the profile: "
           << error.message() << "\n";
    return exitBadInput;
  }
  output.os() << formatv("{0:2}", json::Value(std::move(*parsed))) << "\n";
  output.keep();
  return 0;
}
