//===- Pipeline.h - moec's stages after import ----------------------------===//
//
// The compile after import, stage by stage (DESIGN.md, "The pipeline"): clean the onnx
// level (moec's own type inference), raise MoE layers, optimize them, legalize to the kernel level, then lower for the target. Every stage is
// a pass pipeline; the driver stops after the one it is asked to.
//
//===----------------------------------------------------------------------===//

#ifndef MOEC_COMPILER_PIPELINE_H
#define MOEC_COMPILER_PIPELINE_H

#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
class OpPassManager;
class TimingScope;
} // namespace mlir

namespace moec {

enum class Stage { Import, Clean, Raise, Optimize, Kernel, Codegen };

/// How expert weights are quantized.
enum class Quantization { None, Int8, Int4, FP8 };

struct PipelineOptions {
  /// The last stage to run.
  Stage stopAfter = Stage::Codegen;
  /// Passes not to run, by their command-line names; only optional (optimization) passes
  /// can be disabled.
  std::vector<std::string> disabledPasses;
  /// "host", or the CUDA chip to compile for (sm_80, sm_89, sm_90, sm_90a).
  std::string target = "host";
  /// For CUDA chips: the CUDA toolkit's libdevice, linked into the kernels.
  std::string libdevicePath;
  /// For CUDA chips: a toolkit with ptxas and fatbinary, which make the kernels a fatbin of
  /// cubin and PTX; empty: the kernels stay PTX.
  std::string assemblerToolkitPath;
  /// Run the expert GEMMs of f32 models in bf16 (moec-grouped-matmul-to-bf16).
  bool bf16ExpertMatmuls = false;
  /// Check at run time what the ops' specs require of run-time values (indices within
  /// their dimensions, sizes that agree); off with `moec --unchecked`.
  bool runtimeChecks = true;
  /// Configure the stages' pass managers from MLIR's command-line options
  /// (`--mlir-print-ir-after` and the like), which the tool has registered
  /// (mlir::registerPassManagerCLOptions), as moec does.
  bool passManagerCommandLine = false;
  /// The expert weights' quantization (moec-quantize-expert-weights).
  Quantization quantize = Quantization::None;
  /// Rows of K that share one scale, for int8 and int4; rows and columns of fp8's blocks.
  int64_t quantizeGroupSize = 128;
  /// int8 and int4 as unsigned integers with a zero point per group, not signed ones.
  bool quantizeAsymmetric = false;
  /// Print, per quantized layer, the bytes before and after and the error on a probe.
  bool quantizeReport = false;
  /// A JSON file of per-layer and per-weight overrides of the quantization; empty: none.
  std::string quantizeConfigPath;
  /// Expert parallelism (docs/sharding.md): the ranks of the MPI job, and the rank whose
  /// program the Kernel stage makes (moec-shard-experts); 1: unsharded.
  unsigned shardRanks = 1;
  unsigned shardRank = 0;
  /// A routing profile (`moec profile`) to balance the experts' placement by; empty:
  /// uniform.
  std::string shardProfile;
  /// The most loaded experts of every layer to hold on every rank.
  unsigned shardReplicateHot = 0;
  /// A placement file (each expert's rank, per layer) that places the experts instead of
  /// the profile or the uniform blocks; empty: none.
  std::string shardPlacement;
};

/// The names of the passes that --disable-pass accepts.
std::vector<std::string> getOptionalPassNames();

/// One pass of the pipeline as `moec --list-passes` prints it.
struct PipelinePass {
  Stage stage;
  /// The pass's command-line name, inside its anchor when it runs nested
  /// (`func.func(canonicalize)`).
  std::string name;
  /// Whether `--disable-pass` can turn it off.
  bool optional;
  /// Whether it runs with the options given: not when disabled or after `stopAfter`.
  bool enabled;
};

/// Every pass of the stages after import, in the order they run for `options`' target and
/// precision, with whether each runs.
std::vector<PipelinePass> describePipeline(const PipelineOptions &options);

/// The stage's name as `--stop-after` spells it (`clean`, `raise`, ...; `codegen`).
llvm::StringRef getStageName(Stage stage);

/// Adds the passes of `stage` to `pm`, less those `options` disables; nothing for Import.
/// The one definition of each stage: runPipeline and the named pipelines build from it.
void buildStagePipeline(mlir::OpPassManager &pm, Stage stage, const PipelineOptions &options);

/// Registers the named pipelines with MLIR's pass pipeline registry, for textual pipelines,
/// `-opt` tools and upstream mlir-opt through the plugin (docs/embedding.md):
/// `moe-clean`, `moe-raise`, `moe-optimize`, `moe-lower-to-host` and `moe-lower-to-nvvm`,
/// each one or more stages above, and the code generation pipelines from the tensor level,
/// `moec-host-lowering` and `moec-gpu-lowering`.
void registerMoECPipelines();

/// The first of `names` that no optional pass has.
std::optional<std::string> findUnknownPassName(llvm::ArrayRef<std::string> names);

/// Runs the stages from `first` (by default the first after import) up to and including
/// `options.stopAfter` on `module`. Errors are emitted as diagnostics on the module's ops.
/// The pass managers time their passes under `timing`, one nested scope per stage, where it
/// is given.
mlir::LogicalResult runPipeline(mlir::ModuleOp module, const PipelineOptions &options,
                                Stage first = Stage::Clean,
                                mlir::TimingScope *timing = nullptr);

} // namespace moec

#endif // MOEC_COMPILER_PIPELINE_H
