//===- ShardExperts.cpp - Routed experts placed on the ranks of a job -----===//

#include "moec/Passes/Shard/ExpertPlacement.h"
#include "moec/Passes/Shard/Passes.h"

#include "moec/Dialect/MoE/MoE.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cstring>

namespace moec {
#define GEN_PASS_DEF_SHARDEXPERTS
#include "passes/optimize/shard/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec;
using namespace moec::moe;

namespace {

/// The bytes of constant `value`'s elements, when it is a dense resource or dense elements,
/// whole bytes per element (a 4-bit one takes a byte); a splat's bytes are its one
/// element's.
std::optional<ArrayRef<char>> getConstantBytes(Value value, ElementsAttr &elements) {
  if (!matchPattern(value, m_Constant(&elements)))
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
      return blob->getData();
    return std::nullopt;
  }
  if (auto dense = dyn_cast<DenseIntOrFPElementsAttr>(elements))
    return dense.getRawData();
  return std::nullopt;
}

/// The name of the stack `elements` for rank `rank`.
std::string getShardName(ElementsAttr elements, int64_t rank) {
  std::string base = "moe.expert_stack";
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements))
    base = resource.getRawHandle().getKey().str();
  return base + ".rank" + std::to_string(rank);
}

/// `stack` before any `tensor.bitcast`s: unsigned codes and zero points are bitcast
/// signless constants (legalization makes them so).
Value lookThroughBitcasts(Value stack) {
  while (auto bitcast = stack.getDefiningOp<tensor::BitcastOp>())
    stack = bitcast.getSource();
  return stack;
}

/// Whether `stack` is a constant whose bytes createShardStack can read.
bool isReadableStack(Value stack) {
  ElementsAttr elements;
  return getConstantBytes(lookThroughBitcasts(stack), elements).has_value();
}

/// `experts` of the constant stack `stack` (`[E, ...]`, readable as isReadableStack says),
/// one after another, then zeros up to `slots` experts: a new dense resource constant,
/// bitcast as `stack` is where it is a bitcast constant. Whole experts, so that fp8's
/// blocks of scales stay whole; 4-bit codes take a byte each here, and the host packs two a
/// byte along an expert's rows later, within the expert.
Value createShardStack(PatternRewriter &rewriter, Location loc, Value stack,
                       ArrayRef<int64_t> experts, int64_t slots, int64_t rank) {
  Value source = lookThroughBitcasts(stack);
  ElementsAttr elements;
  std::optional<ArrayRef<char>> bytes = getConstantBytes(source, elements);
  auto type = cast<RankedTensorType>(source.getType());
  size_t elementBytes = llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  size_t expertBytes = size_t(type.getNumElements() / type.getDimSize(0)) * elementBytes;
  std::vector<char> shard(size_t(slots) * expertBytes, 0);
  bool splat = bytes->size() == elementBytes && expertBytes != elementBytes;
  for (auto [slot, expert] : llvm::enumerate(experts)) {
    char *to = shard.data() + slot * expertBytes;
    if (!splat) {
      std::memcpy(to, bytes->data() + expert * expertBytes, expertBytes);
      continue;
    }
    for (size_t at = 0; at < expertBytes; at += elementBytes)
      std::memcpy(to + at, bytes->data(), elementBytes);
  }
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = slots;
  auto shardType = RankedTensorType::get(shape, type.getElementType());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(shard.data(), shard.size()), alignof(std::max_align_t));
  auto attr = DenseResourceElementsAttr::get(shardType, getShardName(elements, rank),
                                             std::move(blob));
  Value constant = arith::ConstantOp::create(rewriter, loc, attr);
  if (source == stack)
    return constant;
  return tensor::BitcastOp::create(rewriter, loc,
                                   cast<RankedTensorType>(stack.getType()).clone(shape), constant);
}

