//===- LegalizeONNX.cpp - The onnx level to upstream dialects -------------===//

#include "moec/Passes/Legalize/Passes.h"

#include "moec/Dialect/MoE/MoE.h"

#include "Common.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/Transforms/DialectConversion.h"

#include "llvm/ADT/StringSet.h"

namespace moec {
#define GEN_PASS_DEF_LEGALIZEONNX
#include "passes/legalize/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::legalize;

/// The op types that some NodePattern in `patterns` legalizes.
static llvm::StringSet<> legalizableOpTypes(RewritePatternSet &patterns) {
  llvm::StringSet<> opTypes;
  for (const std::unique_ptr<RewritePattern> &pattern : patterns.getNativePatterns())
    if (auto *nodePattern = dynamic_cast<const NodePattern *>(pattern.get()))
      opTypes.insert(nodePattern->getOpType());
  return opTypes;
}

void moec::legalize::populateONNXLegalizationPatterns(RewritePatternSet &patterns,
                                                      const TypeConverter &typeConverter) {
  populateConstantPatterns(patterns, typeConverter);
  populateElementwisePatterns(patterns, typeConverter);
  populateMatmulPatterns(patterns, typeConverter);
  populateReductionPatterns(patterns, typeConverter);
  populateNormalizationPatterns(patterns, typeConverter);
  populateEinsumPatterns(patterns, typeConverter);
  populateIndexingPatterns(patterns, typeConverter);
  populateShapePatterns(patterns, typeConverter);
  populateRecurrencePatterns(patterns, typeConverter);
}

std::vector<std::string> moec::getLegalizableONNXOpTypes(MLIRContext *context) {
  ONNXTypeConverter typeConverter;
  RewritePatternSet patterns(context);
  populateONNXLegalizationPatterns(patterns, typeConverter);
  // The importer folds Constant nodes into onnx.constant, which LegalizeConstant handles.
  std::vector<std::string> opTypes = {"Constant"};
  for (const auto &entry : legalizableOpTypes(patterns))
    opTypes.push_back(entry.getKey().str());
  llvm::sort(opTypes);
  return opTypes;
}

/// Refuses a model whose default-domain opset is newer than the legalizations know: a later
/// opset may change what an op computes, and compiling it by the older spec would be
/// silently wrong.
static LogicalResult checkOpsetSupported(ModuleOp module) {
  std::optional<int64_t> version = onnx::getOpsetImport(module, "");
  if (!version || *version <= onnx::kNewestOpset)
    return success();
  return module.emitError() << "the model uses opset " << *version
                            << " of the default ONNX domain; moec compiles opsets up to "
                            << onnx::kNewestOpset;
}

namespace {
struct LegalizeONNX : moec::impl::LegalizeONNXBase<LegalizeONNX> {
  using LegalizeONNXBase::LegalizeONNXBase;

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    ModuleOp module = getOperation();
    if (failed(checkOpsetSupported(module)))
      return signalPassFailure();
    ONNXTypeConverter typeConverter;
    RewritePatternSet patterns(context);
    populateONNXLegalizationPatterns(patterns, typeConverter);

    // Name every node that nothing can legalize, all at once, before converting anything.
    llvm::StringSet<> supported = legalizableOpTypes(patterns);
    bool unsupported = false;
    module.walk([&](onnx::NodeOp node) {
      if (node.getDomain().empty() && supported.contains(node.getOpType()))
        return;
      StringRef name = node.getName();
      InFlightDiagnostic diag = node.emitError()
                                << "node '" << (name.empty() ? StringRef("<unnamed>") : name)
                                << "' (" << node.getOpType() << "): moec cannot compile ";
      if (node.getDomain().empty())
        diag << "ONNX op '" << node.getOpType() << "' yet";
      else
        diag << "op '" << node.getOpType() << "' of domain '" << node.getDomain() << "'";
      unsupported = true;
    });
    if (unsupported)
      return signalPassFailure();

    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, typeConverter);
    populateCallOpTypeConversionPattern(patterns, typeConverter);
    populateReturnOpTypeConversionPattern(patterns, typeConverter);

    // Partial: ops of other dialects (e.g. the model info global) are left as they are.
    ConversionTarget target(*context);
    target.addLegalDialect<arith::ArithDialect, bufferization::BufferizationDialect,
                           cf::ControlFlowDialect, linalg::LinalgDialect, math::MathDialect,
                           scf::SCFDialect, tensor::TensorDialect, tosa::TosaDialect>();
    // Raised MoE layers pass through untouched; only their operands are legalized.
    target.addLegalDialect<moec::moe::MoEDialect>();
    target.addIllegalOp<moec::moe::RefineShapeOp>();
    target.addIllegalDialect<onnx::ONNXDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp op) {
      return typeConverter.isSignatureLegal(op.getFunctionType()) &&
             typeConverter.isLegal(&op.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return typeConverter.isLegal(op); });
    // A pattern that cannot legalize its node says why, naming the node; the conversion
    // driver's own "failed to legalize" that follows would only repeat it.
    bool nodeErrorReported = false;
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
      if (diag.getSeverity() != DiagnosticSeverity::Error)
        return failure();
      if (StringRef(diag.str()).starts_with("failed to legalize operation"))
        return success(nodeErrorReported);
      nodeErrorReported = true;
      return failure();
    });
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      return signalPassFailure();
    if (!runtimeChecks)
      module.walk([](moe::CheckOp check) { check.erase(); });
  }
};
} // namespace
