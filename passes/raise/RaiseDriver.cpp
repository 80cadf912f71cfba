//===- RaiseDriver.cpp - How the raising passes apply their patterns ------===//

#include "RaiseDriver.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

void moec::raise::RaiseRemarks::emitRemarks() {
  for (auto &[op, message] : pending)
    op->emitRemark() << message;
  pending.clear();
}

LogicalResult moec::raise::applyRaisePatterns(Operation *root, RewritePatternSet &&patterns,
                                              RaiseRemarks &remarks) {
  GreedyRewriteConfig config;
  config.setListener(&remarks);
  config.setUseTopDownTraversal(true);
  // Only the matched layers change; nothing else is simplified at the onnx level.
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  LogicalResult result = applyPatternsGreedily(root, std::move(patterns), config);
  remarks.emitRemarks();
  return result;
}
