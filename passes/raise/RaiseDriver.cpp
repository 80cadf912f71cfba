//===- RaiseDriver.cpp - How the raising passes apply their patterns ------===//

#include "RaiseDriver.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

LogicalResult moec::raise::applyRaisePatterns(Operation *root, RewritePatternSet &&patterns) {
  GreedyRewriteConfig config;
  config.setUseTopDownTraversal(true);
  // Only the matched layers change; nothing else is simplified at the onnx level.
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  return applyPatternsGreedily(root, std::move(patterns), config);
}
