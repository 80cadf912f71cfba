//===- CompileOption.cpp - CompileOptions from moec's flag spellings ------===//

#include "moec/Compiler/Compile.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <optional>

using namespace llvm;

namespace {

/// `value` when it is one of `names`, whose positions are the enumerators of `Enum`.
template <typename Enum>
std::optional<Enum> lookUp(StringRef value, ArrayRef<StringRef> names) {
  const StringRef *found = llvm::find(names, value);
  if (found == names.end())
    return std::nullopt;
  return static_cast<Enum>(found - names.begin());
}

std::string unknownValue(StringRef name, StringRef value, ArrayRef<StringRef> names) {
  return ("--" + name + "=" + value + ": expected one of " + join(names, ", ")).str();
}

} // namespace

std::string moec::setCompileOption(CompileOptions &options, StringRef name, StringRef value) {
  // In the order of moec's enums (and of `moec --help`).
  static const StringRef targets[] = {"host", "sm_80", "sm_89", "sm_90", "sm_90a", "cuda"};
  static const StringRef outputs[] = {"exe", "lib", "obj", "ptx", "mlir"};
  static const StringRef stages[] = {"import", "clean", "raise", "optimize", "kernel", "all"};
  static const StringRef quantizations[] = {"none", "int8", "int4", "fp8"};
  static const StringRef precisions[] = {"model", "bf16"};
  static const StringRef kernelBinaries[] = {"auto", "ptx", "fatbin"};
  static const StringRef booleans[] = {"false", "true"};
  static const StringRef quantizationSchemes[] = {"symmetric", "asymmetric"};

  // An enum, or a bool whose false and true are `names`.
  auto setEnum = [&](auto &field, ArrayRef<StringRef> names) -> std::string {
    using Enum = std::decay_t<decltype(field)>;
    std::optional<Enum> parsed = lookUp<Enum>(value, names);
    if (!parsed)
      return unknownValue(name, value, names);
    field = *parsed;
    return "";
  };
  auto setNumber = [&](auto &field) -> std::string {
    if (!to_integer(value, field, 10))
      return ("--" + name + "=" + value + ": expected a non-negative integer").str();
    return "";
  };

  if (name == "target") {
    if (!llvm::is_contained(targets, value))
      return unknownValue(name, value, targets);
    options.pipeline.target = value.str();
    return "";
  }
  if (name == "emit")
    return setEnum(options.output, outputs);
  if (name == "stop-after")
    return setEnum(options.pipeline.stopAfter, stages);
  if (name == "quantize")
    return setEnum(options.pipeline.quantize, quantizations);
  if (name == "gpu-binary")
    return setEnum(options.kernelBinary, kernelBinaries);
  if (name == "precision")
    return setEnum(options.pipeline.bf16ExpertMatmuls, precisions);
  if (name == "infer-shapes")
    return setEnum(options.import.inferShapes, booleans);
  if (name == "report")
    return setEnum(options.pipeline.quantizeReport, booleans);
  if (name == "quantize-config") {
    options.pipeline.quantizeConfigPath = value.str();
    return "";
  }
  if (name == "quantize-group")
    return setNumber(options.pipeline.quantizeGroupSize);
  if (name == "quantize-scheme")
    return setEnum(options.pipeline.quantizeAsymmetric, quantizationSchemes);
  if (name == "shard-experts")
    return setNumber(options.shardExperts);
  if (name == "shard-replicate-hot")
    return setNumber(options.pipeline.shardReplicateHot);
  if (name == "shard-profile") {
    options.pipeline.shardProfile = value.str();
    return "";
  }
  if (name == "shard-placement") {
    options.pipeline.shardPlacement = value.str();
    return "";
  }
  if (name == "weights-file-over")
    return setNumber(options.weightsFileOver);
  if (name == "disable-pass") {
    options.pipeline.disabledPasses.push_back(value.str());
    return "";
  }
  return ("--" + name + ": no such option").str();
}
