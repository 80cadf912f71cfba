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

#include <optional>
#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace moec {

enum class Stage { Import, Clean, Raise, Optimize, Kernel, Codegen };

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
  /// Expert parallelism (docs/sharding.md): the ranks of the MPI job, and the rank whose
  /// program the Kernel stage makes (moec-shard-experts); 1: unsharded.
  unsigned shardRanks = 1;
  unsigned shardRank = 0;
  /// A routing profile (`moec profile`) to balance the experts' placement by; empty:
  /// uniform.
  std::string shardProfile;
  /// The most loaded experts of every layer to hold on every rank.
  unsigned shardReplicateHot = 0;
};

/// The names of the passes that --disable-pass accepts.
std::vector<std::string> getOptionalPassNames();

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
mlir::LogicalResult runPipeline(mlir::ModuleOp module, const PipelineOptions &options,
                                Stage first = Stage::Clean);

} // namespace moec

#endif // MOEC_COMPILER_PIPELINE_H
