//===- MoEDialectTest.cpp - The moe dialect through its C++ API -----------===//

#include "moec/Dialect/MoE/MoE.h"
#include "moec/InitMoEC.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

namespace {

TEST(MoEDialect, RegisteredUnderItsNamespace) {
  mlir::DialectRegistry registry;
  moec::registerMoECDialects(registry);
  mlir::MLIRContext context(registry);
  auto *dialect = context.getOrLoadDialect("moe");
  ASSERT_NE(dialect, nullptr);
  EXPECT_TRUE(llvm::isa<moec::moe::MoEDialect>(dialect));
}

} // namespace
