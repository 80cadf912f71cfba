//===- CompileTest.cpp - The whole compile through its C++ API ------------===//
//
// moec::compile from each kind of source (a file, ONNX bytes, a module) to each kind of
// output, with its diagnostics returned as values.
//
//===----------------------------------------------------------------------===//

#include "moec/Compiler/Compile.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

namespace {

/// An onnxruntime com.microsoft.MoE model (ReLU experts, top-1) from the test models.
const char *const kModelPath = MOEC_SOURCE_DIR "/test/models/ort-moe/relu_k1.onnx";

/// A fresh folder for one test's outputs.
class CompileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("moec-compile-test", dir));
    options.runtimeLibraryDir = MOEC_RUNTIME_LIBRARY_DIR;
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string outputPath(llvm::StringRef name) const {
    llvm::SmallString<128> path(dir);
    llvm::sys::path::append(path, name);
    return std::string(path);
  }

  static std::string read(llvm::StringRef path) {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> file = llvm::MemoryBuffer::getFile(path);
    return file ? (*file)->getBuffer().str() : "";
  }

  llvm::SmallString<128> dir;
  moec::CompileOptions options;
};

TEST_F(CompileTest, CompilesAFileToAnExecutable) {
  std::string exe = outputPath("model");
  moec::CompileResult result = moec::compile(moec::ModelSource::file(kModelPath), exe, options);
  EXPECT_TRUE(result.succeeded()) << result.getErrors();
  EXPECT_TRUE(llvm::sys::fs::can_execute(exe));
}

TEST_F(CompileTest, CompilesONNXBytesToASharedLibrary) {
  std::string bytes = read(kModelPath);
  ASSERT_FALSE(bytes.empty());
  std::string lib = outputPath("model.so");
  options.output = moec::OutputKind::SharedLibrary;
  moec::CompileResult result = moec::compile(moec::ModelSource::onnxBytes(bytes), lib, options);
  EXPECT_TRUE(result.succeeded()) << result.getErrors();
  // The library exports the runtime's C API for compiled models.
  EXPECT_NE(read(lib).find("moec_model_execute"), std::string::npos);
}

TEST_F(CompileTest, CompilesAModuleInPlaceToMLIR) {
  mlir::DialectRegistry registry;
  moec::registerCompilerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceFile<mlir::ModuleOp>(
      MOEC_SOURCE_DIR "/examples/embedding/moe_and_linalg.mlir", &context);
  ASSERT_TRUE(module);

  std::string mlir = outputPath("kernel.mlir");
  options.output = moec::OutputKind::MLIR;
  options.pipeline.stopAfter = moec::Stage::Kernel;
  moec::CompileResult result = moec::compile(moec::ModelSource::module(*module), mlir, options);
  ASSERT_TRUE(result.succeeded()) << result.getErrors();
  // The layer is decomposed to kernel-level ops, in the file and in the caller's module.
  EXPECT_NE(read(mlir).find("moe.grouped_matmul"), std::string::npos);
  bool layerLeft = false;
  module->walk(
      [&](mlir::Operation *op) { layerLeft |= op->getName().getStringRef() == "moe.layer"; });
  EXPECT_FALSE(layerLeft);
}

TEST_F(CompileTest, BadBytesAreBadInputWithOneLocatedError) {
  std::string out = outputPath("model");
  moec::CompileResult result =
      moec::compile(moec::ModelSource::onnxBytes("not a model", "bad.onnx"), out, options);
  EXPECT_EQ(result.status, moec::CompileStatus::BadInput);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].severity, mlir::DiagnosticSeverity::Error);
  EXPECT_EQ(result.diagnostics[0].location, "bad.onnx");
  EXPECT_EQ(result.getErrors(), result.diagnostics[0].str() + "\n");
  EXPECT_FALSE(llvm::sys::fs::exists(out));
}

TEST_F(CompileTest, AnOptionThisBuildLacksIsUnavailable) {
  options.pipeline.quantize = moec::Quantization::FP8;
  options.pipeline.quantizeAsymmetric = true;
  moec::CompileResult result =
      moec::compile(moec::ModelSource::file(kModelPath), outputPath("model"), options);
  EXPECT_EQ(result.status, moec::CompileStatus::Unavailable);
  EXPECT_EQ(result.getErrors(), "error: --quantize-scheme says how --quantize quantizes: use it "
                                "with --quantize=int8 or int4\n");
}

TEST_F(CompileTest, DiagnosticsAreSeenAsTheyCome) {
  std::vector<std::string> seen;
  moec::CompileResult result = moec::compile(
      moec::ModelSource::file(MOEC_SOURCE_DIR "/no/such/model.onnx"), outputPath("model"), options,
      [&](const moec::CompileDiagnostic &diagnostic) { seen.push_back(diagnostic.str()); });
  EXPECT_EQ(result.status, moec::CompileStatus::BadInput);
  ASSERT_EQ(seen.size(), result.diagnostics.size());
  EXPECT_EQ(seen[0], result.diagnostics[0].str());
}

TEST(SetCompileOption, TakesTheCommandLinesSpellings) {
  moec::CompileOptions options;
  for (auto [name, value] : {std::pair("target", "sm_90a"),
                             {"emit", "ptx"},
                             {"stop-after", "kernel"},
                             {"quantize", "fp8"},
                             {"quantize-group", "64"},
                             {"quantize-config", "q.json"},
                             {"report", "true"},
                             {"precision", "bf16"},
                             {"gpu-binary", "fatbin"},
                             {"shard-experts", "4"},
                             {"shard-profile", "profile.json"},
                             {"shard-replicate-hot", "2"},
                             {"weights-file-over", "0"},
                             {"infer-shapes", "false"},
                             {"disable-pass", "moec-raise-hf-moe"}})
    EXPECT_EQ(moec::setCompileOption(options, name, value), "") << name;
  EXPECT_EQ(options.pipeline.target, "sm_90a");
  EXPECT_EQ(options.output, moec::OutputKind::PTX);
  EXPECT_EQ(options.pipeline.stopAfter, moec::Stage::Kernel);
  EXPECT_EQ(options.pipeline.quantize, moec::Quantization::FP8);
  EXPECT_EQ(options.pipeline.quantizeGroupSize, 64);
  EXPECT_EQ(options.pipeline.quantizeConfigPath, "q.json");
  EXPECT_TRUE(options.pipeline.quantizeReport);
  EXPECT_TRUE(options.pipeline.bf16ExpertMatmuls);
  EXPECT_EQ(options.kernelBinary, moec::KernelBinary::Fatbin);
  EXPECT_EQ(options.shardExperts, 4u);
  EXPECT_EQ(options.pipeline.shardProfile, "profile.json");
  EXPECT_EQ(options.pipeline.shardReplicateHot, 2u);
  EXPECT_EQ(options.weightsFileOver, 0u);
  EXPECT_FALSE(options.import.inferShapes);
  EXPECT_EQ(options.pipeline.disabledPasses, std::vector<std::string>{"moec-raise-hf-moe"});

  EXPECT_EQ(moec::setCompileOption(options, "emit", "wheel"),
            "--emit=wheel: expected one of exe, lib, obj, ptx, mlir");
  EXPECT_EQ(moec::setCompileOption(options, "shard-experts", "-1"),
            "--shard-experts=-1: expected a non-negative integer");
  EXPECT_EQ(options.output, moec::OutputKind::PTX);
}

} // namespace