/// Whether the exchange's kernels run expert weights of `element` type: f32, or 8-bit or
/// 4-bit integer codes, or fp8 (e4m3).
bool isShardableWeightType(Type element) {
  if (element.isF32() || isa<Float8E4M3FNType>(element))
    return true;
  auto integer = dyn_cast<IntegerType>(element);
  return integer && (integer.getWidth() == 8 || integer.getWidth() == 4);
}

/// permute -> grouped_matmul (up, gathering the tokens) -> grouped_matmul (down) ->
/// unpermute, matched at the unpermute, becomes moe.expert_parallel.
struct ShardRoutedExperts : OpRewritePattern<UnpermuteOp> {
  /// `placements`: per layer (an unpermute), which ranks hold its experts.
  ShardRoutedExperts(MLIRContext *context, int64_t ranks, int64_t rank,
                     const DenseMap<Operation *, ExpertPlacement> &placements)
      : OpRewritePattern(context), ranks(ranks), rank(rank), placements(placements) {}

  LogicalResult matchAndRewrite(UnpermuteOp unpermute, PatternRewriter &rewriter) const override {
    auto down = unpermute.getExpertOut().getDefiningOp<GroupedMatmulOp>();
    auto up = down ? down.getInput().getDefiningOp<GroupedMatmulOp>() : nullptr;
    auto permute = unpermute.getSortedIds().getDefiningOp<PermuteOp>();
    if (!up || !permute || down.getSortedIds() || up.getSortedIds() != unpermute.getSortedIds() ||
        up.getExpertOffsets() != permute.getExpertOffsets() ||
        down.getExpertOffsets() != permute.getExpertOffsets() || permute.getBlockSize() != 1 ||
        !up.getExpert() || down.getExpert())
      return rewriter.notifyMatchFailure(unpermute, "not a layer's routed experts");
    // moe.expert_parallel reads a row per token; experts whose inputs are weighed
    // (weigh_inputs) read a row per (token, slot) pair.
    if (up.getRowsPerToken() != uint64_t(permute.getExpertIds().getType().getDimSize(1)))
      return rewriter.notifyMatchFailure(unpermute, "experts that do not read the tokens");
    if (!getElementTypeOrSelf(up.getInput()).isF32() ||
        !isShardableWeightType(getElementTypeOrSelf(up.getWeights())) ||
        !isShardableWeightType(getElementTypeOrSelf(down.getWeights())))
      return rewriter.notifyMatchFailure(
          unpermute, "tokens that are not f32, or expert weights neither f32 nor 8-bit, 4-bit "
                     "or fp8 quantized");
    auto layerPlacement = placements.find(unpermute);
    if (layerPlacement == placements.end())
      return rewriter.notifyMatchFailure(unpermute, "more hot experts than experts");
    const ExpertPlacement &placement = layerPlacement->second;
    int64_t numExperts = permute.getNumExperts();
    // Every rank's stacks hold the replicated experts first, in id order, then its own; a
    // replicated expert's rank is -1: wherever the token is.
    SmallVector<int64_t> replicated;
    for (int64_t e = 0; e < numExperts; ++e)
      if (placement.isReplicated(e))
        replicated.push_back(e);
    auto ownExperts = [&](unsigned r) {
      std::vector<int64_t> experts = placement.getExperts(r);
      llvm::erase_if(experts, [&](int64_t e) { return placement.isReplicated(e); });
      return experts;
    };
    int64_t slots = 0;
    for (unsigned r = 0; r < unsigned(ranks); ++r)
      slots = std::max<int64_t>(slots, replicated.size() + ownExperts(r).size());
    std::vector<int64_t> own(replicated.begin(), replicated.end());
    llvm::append_range(own, ownExperts(unsigned(rank)));
    SmallVector<int32_t> expertRanks, expertSlots;
    for (int64_t e = 0; e < numExperts; ++e) {
      if (placement.isReplicated(e)) {
        expertRanks.push_back(-1);
        expertSlots.push_back(int32_t(llvm::find(replicated, e) - replicated.begin()));
        continue;
      }
      unsigned holder = placement.holders[e].front();
      std::vector<int64_t> held = ownExperts(holder);
      expertRanks.push_back(int32_t(holder));
      expertSlots.push_back(
          int32_t(replicated.size() + (llvm::find(held, e) - held.begin())));
    }

    Value layerStacks[] = {up.getWeights(),  down.getWeights(),   up.getBias(),
                           down.getBias(),   up.getScales(),      up.getZeroPoints(),
                           down.getScales(), down.getZeroPoints()};
    // Checked before any is made: a pattern that fails must leave the IR as it was.
    if (!llvm::all_of(layerStacks, [](Value stack) { return !stack || isReadableStack(stack); }))
      return rewriter.notifyMatchFailure(unpermute, "expert weights that are not constants");
    Location loc = unpermute.getLoc();
    SmallVector<Value, 8> stacks;
    for (Value stack : layerStacks)
      stacks.push_back(stack ? createShardStack(rewriter, loc, stack, own, slots, rank) : nullptr);
    rewriter.replaceOpWithNewOp<ExpertParallelOp>(
        unpermute, unpermute.getType(), up.getInput(), permute.getExpertIds(),
        unpermute.getWeights(), stacks[0], stacks[1], stacks[2], stacks[3], stacks[4], stacks[5],
        stacks[6], stacks[7], ranks, expertRanks, expertSlots, up.getExpertAttr());
    return success();
  }

