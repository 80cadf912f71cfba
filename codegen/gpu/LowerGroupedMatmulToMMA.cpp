//===- LowerGroupedMatmulToMMA.cpp - Expert GEMMs on tensor cores ---------===//
//
// Replaces every bf16/f16 moe.grouped_matmul whose shapes the tensor cores take by a
// launch of a kernel in the gpu.module @moec_kernels: the mma.sync kernels of
// kernels/GroupedMatmulMmaKernel.cpp from sm_80 on, the wgmma kernels of
// kernels/GroupedMatmulWgmmaKernel.cpp on sm_90a (docs/gpu-mma.md).
//
//===----------------------------------------------------------------------===//

#include "ExpertLoad.h"
#include "codegen/gpu/kernels/GroupedMatmulKernels.h"

#include "moec/Codegen/GPU/Passes.h"
#include "moec/Dialect/MoE/MoE.h"

// The dialects the kernels are built in, which the pass declares dependent.
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <optional>

namespace moec {
#define GEN_PASS_DEF_LOWERGROUPEDMATMULTOMMA
#include "codegen/gpu/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;
using namespace moec::grouped_matmul;

/// The compute capability of `chip` ("sm_80", "sm_90a", ...), if it names one.
static std::optional<int64_t> computeCapability(StringRef chip) {
  int64_t version;
  if (!chip.consume_front("sm_"))
    return std::nullopt;
  chip.consume_back("a");
  if (chip.getAsInteger(10, version))
    return std::nullopt;
  return version;
}

namespace {
struct GroupedMatmulToMMA : OpRewritePattern<GroupedMatmulOp> {
  GroupedMatmulToMMA(MLIRContext *context, int64_t expectedRowsPerExpert, bool hopper)
      : OpRewritePattern(context), expectedRowsPerExpert(expectedRowsPerExpert), hopper(hopper) {}

  /// Rows per expert the tiling plans for: the option's, else derived from the shapes.
  int64_t rowsPerExpert(GroupedMatmulOp op) const {
    return expectedRowsPerExpert > 0 ? expectedRowsPerExpert : moec::expectedRowsPerExpert(op);
  }

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    Type elementType = getElementTypeOrSelf(op.getInput());
    if (!elementType.isBF16() && !elementType.isF16())
      return rewriter.notifyMatchFailure(op, "tensor cores take bf16 or f16 here");
    if (op.getScales())
      return rewriter.notifyMatchFailure(op, "quantized weights");
    // The loop kernels split the combine off into its own kernel.
    if (op.getCombineWeights())
      return rewriter.notifyMatchFailure(op, "the grouped matmul combines its rows");
    auto weightsType = cast<RankedTensorType>(op.getWeights().getType());
    int64_t K = weightsType.getDimSize(1), N = weightsType.getDimSize(2);
    ExpertAttr expert = op.getExpertAttr();
    bool gated = expert && expert.getGated();
    if (ShapedType::isDynamic(K) || ShapedType::isDynamic(N) || K % kMmaTileK != 0 ||
        (gated ? N / 2 : N) % kMmaTileN != 0)
      return rewriter.notifyMatchFailure(
          op, "needs static weights with rows a multiple of 16 and result columns of 8");
    if (expert && expert.getActivation() == Activation::swiglu_clamped && !gated)
      return rewriter.notifyMatchFailure(op, "the clamped SwiGLU needs a gated product");

    MatmulConfig matmul = getMatmulConfig(op);
    auto module = op->getParentOfType<ModuleOp>();
    gpu::GPUModuleOp kernels = getOrCreateKernelModule(rewriter, module);
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    rewriter.replaceOp(op, hopper ? lowerToWgmma(b, kernels, op, matmul, rowsPerExpert(op))
                                  : lowerToMma(b, kernels, op, matmul, rowsPerExpert(op)));
    return success();
  }

  int64_t expectedRowsPerExpert;
  /// sm_90a: the wgmma kernels.
  bool hopper;
};

struct LowerGroupedMatmulToMMA : moec::impl::LowerGroupedMatmulToMMABase<LowerGroupedMatmulToMMA> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<int64_t> capability = computeCapability(chip);
    if (!capability || *capability < 80) {
      module.emitError() << "moec-lower-grouped-matmul-to-mma: mma.sync m16n8k16 on bf16/f16 "
                            "needs sm_80 or newer, not '"
                         << chip << "'";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<GroupedMatmulToMMA>(&getContext(), expectedRowsPerExpert,
                                     /*hopper=*/chip == "sm_90a");
    // Only the grouped matmuls are rewritten; the kernels they create are not revisited.
    GreedyRewriteConfig config;
    config.setStrictness(GreedyRewriteStrictness::ExistingOps);
    if (failed(applyPatternsGreedily(module, std::move(patterns), config)))
      return signalPassFailure();
  }
};
} // namespace
