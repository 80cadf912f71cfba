//===- ProtectEntryInputs.cpp - Inputs are read-only to the model ---------===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace moec {
#define GEN_PASS_DEF_PROTECTENTRYINPUTS
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

namespace {
struct ProtectEntryInputs : moec::impl::ProtectEntryInputsBase<ProtectEntryInputs> {
  using Base::Base;

  void runOnOperation() override {
    auto function = getOperation().lookupSymbol<func::FuncOp>(entry);
    if (!function) {
      getOperation().emitError() << "no entry function '" << entry << "' to protect";
      return signalPassFailure();
    }
    auto readOnly = BoolAttr::get(&getContext(), false);
    for (unsigned i = 0, e = function.getNumArguments(); i < e; ++i)
      function.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName, readOnly);
  }
};
} // namespace
