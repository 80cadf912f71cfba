//===- ExportModelInfo.cpp - Describe the model's I/O for the runtime -----===//

#include "moec/Codegen/Common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace moec {
#define GEN_PASS_DEF_EXPORTMODELINFO
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;

/// The runtime's name for `type`, or an empty string if executables cannot take it.
static StringRef dtypeName(Type type) {
  if (type.isF32())
    return "float32";
  if (type.isF16())
    return "float16";
  if (type.isBF16())
    return "bfloat16";
  if (type.isF64())
    return "float64";
  auto integer = llvm::dyn_cast<IntegerType>(type);
  if (!integer)
    return "";
  if (integer.getWidth() == 1)
    return "bool";
  bool isUnsigned = integer.isUnsigned();
  switch (integer.getWidth()) {
  case 8:
    return isUnsigned ? "uint8" : "int8";
  case 16:
    return isUnsigned ? "uint16" : "int16";
  case 32:
    return isUnsigned ? "uint32" : "int32";
  case 64:
    return isUnsigned ? "uint64" : "int64";
  default:
    return "";
  }
}

/// Names travel in a format that separates fields by whitespace and dimensions by commas:
/// either inside a name becomes '_'.
static std::string escapeName(StringRef name) {
  std::string escaped = name.str();
  for (char &c : escaped)
    if (llvm::isSpace(c) || c == ',')
      c = '_';
  return escaped;
}

namespace {
struct ExportModelInfo : moec::impl::ExportModelInfoBase<ExportModelInfo> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto function = module.lookupSymbol<func::FuncOp>(entry);
    if (!function) {
      module.emitError() << "no entry function '" << entry << "' to describe";
      return signalPassFailure();
    }

    std::string info;
    llvm::raw_string_ostream os(info);
    os << "target " << target << "\n";
    FunctionType type = function.getFunctionType();
    for (auto [index, input] : llvm::enumerate(type.getInputs()))
      if (failed(describe(os, function, "input", index, input, function.getArgAttrDict(index))))
        return signalPassFailure();
    for (auto [index, output] : llvm::enumerate(type.getResults()))
      if (failed(describe(os, function, "output", index, output,
                          function.getResultAttrDict(index))))
        return signalPassFailure();

    // The C side reads it as a NUL-terminated `const char[]`.
    info.push_back('\0');
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    auto arrayType = LLVM::LLVMArrayType::get(builder.getI8Type(), info.size());
    LLVM::GlobalOp::create(builder, function.getLoc(), arrayType, /*isConstant=*/true,
                           LLVM::Linkage::External, "moec_model_info",
                           builder.getStringAttr(info));
  }

  /// Writes the line of one input or output.
  LogicalResult describe(raw_ostream &os, func::FuncOp function, StringRef kind, unsigned index,
                         Type type, DictionaryAttr attrs) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    auto nameAttr = attrs ? attrs.getAs<StringAttr>("onnx.name") : StringAttr();
    std::string name = nameAttr ? nameAttr.str() : (kind + "_" + Twine(index)).str();
    if (!tensor)
      return function.emitError() << kind << " '" << name << "' has type " << type
                                  << ", but executables take and return ranked tensors only";
    StringRef dtype = dtypeName(tensor.getElementType());
    if (dtype.empty())
      return function.emitError() << kind << " '" << name << "' has element type "
                                  << tensor.getElementType()
                                  << ", which executables cannot take or return yet";
    auto dimNames = attrs ? attrs.getAs<ArrayAttr>("onnx.dim_params") : ArrayAttr();

    os << kind << " " << escapeName(name) << " " << dtype << " ";
    if (tensor.getRank() == 0)
      os << "-";
    for (auto [dim, size] : llvm::enumerate(tensor.getShape())) {
      if (dim)
        os << ",";
      if (!ShapedType::isDynamic(size)) {
        os << size;
        continue;
      }
      StringAttr dimName;
      if (dimNames && dim < dimNames.size())
        dimName = llvm::dyn_cast<StringAttr>(dimNames[dim]);
      os << (dimName && !dimName.empty() ? escapeName(dimName.getValue()) : "?");
    }
    os << "\n";
    return success();
  }
};
} // namespace
