//===- LowerRuntimeChecks.cpp - moe.check to a runtime call on failure ----===//

#include "moec/Codegen/Common/Passes.h"

#include "RuntimeDeclarations.h"
#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace moec {
#define GEN_PASS_DEF_LOWERRUNTIMECHECKS
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// The runtime function a failed check calls (include/moec-runtime/kernels.h).
static constexpr StringLiteral kCheckFailed = "moec_rt_check_failed";

namespace {
struct LowerCheck : OpRewritePattern<moec::moe::CheckOp> {
  LowerCheck(MLIRContext *context, unsigned &messageCount)
      : OpRewritePattern(context), messageCount(messageCount) {}

  LogicalResult matchAndRewrite(moec::moe::CheckOp check,
                                PatternRewriter &rewriter) const override {
    Location loc = check.getLoc();
    std::string text = check.getMessage().str();
    text.push_back('\0');
    LLVM::GlobalOp message;
    {
      auto module = check->getParentOfType<ModuleOp>();
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      message = LLVM::GlobalOp::create(
          rewriter, loc, LLVM::LLVMArrayType::get(rewriter.getI8Type(), text.size()),
          /*isConstant=*/true, LLVM::Linkage::Private,
          "moec_check_message_" + std::to_string(messageCount++), rewriter.getStringAttr(text));
    }
    Value failed = arith::XOrIOp::create(rewriter, loc, check.getCondition(),
                                         arith::ConstantIntOp::create(rewriter, loc, 1, 1));
    scf::IfOp::create(rewriter, loc, failed, [&](OpBuilder &b, Location thenLoc) {
      SmallVector<Value> arguments = {LLVM::AddressOfOp::create(b, thenLoc, message)};
      for (unsigned i = 0; i < 2; ++i) {
        if (i >= check.getValues().size()) {
          arguments.push_back(arith::ConstantIntOp::create(b, thenLoc, 0, 64));
          continue;
        }
        Value value = check.getValues()[i];
        if (value.getType().isIndex())
          value = arith::IndexCastOp::create(b, thenLoc, b.getI64Type(), value);
        else if (value.getType().getIntOrFloatBitWidth() < 64)
          value = arith::ExtSIOp::create(b, thenLoc, b.getI64Type(), value);
        arguments.push_back(value);
      }
      func::CallOp::create(b, thenLoc, kCheckFailed, TypeRange{}, arguments);
      scf::YieldOp::create(b, thenLoc);
    });
    rewriter.eraseOp(check);
    return success();
  }

  /// Names the message constants apart.
  unsigned &messageCount;
};

struct LowerRuntimeChecks : moec::impl::LowerRuntimeChecksBase<LowerRuntimeChecks> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    unsigned messageCount = 0;
    RewritePatternSet patterns(&getContext());
    patterns.add<LowerCheck>(&getContext(), messageCount);
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
    moec::declareCalledRuntimeFunctions(module,
                                        [](StringRef name) { return name == kCheckFailed; });
  }
};
} // namespace
