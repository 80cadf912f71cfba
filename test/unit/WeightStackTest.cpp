//===- WeightStackTest.cpp - Rearranged weights, in memory and in a file --===//
//
// createWeightStack gathers column runs of source constants into a new constant, on the heap
// for small stacks and in a temporary file for large ones; both must give the bytes a naive
// gather gives, for every element size.
//
//===----------------------------------------------------------------------===//

#include "passes/raise/WeightStack.h"

#include "moec/InitMoEC.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace moec;
using namespace moec::raise;

namespace {

class WeightStackTest : public ::testing::TestWithParam<unsigned> {
protected:
  WeightStackTest() : context(makeRegistry()), builder(&context) {
    context.loadAllAvailableDialects();
    module = ModuleOp::create(builder.getUnknownLoc());
    builder.setInsertionPointToEnd(module->getBody());
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerMoECDialects(registry);
    return registry;
  }

  /// An `onnx.constant` of `shape` whose bytes are `bytes`.
  Value constant(StringRef name, ArrayRef<int64_t> shape, ArrayRef<char> bytes) {
    auto type = RankedTensorType::get(shape, builder.getIntegerType(GetParam() * 8));
    auto value = DenseResourceElementsAttr::get(
        type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, GetParam()));
    return onnx::ConstantOp::create(builder, builder.getUnknownLoc(), type, name, value);
  }

  MLIRContext context;
  OpBuilder builder;
  OwningOpRef<ModuleOp> module;
};

// Experts stored `[E, out, in]` (onnxruntime's current layout, a Linear's `[out, in]`) with
// gate and up columns interleaved, gathered as moe.layer wants them, `[E, in, out]` with the
// gate's columns first, then two columns of zeros.
TEST_P(WeightStackTest, TransposesDeinterleavesAndPadsAlike) {
  const size_t elementBytes = GetParam();
  const int64_t experts = 3, in = 70, out = 2 * 66, columns = out + 2;
  std::vector<char> source(experts * out * in * elementBytes);
  for (size_t i = 0; i < source.size(); ++i)
    source[i] = static_cast<char>(i * 7 % 251 + 1);
  Value weights = constant("w", {experts, out, in}, source);
  ConstantBytes bytes = *getConstantBytes(weights);

  std::vector<char> expected;
  for (int64_t expert = 0; expert < experts; ++expert)
    for (int64_t row = 0; row < in; ++row)
      for (int64_t column = 0; column < columns; ++column) {
        int64_t sourceColumn = column < out / 2 ? 2 * column : 2 * (column - out / 2) + 1;
        for (size_t byte = 0; byte < elementBytes; ++byte)
          expected.push_back(column >= out ? 0
                                           : source[((expert * out + sourceColumn) * in + row) *
                                                        elementBytes +
                                                    byte]);
      }

  auto type = RankedTensorType::get({experts, in, columns}, bytes.type.getElementType());
  auto columnsOf = [&](int64_t expert) -> ExpertColumns {
    int64_t offset = expert * out * in;
    return {SourceColumns::ofMatrix(bytes, offset, in, out, /*transposed=*/true, 0, 2),
            SourceColumns::ofMatrix(bytes, offset, in, out, /*transposed=*/true, 1, 2),
            SourceColumns::zeros(2)};
  };
  for (size_t fileBackedBytes : {kFileBackedStackBytes, size_t(0)}) {
    FailureOr<Value> stack = createWeightStack(builder, builder.getUnknownLoc(), type, "stack",
                                               experts, in, columnsOf, fileBackedBytes);
    ASSERT_TRUE(succeeded(stack));
    std::optional<ConstantBytes> result = getConstantBytes(*stack);
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->bytes == ArrayRef<char>(expected))
        << "element bytes " << elementBytes << ", file-backed from " << fileBackedBytes;
  }
}

// A stack of zeros in a file is all holes, and reads as zeros.
TEST_P(WeightStackTest, ZerosInAFileReadAsZeros) {
  const int64_t experts = 2, rows = 300, columns = 500;
  auto type = RankedTensorType::get({experts, rows, columns},
                                    builder.getIntegerType(GetParam() * 8));
  FailureOr<Value> stack = createWeightStack(
      builder, builder.getUnknownLoc(), type, "zeros", experts, rows,
      [](int64_t) { return ExpertColumns{SourceColumns::zeros(columns)}; }, 0);
  ASSERT_TRUE(succeeded(stack));
  ArrayRef<char> bytes = getConstantBytes(*stack)->bytes;
  EXPECT_EQ(bytes.size(), size_t(experts * rows * columns) * GetParam());
  EXPECT_TRUE(llvm::all_of(bytes, [](char byte) { return byte == 0; }));
}

INSTANTIATE_TEST_SUITE_P(ElementSizes, WeightStackTest, ::testing::Values(1u, 2u, 4u, 8u));

} // namespace