  int64_t ranks, rank;
  const DenseMap<Operation *, ExpertPlacement> &placements;
};

struct ShardExperts : moec::impl::ShardExpertsBase<ShardExperts> {
  using ShardExpertsBase::ShardExpertsBase;

  void runOnOperation() override {
    if (ranks < 1 || rank < 0 || rank >= ranks || replicateHot < 0) {
      getOperation().emitError() << "moec-shard-experts: rank " << rank << " of " << ranks
                                 << " ranks, " << replicateHot << " hot experts";
      return signalPassFailure();
    }
    if (!placement.empty() && (!profile.empty() || replicateHot > 0)) {
      getOperation().emitError()
          << "moec-shard-experts: a placement file places the experts itself: no profile or "
             "hot experts with it";
      return signalPassFailure();
    }
    // Every unpermute of a permute combines one layer's routed experts, in the module's order.
    SmallVector<UnpermuteOp> layers;
    std::vector<int64_t> experts;
    getOperation().walk([&](UnpermuteOp unpermute) {
      if (auto permute = unpermute.getSortedIds().getDefiningOp<PermuteOp>()) {
        layers.push_back(unpermute);
        experts.push_back(permute.getNumExperts());
      }
    });
    std::string error;
    std::optional<std::vector<ExpertPlacement>> filePlacements;
    std::optional<std::vector<std::vector<double>>> loads;
    if (!placement.empty() &&
        !(filePlacements = readExpertPlacements(placement, experts, unsigned(ranks), error))) {
      getOperation().emitError() << error;
      return signalPassFailure();
    }
    if (!profile.empty() && !(loads = readExpertLoads(profile, experts, error))) {
      getOperation().emitError() << error;
      return signalPassFailure();
    }
    DenseMap<Operation *, ExpertPlacement> placements;
    for (auto [index, layer] : llvm::enumerate(layers)) {
      if (filePlacements)
        placements[layer] = (*filePlacements)[index];
      else if (!loads && replicateHot == 0)
        placements[layer] = placeExpertsUniformly(experts[index], unsigned(ranks));
      else if (replicateHot <= experts[index])
        placements[layer] = placeExpertsByLoad(
            loads ? (*loads)[index] : std::vector<double>(experts[index], 1.0), unsigned(ranks),
            unsigned(replicateHot));
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<ShardRoutedExperts>(&getContext(), ranks, rank, placements);
    // Quantized experts come to the grouped matmuls through moe.dequantize until the
    // canonicalizer moves it inside them: shard the codes, scales and zero points, not the
    // dequantized weights.
    GroupedMatmulOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
