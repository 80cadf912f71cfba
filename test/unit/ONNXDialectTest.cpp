//===- ONNXDialectTest.cpp - The onnx node op's accessors -----------------===//
//
// The typed accessors that legalization and raising read nodes through: attributes with
// their defaults, optional inputs, and the opset of the node's domain.
//
//===----------------------------------------------------------------------===//

#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/InitMoEC.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace moec;

namespace {

constexpr const char *kModule = R"mlir(
module attributes {onnx.opset_imports = {"ai.onnx" = 13 : i64, "com.microsoft" = 1 : i64}} {
  func.func @main(%x: tensor<2x4xf32>, %i: tensor<2xi64>) {
    %none = onnx.none
    %0 = onnx.node "Gemm"(%x, %x, %none) {name = "gemm", node_attrs = {
        transB = 1 : i64, alpha = 2.5 : f32, mode = "linear",
        perm = array<i64: 1, 0>, scales = array<f32: 0.5, 2.0>,
        value = dense<[1, 2]> : tensor<2xi64>}}
        : (tensor<2x4xf32>, tensor<2x4xf32>, none) -> tensor<2x2xf32>
    %1 = onnx.node "MoE"(%x) {domain = "com.microsoft", name = "moe"}
        : (tensor<2x4xf32>) -> tensor<2x4xf32>
    %2 = onnx.node "Custom"(%x) {domain = "org.example", name = "custom"}
        : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return
  }
  func.func private @"local.fn"(%x: tensor<2x4xf32>) attributes {onnx.opset_imports = {"ai.onnx" = 11 : i64}} {
    %0 = onnx.node "Softmax"(%x) {name = "in_fn"} : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return
  }
}
)mlir";

class ONNXDialectTest : public ::testing::Test {
protected:
  ONNXDialectTest() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
    module = parseSourceString<ModuleOp>(kModule, &context);
  }

  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    registerMoECDialects(registry);
    registry.insert<func::FuncDialect>();
    return registry;
  }

  /// The node named `name`.
  onnx::NodeOp node(StringRef name) {
    onnx::NodeOp found;
    module->walk([&](onnx::NodeOp op) {
      if (op.getName() == name)
        found = op;
    });
    return found;
  }

  MLIRContext context;
  OwningOpRef<ModuleOp> module;
};

TEST_F(ONNXDialectTest, AttributesOrTheirDefaults) {
  ASSERT_TRUE(module);
  onnx::NodeOp gemm = node("gemm");
  ASSERT_TRUE(gemm);
  EXPECT_TRUE(gemm.hasNodeAttr("transB"));
  EXPECT_FALSE(gemm.hasNodeAttr("transA"));
  EXPECT_EQ(gemm.getIntAttr("transB", 0), 1);
  EXPECT_EQ(gemm.getIntAttr("transA", 7), 7);
  // An attribute of another kind is not read as this one: its default is.
  EXPECT_EQ(gemm.getIntAttr("alpha", 3), 3);
  EXPECT_EQ(gemm.getFloatAttr("alpha", 1.0), 2.5);
  EXPECT_EQ(gemm.getFloatAttr("beta", 1.25), 1.25);
  EXPECT_EQ(gemm.getStringAttr("mode", "constant"), "linear");
  EXPECT_EQ(gemm.getStringAttr("direction", "forward"), "forward");
  EXPECT_EQ(gemm.getIntsAttr("perm"), (SmallVector<int64_t>{1, 0}));
  EXPECT_EQ(gemm.getIntsAttr("axes"), std::nullopt);
  EXPECT_EQ(gemm.getFloatsAttr("scales"), (SmallVector<double>{0.5, 2.0}));
  EXPECT_EQ(gemm.getFloatsAttr("perm"), std::nullopt);
  ElementsAttr value = gemm.getTensorAttr("value");
  ASSERT_TRUE(value);
  EXPECT_EQ(value.getNumElements(), 2);
  EXPECT_FALSE(gemm.getTensorAttr("mode"));
}

TEST_F(ONNXDialectTest, OptionalInputs) {
  ASSERT_TRUE(module);
  onnx::NodeOp gemm = node("gemm");
  ASSERT_TRUE(gemm);
  EXPECT_TRUE(gemm.hasInput(0));
  EXPECT_EQ(gemm.getOptionalInput(1), gemm.getInputs()[1]);
  // An omitted optional input (onnx.none) and one past the end are both absent.
  EXPECT_FALSE(gemm.hasInput(2));
  EXPECT_FALSE(gemm.getOptionalInput(2));
  EXPECT_FALSE(gemm.hasInput(3));
  EXPECT_FALSE(gemm.getOptionalInput(3));
}

TEST_F(ONNXDialectTest, OpsetOfTheNodesDomain) {
  ASSERT_TRUE(module);
  // The default domain "" is ai.onnx.
  EXPECT_EQ(node("gemm").getOpsetVersion(), 13);
  EXPECT_EQ(node("moe").getOpsetVersion(), 1);
  EXPECT_EQ(node("custom").getOpsetVersion(), std::nullopt);
  // A model-local function's own imports apply inside it.
  EXPECT_EQ(node("in_fn").getOpsetVersion(), 11);
  EXPECT_EQ(onnx::getOpsetImport(*module, ""), 13);
  EXPECT_EQ(onnx::getOpsetImport(*module, "ai.onnx"), 13);
  EXPECT_EQ(onnx::getOpsetImport(*module, "com.microsoft"), 1);
}

TEST_F(ONNXDialectTest, NoOpsetImports) {
  OwningOpRef<ModuleOp> bare = parseSourceString<ModuleOp>(R"mlir(
    func.func @main(%x: tensor<2xf32>) {
      %0 = onnx.node "Relu"(%x) {name = "relu"} : (tensor<2xf32>) -> tensor<2xf32>
      return
    })mlir",
                                                           &context);
  ASSERT_TRUE(bare);
  onnx::NodeOp relu;
  bare->walk([&](onnx::NodeOp op) { relu = op; });
  ASSERT_TRUE(relu);
  EXPECT_EQ(relu.getOpsetVersion(), std::nullopt);
}

} // namespace
