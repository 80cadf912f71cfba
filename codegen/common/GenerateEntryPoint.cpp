//===- GenerateEntryPoint.cpp - The runtime's moec_model_run wrapper ------===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/SymbolTable.h"

namespace moec {
#define GEN_PASS_DEF_GENERATEENTRYPOINT
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// The LLVM struct that a ranked memref descriptor lowers to: allocated and aligned pointers,
/// offset, sizes and strides. Its memory layout is the one docs/runtime-abi.md specifies.
static Type descriptorType(MLIRContext *context, int64_t rank) {
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto i64 = IntegerType::get(context, 64);
  SmallVector<Type> fields = {ptr, ptr, i64};
  if (rank > 0) {
    auto sizes = LLVM::LLVMArrayType::get(i64, rank);
    fields.append({sizes, sizes});
  }
  return LLVM::LLVMStructType::getLiteral(context, fields);
}

/// Loads the pointer stored in slot `index` of the pointer array `array`.
static Value loadSlot(OpBuilder &builder, Location loc, Value array, int64_t index) {
  auto ptr = LLVM::LLVMPointerType::get(builder.getContext());
  Value slot = LLVM::GEPOp::create(builder, loc, ptr, ptr, array,
                                   ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(index)});
  return LLVM::LoadOp::create(builder, loc, ptr, slot);
}

namespace {
struct GenerateEntryPoint : moec::impl::GenerateEntryPointBase<GenerateEntryPoint> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (!function) {
      module.emitError() << "no entry function '" << entry << "' to wrap";
      return signalPassFailure();
    }
    FunctionType type = function.getFunctionType();
    for (Type memref : llvm::concat<const Type>(type.getInputs(), type.getResults())) {
      auto memrefType = llvm::dyn_cast<MemRefType>(memref);
      if (!memrefType || !memrefType.getLayout().isIdentity()) {
        function.emitError() << "entry function must take and return memrefs with the "
                                "identity layout, found "
                             << memref;
        return signalPassFailure();
      }
    }

    // The entry function is private to the object: its name (typically `main`) must not
    // clash with the runtime's `main`, and its argument attributes are in the model info.
    function.setPrivate();
    SymbolTable symbols(module);
    if (failed(symbols.rename(function, "moec_model_entry"))) {
      function.emitError() << "cannot rename the entry function";
      return signalPassFailure();
    }
    function.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
    function.setAllResultAttrs(ArrayRef<DictionaryAttr>{});

    MLIRContext *context = &getContext();
    Location loc = function.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(context);
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto wrapper = func::FuncOp::create(builder, loc, "moec_model_run",
                                        builder.getFunctionType({ptr, ptr}, {}));
    Block *body = wrapper.addEntryBlock();
    builder.setInsertionPointToStart(body);
    Value inputs = body->getArgument(0);
    Value outputs = body->getArgument(1);

    // The descriptors cross into memref types through casts that the LLVM lowering
    // reconciles away, since a memref lowers to exactly this descriptor struct.
    SmallVector<Value> arguments;
    for (auto [index, input] : llvm::enumerate(type.getInputs())) {
      auto memrefType = llvm::cast<MemRefType>(input);
      Value descriptorPtr = loadSlot(builder, loc, inputs, index);
      Value descriptor = LLVM::LoadOp::create(
          builder, loc, descriptorType(context, memrefType.getRank()), descriptorPtr);
      arguments.push_back(
          UnrealizedConversionCastOp::create(builder, loc, memrefType, descriptor).getResult(0));
    }
    auto call = func::CallOp::create(builder, loc, function, arguments);
    for (auto [index, result] : llvm::enumerate(call.getResults())) {
      auto memrefType = llvm::cast<MemRefType>(result.getType());
      Value descriptor = UnrealizedConversionCastOp::create(
                             builder, loc, descriptorType(context, memrefType.getRank()), result)
                             .getResult(0);
      LLVM::StoreOp::create(builder, loc, descriptor, loadSlot(builder, loc, outputs, index));
    }
    func::ReturnOp::create(builder, loc);
  }
};
} // namespace
