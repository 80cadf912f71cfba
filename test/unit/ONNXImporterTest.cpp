//===- ONNXImporterTest.cpp - The importer through its C++ API ------------===//

#include "moec/Dialect/ONNX/ONNX.h"
#include "moec/Importer/ONNXImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <onnx/onnx_pb.h>

#include <gtest/gtest.h>

namespace {

/// A one-node model, y = Relu(x), x : float[2].
std::string serializedReluModel() {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto *graph = model.mutable_graph();
  onnx::NodeProto *node = graph->add_node();
  node->set_op_type("Relu");
  node->set_name("relu");
  node->add_input("x");
  node->add_output("y");
  for (auto [info, name] : {std::pair(graph->add_input(), "x"), {graph->add_output(), "y"}}) {
    info->set_name(name);
    onnx::TypeProto_Tensor *tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    tensor->mutable_shape()->add_dim()->set_dim_value(2);
  }
  return model.SerializeAsString();
}

TEST(ONNXImporter, ImportsAModelFromMemory) {
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      moec::importONNXBuffer(serializedReluModel(), "relu.onnx", ".", context);
  ASSERT_TRUE(module);
  auto main = module->lookupSymbol<mlir::func::FuncOp>("main");
  ASSERT_TRUE(main);
  llvm::SmallVector<moec::onnx::NodeOp> nodes(main.getOps<moec::onnx::NodeOp>());
  ASSERT_EQ(nodes.size(), 1u);
  EXPECT_EQ(nodes.front().getOpType(), "Relu");
  EXPECT_EQ(nodes.front().getName(), "relu");
}

TEST(ONNXImporter, BadBytesGiveOneLocatedError) {
  mlir::MLIRContext context;
  std::vector<std::string> errors;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    auto file = llvm::dyn_cast<mlir::FileLineColLoc>(diag.getLocation());
    errors.push_back((file ? file.getFilename().str() : "?") + ": " + diag.str());
    return mlir::success();
  });
  std::string bytes = serializedReluModel();
  bytes.resize(bytes.size() / 2);
  EXPECT_FALSE(moec::importONNXBuffer(bytes, "half.onnx", ".", context));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors.front().rfind("half.onnx: not an ONNX model", 0), 0u) << errors.front();
}

} // namespace
