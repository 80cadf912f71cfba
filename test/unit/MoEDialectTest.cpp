//===- MoEDialectTest.cpp - The moe dialect through its C++ API -----------===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/InitMoEC.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace moec::moe;

namespace {

class MoEDialectTest : public ::testing::Test {
protected:
  MoEDialectTest() : context(makeRegistry()) { context.loadAllAvailableDialects(); }

  static mlir::DialectRegistry makeRegistry() {
    mlir::DialectRegistry registry;
    moec::registerMoECDialects(registry);
    return registry;
  }

  mlir::MLIRContext context;
};

TEST_F(MoEDialectTest, RegisteredUnderItsNamespace) {
  auto *dialect = context.getLoadedDialect("moe");
  ASSERT_NE(dialect, nullptr);
  EXPECT_TRUE(llvm::isa<MoEDialect>(dialect));
}

TEST_F(MoEDialectTest, RoutingDefaultsDescribeDroplessPlainTopK) {
  auto routing = RoutingAttr::get(&context, Scoring::softmax, /*k=*/2, /*renormalize=*/true,
                                  /*topk_first=*/false, /*n_group=*/1, /*topk_group=*/1,
                                  llvm::APFloat(1.0), llvm::APFloat(0.0), llvm::APFloat(0.0),
                                  llvm::APFloat(kDefaultJitterEps),
                                  /*zero_masked_groups=*/false, /*weigh_inputs=*/false);
  EXPECT_TRUE(routing.isDropless());
  EXPECT_EQ(routing.getK(), 2);
  EXPECT_EQ(routing.getRoutedScalingFactor().convertToDouble(), 1.0);
}

TEST_F(MoEDialectTest, InvalidRoutingIsRejectedWithADiagnostic) {
  std::string message;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    message = diag.str();
    return mlir::success();
  });
  auto loc = mlir::UnknownLoc::get(&context);
  auto emitError = [&] { return mlir::emitError(loc); };
  auto routing = RoutingAttr::getChecked(
      llvm::function_ref<mlir::InFlightDiagnostic()>(emitError), &context, Scoring::sigmoid,
      /*k=*/int64_t{2},
      /*renormalize=*/false, /*topk_first=*/false, /*n_group=*/int64_t{4},
      /*topk_group=*/int64_t{8}, llvm::APFloat(1.0), llvm::APFloat(0.0), llvm::APFloat(0.0),
      llvm::APFloat(kDefaultJitterEps),
      /*zero_masked_groups=*/false, /*weigh_inputs=*/false);
  EXPECT_FALSE(routing);
  EXPECT_EQ(message, "routing needs 1 <= topk_group <= n_group (4), got topk_group = 8");
}

TEST_F(MoEDialectTest, CapacityFactorMakesRoutingDropTokens) {
  auto routing = RoutingAttr::get(&context, Scoring::softmax, 1, false, false, 1, 1,
                                  llvm::APFloat(1.0), llvm::APFloat(1.25), llvm::APFloat(0.0),
                                  llvm::APFloat(kDefaultJitterEps),
                                  /*zero_masked_groups=*/false, /*weigh_inputs=*/false);
  EXPECT_FALSE(routing.isDropless());
}

} // namespace
