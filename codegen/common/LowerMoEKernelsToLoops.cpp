//===- LowerMoEKernelsToLoops.cpp - Kernel-level moe ops to parallel loops ===//
//
// Every kernel-level moe op becomes one or more GPU-shaped loop nests on buffers: an
// outer scf.parallel over blocks (its bounds computed before the loop), an inner
// scf.parallel over a constant number of threads (guarded for the remainder), and only
// sequential loops below that. Upstream gpu-map-parallel-loops and
// convert-parallel-loops-to-gpu turn each nest into one gpu.launch; on the host,
// scf-to-cf runs the same loops, which is how their numerics are tested without a GPU.
//
// Threads share nothing but global memory: a kernel writes what the next one reads, and
// the only cross-thread update is an atomic max (the slot of a pair in moe.unpermute),
// whose result does not depend on the order of the threads.
//
//===----------------------------------------------------------------------===//

#include "LoopKernels.h"
#include "moec/Codegen/Common/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>
#include <optional>

namespace moec {
#define GEN_PASS_DEF_LOWERMOEKERNELSTOLOOPS
#include "codegen/common/Passes.h.inc"
} // namespace moec

using namespace mlir;
using namespace moec::moe;
using namespace moec::loops;

/// Whether `op` is a grouped matmul with fp8 (e4m3) weights and block scales.
static bool hasFP8Weights(Operation *op) {
  auto matmul = dyn_cast<GroupedMatmulOp>(op);
  return matmul && isa<Float8E4M3FNType>(getElementTypeOrSelf(matmul.getWeights()));
}

/// Why the loops cannot implement `op` (a kernel-level moe op), if they cannot: they
/// compute in f32 on f32, f16 or bf16 values and i32 ids, with unquantized or fp8 weights.
static std::optional<std::string> unsupportedReason(Operation *op) {
  if (auto matmul = dyn_cast<GroupedMatmulOp>(op);
      matmul && matmul.getScales() && !hasFP8Weights(op))
    return "integer-quantized expert weights are not supported by the loop kernels yet";
  if (auto route = dyn_cast<RouteOp>(op); route && !route.getRouting().isDropless())
    return "capacity-limited routing is not supported by the loop kernels yet";
  for (Value value : llvm::concat<Value>(op->getOperands(), op->getResults())) {
    if (hasFP8Weights(op) && value == cast<GroupedMatmulOp>(op).getWeights())
      continue;
    Type element = getElementTypeOrSelf(value.getType());
    if (!element.isF32() && !element.isF16() && !element.isBF16() && !element.isInteger(32)) {
      std::string reason;
      llvm::raw_string_ostream os(reason);
      os << "the loop kernels take f32, f16 and bf16 values and i32 ids, not " << element;
      return reason;
    }
  }
  return std::nullopt;
}


namespace {
//===----------------------------------------------------------------------===//
// moe.route
//===----------------------------------------------------------------------===//

/// The best `size` (key, id) pairs seen so far, best first: a higher key first, ties
/// toward the lower id. Kept in SSA values (registers on a GPU), not in memory.
struct TopK {
  SmallVector<Value> keys, ids;

  static TopK empty(KernelBuilder &kb, int64_t size) {
    TopK list;
    // Every candidate beats an empty slot: its key is -inf and its id the largest index.
    list.keys.assign(size, kb.f32(-std::numeric_limits<float>::infinity()));
    list.ids.assign(size, kb.index(std::numeric_limits<int64_t>::max()));
    return list;
  }

  SmallVector<Value> values() const { return llvm::to_vector(llvm::concat<const Value>(keys, ids)); }
  static TopK fromValues(ValueRange values) {
    TopK list;
    size_t size = values.size() / 2;
    list.keys.assign(values.begin(), values.begin() + size);
    list.ids.assign(values.begin() + size, values.end());
    return list;
  }

  /// The list with (key, id) inserted in its place (the worst entry falls off). The
  /// entries it beats form a suffix, so each slot keeps its entry, takes the
  /// candidate, or takes the entry before it.
  TopK offer(KernelBuilder &kb, Value key, Value id) const {
    SmallVector<Value> beats;
    for (auto [slotKey, slotId] : llvm::zip_equal(keys, ids))
      beats.push_back(kb.either(
          kb.cmpf(arith::CmpFPredicate::OGT, key, slotKey),
          kb.both(kb.cmpf(arith::CmpFPredicate::OEQ, key, slotKey), kb.ult(id, slotId))));
    TopK next;
    for (size_t slot = 0; slot < keys.size(); ++slot) {
      Value newKey = key, newId = id;
      if (slot > 0) {
        newKey = kb.select(beats[slot - 1], keys[slot - 1], key);
        newId = kb.select(beats[slot - 1], ids[slot - 1], id);
      }
      next.keys.push_back(kb.select(beats[slot], newKey, keys[slot]));
      next.ids.push_back(kb.select(beats[slot], newId, ids[slot]));
    }
    return next;
  }

  /// Offers every id in [lower, upper), in order, with the key `keyOf(id)`.
  TopK offerRange(KernelBuilder &kb, Value lower, Value upper,
                  function_ref<Value(Value)> keyOf) const {
    ValueRange result = kb.forLoop(lower, upper, values(), [&](Value id, ValueRange carried) {
      return fromValues(carried).offer(kb, keyOf(id), id).values();
    });
    return fromValues(result);
  }
};

/// Routes the token `token`, one thread, as moec_rt_moe_route_f32 does.
class TokenRouter {
public:
  TokenRouter(KernelBuilder &kb, RoutingAttr routing, Value logits, Value scoreBias,
              Value experts, Value token)
      : kb(kb), routing(routing), logits(logits), scoreBias(scoreBias), experts(experts),
        token(token) {}

  void route(Value weights, Value expertIds) {
    computeSoftmaxNormalizer();
    TopK chosen = choose();
    int64_t k = routing.getK();
    SmallVector<Value> chosenWeights;
    for (int64_t j = 0; j < k; ++j)
      chosenWeights.push_back(score(chosen.ids[j]));
    if (softmaxOfChosen()) {
      Value max = chosenWeights[0];
      for (int64_t j = 1; j < k; ++j)
        max = kb.stdMax(max, chosenWeights[j]);
      for (Value &weight : chosenWeights)
        weight = kb.exp(kb.sub(weight, max));
    }
    if (routing.getTopkFirst() && routing.getScoring() == Scoring::sigmoid)
      for (Value &weight : chosenWeights)
        weight = kb.sigmoid(weight);
    if (routing.getScoring() == Scoring::sparse_mixer)
      for (int64_t j = 0; j < k; ++j)
        chosenWeights[j] = sparseMixerWeight(chosen.ids[j], ArrayRef(chosen.ids).take_front(j));
    Value sum = kb.f32(0.0f);
    for (Value weight : chosenWeights)
      sum = kb.add(sum, weight);
    bool divide = routing.getRenormalize() || softmaxOfChosen();
    if (routing.getRenormalize())
      sum = kb.add(sum, kb.f32(float(routing.getRenormalizeEpsilon().convertToDouble())));
    Value scale = kb.f32(float(routing.getRoutedScalingFactor().convertToDouble()));
    for (int64_t j = 0; j < k; ++j) {
      Value weight = divide ? kb.div(chosenWeights[j], sum) : chosenWeights[j];
      kb.storeF32(kb.mul(weight, scale), weights, {token, kb.index(j)});
      kb.storeIndexAsI32(chosen.ids[j], expertIds, {token, kb.index(j)});
    }
  }

private:
  /// Softmax over the k chosen logits only (topk_first): the choice is on the logits.
  bool softmaxOfChosen() const {
    return routing.getTopkFirst() && routing.getScoring() == Scoring::softmax;
  }
  /// Whether the scores are the raw logits (choosing on logits first, or SparseMixer).
  bool scoresAreLogits() const {
    return routing.getTopkFirst() || routing.getScoring() == Scoring::sparse_mixer;
  }

  Value logit(Value expert) { return kb.loadF32(logits, {token, expert}); }

  /// The softmax's max and sum over all experts, for scores over all experts.
  void computeSoftmaxNormalizer() {
    if (scoresAreLogits() || routing.getScoring() != Scoring::softmax)
      return;
    max = kb.forLoop(kb.index(1), experts, {logit(kb.index(0))},
                     [&](Value e, ValueRange carried) -> SmallVector<Value> {
                       return {kb.stdMax(carried[0], logit(e))};
                     })[0];
    sum = kb.forLoop(kb.index(0), experts, {kb.f32(0.0f)},
                     [&](Value e, ValueRange carried) -> SmallVector<Value> {
                       return {kb.add(carried[0], kb.exp(kb.sub(logit(e), max)))};
                     })[0];
  }

  /// Expert `expert`'s score, recomputed from its logit (no per-expert array).
  Value score(Value expert) {
    Value l = logit(expert);
    if (scoresAreLogits())
      return l;
    if (routing.getScoring() == Scoring::sigmoid)
      return kb.sigmoid(l);
    if (routing.getScoring() == Scoring::sqrt_softplus)
      return sqrtSoftplus(l);
    return kb.div(kb.exp(kb.sub(l, max)), sum);
  }

  /// sqrt(softplus(x)), as the host kernel computes it: x itself above 20 (where exp would
  /// soon overflow), log1p(exp(x)) elsewhere.
  Value sqrtSoftplus(Value x) {
    Value large = kb.cmpf(arith::CmpFPredicate::OGT, x, kb.f32(20.0f));
    Value softplus = kb.select(large, x, math::Log1pOp::create(kb.b, kb.exp(x)));
    return math::SqrtOp::create(kb.b, softplus);
  }

  /// The key experts are chosen by: the score plus the score bias.
  Value choiceKey(Value expert) {
    Value key = score(expert);
    return scoreBias ? kb.add(key, kb.loadF32(scoreBias, {expert})) : key;
  }

  /// The k chosen experts, among all or (group-limited) among the best groups' experts.
  TopK choose() {
    int64_t k = routing.getK();
    TopK chosen = TopK::empty(kb, k);
    int64_t groups = routing.getNGroup();
    int64_t bestGroups = routing.getTopkGroup();
    if (groups <= 1 || bestGroups >= groups)
      return chosen.offerRange(kb, kb.index(0), experts,
                               [&](Value e) { return choiceKey(e); });
    Value groupSize = kb.div(experts, kb.index(groups));
    TopK chosenGroups = TopK::empty(kb, bestGroups).offerRange(
        kb, kb.index(0), kb.index(groups), [&](Value group) { return groupScore(group, groupSize); });
    if (routing.getZeroMaskedGroups())
      // Every expert competes, those outside the best groups with a key of 0.
      return chosen.offerRange(kb, kb.index(0), experts, [&](Value e) {
        Value group = kb.div(e, groupSize);
        Value kept = kb.eq(group, chosenGroups.ids[0]);
        for (Value bestGroup : ArrayRef(chosenGroups.ids).drop_front())
          kept = kb.either(kept, kb.eq(group, bestGroup));
        return kb.select(kept, choiceKey(e), kb.f32(0.0f));
      });
    for (Value group : chosenGroups.ids) {
      Value first = kb.mul(group, groupSize);
      chosen = chosen.offerRange(kb, first, kb.add(first, groupSize),
                                 [&](Value e) { return choiceKey(e); });
    }
    return chosen;
  }

  /// A group's rank: the sum of its two best choice keys (its only one, if it has one).
  Value groupScore(Value group, Value groupSize) {
    Value first = kb.mul(group, groupSize);
    Value minusInf = kb.f32(-std::numeric_limits<float>::infinity());
    ValueRange best = kb.forLoop(
        first, kb.add(first, groupSize), {minusInf, minusInf},
        [&](Value e, ValueRange carried) -> SmallVector<Value> {
          Value key = choiceKey(e);
          Value beatsFirst = kb.cmpf(arith::CmpFPredicate::OGT, key, carried[0]);
          Value beatsSecond = kb.cmpf(arith::CmpFPredicate::OGT, key, carried[1]);
          return {kb.select(beatsFirst, key, carried[0]),
                  kb.select(beatsFirst, carried[0], kb.select(beatsSecond, key, carried[1]))};
        });
    Value hasTwo = kb.ult(kb.index(1), groupSize);
    return kb.select(hasTwo, kb.add(best[0], best[1]), best[0]);
  }

  /// SparseMixer's weight of `chosen`: one over the softmax's sum at its logit m over the
  /// experts it does not mask, the `earlier` chosen experts left out.
  Value sparseMixerWeight(Value chosen, ArrayRef<Value> earlier) {
    Value threshold = logit(chosen);
    Value twiceEps = kb.f32(2 * float(routing.getJitterEps().convertToDouble()));
    Value total = kb.forLoop(
        kb.index(0), experts, {kb.f32(0.0f)},
        [&](Value e, ValueRange carried) -> SmallVector<Value> {
          Value l = logit(e);
          Value factor = kb.stdMax(math::AbsFOp::create(kb.b, l), threshold);
          Value skip = kb.cmpf(arith::CmpFPredicate::OGT, kb.sub(threshold, l),
                               kb.mul(twiceEps, factor));
          for (Value earlierId : earlier)
            skip = kb.either(skip, kb.eq(e, earlierId));
          Value added = kb.add(carried[0], kb.exp(kb.sub(l, threshold)));
          return {kb.select(skip, carried[0], added)};
        })[0];
    return kb.div(kb.f32(1.0f), total);
  }

  KernelBuilder &kb;
  RoutingAttr routing;
  Value logits, scoreBias, experts, token;
  Value max, sum;
};

struct RouteToLoops : OpRewritePattern<RouteOp> {
  RouteToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(RouteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    KernelBuilder kb(rewriter, op, shape);
    Value logits = op.getRouterWeight() ? routerLogits(kb, op) : kb.buffer(op.getInput());
    Value scoreBias = op.getScoreBias() ? kb.buffer(op.getScoreBias()) : Value();
    Value tokens = kb.dim(logits, 0), experts = kb.dim(logits, 1);
    Value k = kb.index(op.getRouting().getK());
    Value weights = kb.alloc(op.getWeights().getType(), {tokens, k});
    Value expertIds = kb.alloc(op.getExpertIds().getType(), {tokens, k});
    kb.forEachIndex("moe_route", tokens, [&](Value token) {
      TokenRouter(kb, op.getRouting(), logits, scoreBias, experts, token)
          .route(weights, expertIds);
    });
    kb.replace(rewriter, op, {weights, expertIds});
    return success();
  }

  /// The logits of a route with a router, `input @ router^T + router_bias`, in a buffer of
  /// f32 that a kernel of their own writes, a thread per logit: the routing kernel reads
  /// each logit several times, which recomputing a dot product over the hidden size each
  /// time would multiply.
  static Value routerLogits(KernelBuilder &kb, RouteOp op) {
    Value input = kb.buffer(op.getInput()), router = kb.buffer(op.getRouterWeight());
    Value bias = op.getRouterBias() ? kb.buffer(op.getRouterBias()) : Value();
    Value tokens = kb.dim(input, 0), hidden = kb.dim(input, 1), experts = kb.dim(router, 0);
    auto inputType = cast<ShapedType>(op.getInput().getType());
    auto logitsType =
        RankedTensorType::get({inputType.getDimSize(0), op.getNumExperts()}, kb.b.getF32Type());
    Value logits = kb.alloc(logitsType, {tokens, experts});
    int64_t threads = kb.shape.threadsPerBlock;
    kb.grid("moe_route_logits", {tokens, kb.ceilDiv(experts, threads)}, threads,
            [&](ValueRange block, Value thread) {
              Value token = block[0];
              Value expert = kb.add(kb.mul(block[1], kb.index(threads)), thread);
              kb.ifThen(kb.ult(expert, experts), [&] {
                Value init = bias ? kb.loadF32(bias, {expert}) : kb.f32(0.0f);
                Value logit = kb.forLoop(
                    kb.index(0), hidden, {init},
                    [&](Value h, ValueRange carried) -> SmallVector<Value> {
                      return {kb.add(carried[0], kb.mul(kb.loadF32(input, {token, h}),
                                                        kb.loadF32(router, {expert, h})))};
                    })[0];
                kb.storeF32(logit, logits, {token, expert});
              });
            });
    return logits;
  }

  KernelShape shape;
};

//===----------------------------------------------------------------------===//
// moe.permute
//===----------------------------------------------------------------------===//

/// A counting sort in chunks of `pairs-per-chunk` pairs, stable and without atomics:
/// 1. one thread per chunk counts its pairs per expert (counts[chunk][expert]);
/// 2. one thread per expert turns its column of counts into exclusive prefix sums over
///    the chunks and keeps the total;
/// 3. one thread per expert sums the padded totals of the experts up to its own into the
///    end of its segment (expert_offsets): E^2 additions at most, no barrier, and no host
///    code between kernels, which would make the host wait mid-run;
/// 4. every slot starts as padding;
/// 5. one thread per chunk scatters its pairs, in order, from its chunk's place in each
///    segment.
/// Chunks in order and pairs in order within a chunk keep token order in a segment.
struct PermuteToLoops : OpRewritePattern<PermuteOp> {
  PermuteToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(PermuteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    KernelBuilder kb(rewriter, op, shape);
    Value expertIds = kb.buffer(op.getExpertIds());
    Value k = kb.dim(expertIds, 1);
    Value pairs = kb.mul(kb.dim(expertIds, 0), k);
    int64_t numExperts = op.getNumExperts();
    Value experts = kb.index(numExperts);
    Value blockSize = kb.index(op.getBlockSize());
    Value slots = kb.add(pairs, kb.index(numExperts * (op.getBlockSize() - 1)));
    Value sortedIds = kb.alloc(op.getSortedIds().getType(), {slots});
    Value offsets = kb.alloc(op.getExpertOffsets().getType(), {kb.index(numExperts + 1)});
    Value chunks = kb.ceilDiv(pairs, shape.pairsPerChunk);
    Value counts = kb.allocI32({chunks, experts});
    Value totals = kb.allocI32({experts});

    // Calls `body(pair, expert)` for every pair of `chunk` naming an expert, in order.
    auto forEachPairOfChunk = [&](Value chunk, function_ref<void(Value, Value)> body) {
      Value first = kb.mul(chunk, kb.index(shape.pairsPerChunk));
      Value last = arith::MinUIOp::create(kb.b, kb.add(first, kb.index(shape.pairsPerChunk)), pairs);
      kb.forLoop(first, last, [&](Value pair) {
        Value idI32 = memref::LoadOp::create(kb.b, expertIds,
                                             ValueRange{kb.div(pair, k), kb.rem(pair, k)});
        kb.ifThen(kb.validId(idI32, experts), [&] {
          body(pair, arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), idI32));
        });
      });
    };
    auto increment = [&](Value memref, ValueRange indices) {
      Value count = kb.loadIndex(memref, indices);
      kb.storeIndexAsI32(kb.add(count, kb.index(1)), memref, indices);
    };

    kb.forEachIndex("moe_permute_count", chunks, [&](Value chunk) {
      kb.forLoop(kb.index(0), experts, [&](Value e) {
        kb.storeIndexAsI32(kb.index(0), counts, {chunk, e});
      });
      forEachPairOfChunk(chunk, [&](Value, Value e) { increment(counts, {chunk, e}); });
    });
    kb.forEachIndex("moe_permute_prefix_sums", experts, [&](Value e) {
      Value total = kb.forLoop(kb.index(0), chunks, {kb.index(0)},
                               [&](Value chunk, ValueRange carried) -> SmallVector<Value> {
                                 Value count = kb.loadIndex(counts, {chunk, e});
                                 kb.storeIndexAsI32(carried[0], counts, {chunk, e});
                                 return {kb.add(carried[0], count)};
                               })[0];
      kb.storeIndexAsI32(total, totals, {e});
    });
    kb.forEachIndex("moe_permute_offsets", experts, [&](Value e) {
      kb.ifThen(kb.eq(e, kb.index(0)),
                [&] { kb.storeIndexAsI32(kb.index(0), offsets, {kb.index(0)}); });
      Value end = kb.forLoop(
          kb.index(0), kb.add(e, kb.index(1)), {kb.index(0)},
          [&](Value earlier, ValueRange carried) -> SmallVector<Value> {
            Value padded =
                kb.mul(kb.ceilDiv(kb.loadIndex(totals, {earlier}), op.getBlockSize()), blockSize);
            return {kb.add(carried[0], padded)};
          })[0];
      kb.storeIndexAsI32(end, offsets, {kb.add(e, kb.index(1))});
    });
    kb.forEachIndex("moe_permute_pad", slots,
                    [&](Value slot) { kb.storeIndexAsI32(pairs, sortedIds, {slot}); });
    kb.forEachIndex("moe_permute_scatter", chunks, [&](Value chunk) {
      forEachPairOfChunk(chunk, [&](Value pair, Value e) {
        Value place = kb.add(kb.loadIndex(offsets, {e}), kb.loadIndex(counts, {chunk, e}));
        kb.storeIndexAsI32(pair, sortedIds, {place});
        increment(counts, {chunk, e});
      });
    });
    kb.replace(rewriter, op, {sortedIds, offsets});
    return success();
  }

  KernelShape shape;
};

//===----------------------------------------------------------------------===//
// moe.grouped_matmul
//===----------------------------------------------------------------------===//

/// The f32 value of `code`, an f8E4M3FN (sign, 4 exponent bits of bias 7, 3 mantissa bits;
/// no infinities, S.1111.111 is NaN), by integer arithmetic on its bits: arith.extf from
/// f8E4M3FN has no LLVM lowering (LLVM has no fp8 type). A normal value's exponent and
/// mantissa bits shifted into an f32's are its value once the exponent is rebiased (+120);
/// a subnormal one (exponent 0) is its mantissa times 2^-9, computed without f32
/// subnormals, which a GPU may flush to zero.
static Value decodeE4M3(KernelBuilder &kb, Value code) {
  auto i32 = [&](int32_t value) { return arith::ConstantIntOp::create(kb.b, value, 32); };
  Value bits = arith::ExtUIOp::create(kb.b, kb.b.getI32Type(),
                                      arith::BitcastOp::create(kb.b, kb.b.getI8Type(), code));
  Value magnitude = arith::AndIOp::create(kb.b, bits, i32(0x7F));
  Value normal = arith::BitcastOp::create(
      kb.b, kb.b.getF32Type(),
      arith::AddIOp::create(kb.b, arith::ShLIOp::create(kb.b, magnitude, i32(20)), i32(120 << 23)));
  Value subnormal =
      kb.mul(arith::UIToFPOp::create(kb.b, kb.b.getF32Type(), magnitude), kb.f32(0x1p-9f));
  Value value = kb.select(kb.ult(magnitude, i32(8)), subnormal, normal);
  value = kb.select(kb.eq(magnitude, i32(0x7F)), kb.f32(std::numeric_limits<float>::quiet_NaN()),
                    value);
  Value negative = kb.ult(i32(0x7F), bits);
  return kb.select(negative, arith::NegFOp::create(kb.b, value), value);
}

/// Element [e, k, n] of a grouped matmul's weights as f32: f32, f16 or bf16 ones as they
/// are; fp8 ones decoded and times the scale of their block of rows and columns.
struct ExpertWeightReader {
  ExpertWeightReader(KernelBuilder &kb, GroupedMatmulOp op) : weights(kb.buffer(op.getWeights())) {
    if (!hasFP8Weights(op))
      return;
    scales = kb.buffer(op.getScales());
    blockRows = kb.div(kb.dim(weights, 1), kb.dim(scales, 1));
    blockColumns = kb.div(kb.dim(weights, 2), kb.dim(scales, 2));
  }

  Value at(KernelBuilder &kb, Value e, Value k, Value n) const {
    if (!scales)
      return kb.loadF32(weights, {e, k, n});
    Value code = memref::LoadOp::create(kb.b, weights, ValueRange{e, k, n});
    return kb.mul(decodeE4M3(kb, code),
                  kb.loadF32(scales, {e, kb.div(k, blockRows), kb.div(n, blockColumns)}));
  }

  Value weights, scales, blockRows, blockColumns;
};

/// One block per tile of `matmul-tile-rows` by `matmul-tile-columns` result columns, a
/// thread per result element, the K loop sequential in the thread. A thread finds the
/// segment of its row by a binary search of the offsets, so rows past the used length,
/// padding rows and empty experts cost no multiply-adds.
struct GroupedMatmulToLoops : OpRewritePattern<GroupedMatmulOp> {
  GroupedMatmulToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    if (op.getCombineWeights())
      return rewriter.notifyMatchFailure(op, "the combine is split off first");
    KernelBuilder kb(rewriter, op, shape);
    Value input = kb.buffer(op.getInput());
    ExpertWeightReader weights(kb, op);
    Value offsets = kb.buffer(op.getExpertOffsets());
    Value sortedIds = op.getSortedIds() ? kb.buffer(op.getSortedIds()) : Value();
    Value bias = op.getBias() ? kb.buffer(op.getBias()) : Value();
    ExpertAttr expert = op.getExpertAttr();
    bool gated = expert && expert.getGated();

    Value rows = kb.dim(sortedIds ? sortedIds : input, 0);
    Value depth = kb.dim(weights.weights, 1), columns = kb.dim(weights.weights, 2);
    Value resultColumns = gated ? kb.div(columns, kb.index(2)) : columns;
    Value experts = kb.dim(weights.weights, 0);
    Value validIds = kb.mul(kb.dim(input, 0), kb.index(op.getRowsPerToken().value_or(1)));
    Value rowsPerToken = kb.index(std::max<int64_t>(op.getRowsPerToken().value_or(1), 1));
    Value result = kb.alloc(op.getResult().getType(), {rows, resultColumns});

    ExpertSegments segments(kb, offsets, rows, experts);

    kb.grid("grouped_matmul_loops",
            {kb.ceilDiv(rows, shape.matmulTileRows),
             kb.ceilDiv(resultColumns, shape.matmulTileColumns)},
            shape.matmulTileRows * shape.matmulTileColumns, [&](ValueRange block, Value thread) {
              Value tileColumns = kb.index(shape.matmulTileColumns);
              Value row = kb.add(kb.mul(block[0], kb.index(shape.matmulTileRows)),
                                 kb.div(thread, tileColumns));
              Value column = kb.add(kb.mul(block[1], tileColumns), kb.rem(thread, tileColumns));
              Value inside = kb.both(kb.ult(row, rows), kb.ult(column, resultColumns));
              kb.ifThen(inside, [&] {
                // A row computes when it is inside a segment and names a pair.
                Value computes = kb.ult(row, segments.used());
                Value inputRow = row;
                if (sortedIds) {
                  Value idI32 = memref::LoadOp::create(kb.b, sortedIds, ValueRange{row});
                  computes = kb.both(computes, kb.validId(idI32, validIds));
                  inputRow = kb.div(arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), idI32),
                                    rowsPerToken);
                }
                kb.ifThen(
                    computes,
                    [&] {
                      Value e = segments.expertOfRow(row);
                      Value value = dotProducts(kb, op, input, inputRow, weights, bias, e, depth,
                                                column, resultColumns, gated);
                      kb.storeF32(value, result, {row, column});
                    },
                    [&] { kb.storeF32(kb.f32(0.0f), result, {row, column}); });
              });
            });
    kb.replace(rewriter, op, {result});
    return success();
  }

  KernelShape shape;

private:
  /// Row `inputRow` times column `column` of expert `e`'s weights (and, gated, the up
  /// column `resultColumns` further), from the bias, through the epilogue.
  static Value dotProducts(KernelBuilder &kb, GroupedMatmulOp op, Value input, Value inputRow,
                           const ExpertWeightReader &weights, Value bias, Value e, Value depth,
                           Value column, Value resultColumns, bool gated) {
    Value upColumn = kb.add(column, resultColumns);
    auto start = [&](Value c) { return bias ? kb.loadF32(bias, {e, c}) : kb.f32(0.0f); };
    SmallVector<Value> inits = {start(column)};
    if (gated)
      inits.push_back(start(upColumn));
    ValueRange sums =
        kb.forLoop(kb.index(0), depth, inits, [&](Value i, ValueRange carried) {
          Value x = kb.loadF32(input, {inputRow, i});
          SmallVector<Value> next = {kb.add(carried[0], kb.mul(x, weights.at(kb, e, i, column)))};
          if (gated)
            next.push_back(kb.add(carried[1], kb.mul(x, weights.at(kb, e, i, upColumn))));
          return next;
        });
    ExpertAttr expert = op.getExpertAttr();
    if (!expert)
      return sums[0];
    return expertEpilogue(kb, expert, sums[0], gated ? sums[1] : Value());
  }
};

/// A grouped matmul with the combine epilogue → the grouped matmul and a moe.unpermute:
/// the loop kernels have no epilogue that sums rows of other threads' segments into a
/// token, so the combine runs as the unpermute's kernels, as without the fusion.
struct SplitCombineFromGroupedMatmul : OpRewritePattern<GroupedMatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GroupedMatmulOp op, PatternRewriter &rewriter) const override {
    Value combineIds = op.getCombineIds(), combineWeights = op.getCombineWeights();
    if (!combineWeights)
      return rewriter.notifyMatchFailure(op, "the grouped matmul does not combine");
    auto resultType = cast<RankedTensorType>(op.getResult().getType());
    auto rowsType = RankedTensorType::get(
        {cast<ShapedType>(combineIds.getType()).getDimSize(0), resultType.getDimSize(1)},
        resultType.getElementType());
    Value rows = GroupedMatmulOp::create(
        rewriter, op.getLoc(), rowsType, op.getInput(), op.getWeights(), op.getExpertOffsets(),
        op.getSortedIds(), op.getBias(), op.getScales(), op.getZeroPoints(),
        /*combine_ids=*/nullptr, /*combine_weights=*/nullptr, op.getRowsPerTokenAttr(),
        op.getExpertAttr());
    rewriter.replaceOpWithNewOp<UnpermuteOp>(op, resultType, rows, combineIds, combineWeights);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// moe.gather_rows and moe.expert_activation (the plain form, without fusions)
//===----------------------------------------------------------------------===//

/// A thread per element of a `[rows, columns]` result, `element(row, column)` its f32
/// value; blocks of a row's columns, as moe.unpermute's combine.
static void forEachElement(KernelBuilder &kb, StringRef name, Value result, Value rows,
                           Value columns, function_ref<Value(Value row, Value column)> element) {
  int64_t threads = kb.shape.threadsPerBlock;
  kb.grid(name, {rows, kb.ceilDiv(columns, threads)}, threads,
          [&](ValueRange block, Value thread) {
            Value column = kb.add(kb.mul(block[1], kb.index(threads)), thread);
            kb.ifThen(kb.ult(column, columns),
                      [&] { kb.storeF32(element(block[0], column), result, {block[0], column}); });
          });
}

/// Row p is token row sorted_ids[p] / rows_per_token, zero for a padding slot.
struct GatherRowsToLoops : OpRewritePattern<GatherRowsOp> {
  GatherRowsToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(GatherRowsOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    KernelBuilder kb(rewriter, op, shape);
    Value tokens = kb.buffer(op.getTokens());
    Value sortedIds = kb.buffer(op.getSortedIds());
    Value rows = kb.dim(sortedIds, 0), columns = kb.dim(tokens, 1);
    Value rowsPerToken = kb.index(op.getRowsPerToken());
    Value validIds = kb.mul(kb.dim(tokens, 0), rowsPerToken);
    Value result = kb.alloc(op.getResult().getType(), {rows, columns});
    forEachElement(kb, "moe_gather_rows", result, rows, columns, [&](Value row, Value column) {
      Value idI32 = memref::LoadOp::create(kb.b, sortedIds, ValueRange{row});
      return kb.conditional(
          kb.validId(idI32, validIds),
          [&] {
            Value id = arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), idI32);
            return kb.loadF32(tokens, {kb.div(id, rowsPerToken), column});
          },
          [&] { return kb.f32(0.0f); });
    });
    kb.replace(rewriter, op, {result});
    return success();
  }

  KernelShape shape;
};

/// The grouped matmul's epilogue on its own: act(gate) (* up) per result element.
struct ExpertActivationToLoops : OpRewritePattern<ExpertActivationOp> {
  ExpertActivationToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(ExpertActivationOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    KernelBuilder kb(rewriter, op, shape);
    Value input = kb.buffer(op.getInput());
    bool gated = op.getExpert().getGated();
    Value rows = kb.dim(input, 0), columns = kb.dim(input, 1);
    Value resultColumns = gated ? kb.div(columns, kb.index(2)) : columns;
    Value result = kb.alloc(op.getResult().getType(), {rows, resultColumns});
    forEachElement(kb, "moe_expert_activation", result, rows, resultColumns,
                   [&](Value row, Value column) {
                     Value gate = kb.loadF32(input, {row, column});
                     Value up = gated ? kb.loadF32(input, {row, kb.add(column, resultColumns)})
                                      : Value();
                     return expertEpilogue(kb, op.getExpert(), gate, up);
                   });
    kb.replace(rewriter, op, {result});
    return success();
  }

  KernelShape shape;
};

//===----------------------------------------------------------------------===//
// moe.unpermute
//===----------------------------------------------------------------------===//

/// 1. every pair starts in no slot; 2. one thread per slot records itself as its pair's
/// slot with an atomic max, so the last slot naming a pair wins whatever the order of the
/// threads (as on the host); 3. one thread per result element sums the token's weighted
/// expert rows in slot order j = 0..k-1.
struct UnpermuteToLoops : OpRewritePattern<UnpermuteOp> {
  UnpermuteToLoops(MLIRContext *context, const KernelShape &shape)
      : OpRewritePattern(context), shape(shape) {}

  LogicalResult matchAndRewrite(UnpermuteOp op, PatternRewriter &rewriter) const override {
    if (std::optional<std::string> reason = unsupportedReason(op))
      return rewriter.notifyMatchFailure(op, *reason);
    KernelBuilder kb(rewriter, op, shape);
    Value expertOut = kb.buffer(op.getExpertOut());
    Value sortedIds = kb.buffer(op.getSortedIds());
    Value weights = kb.buffer(op.getWeights());
    Value tokens = kb.dim(weights, 0), k = kb.dim(weights, 1);
    Value columns = kb.dim(expertOut, 1);
    Value pairs = kb.mul(tokens, k);
    Value result = kb.alloc(op.getResult().getType(), {tokens, columns});
    Value slotOfPair = kb.allocI32({pairs});

    kb.forEachIndex("moe_unpermute_clear", pairs, [&](Value pair) {
      memref::StoreOp::create(kb.b, arith::ConstantIntOp::create(kb.b, kb.b.getI32Type(), -1),
                              slotOfPair, ValueRange{pair});
    });
    kb.forEachIndex("moe_unpermute_find_slots", kb.dim(sortedIds, 0), [&](Value slot) {
      Value idI32 = memref::LoadOp::create(kb.b, sortedIds, ValueRange{slot});
      kb.ifThen(kb.validId(idI32, pairs), [&] {
        memref::AtomicRMWOp::create(
            kb.b, arith::AtomicRMWKind::maxs,
            arith::IndexCastOp::create(kb.b, kb.b.getI32Type(), slot), slotOfPair,
            ValueRange{arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), idI32)});
      });
    });
    kb.grid("moe_unpermute_combine", {tokens, kb.ceilDiv(columns, shape.threadsPerBlock)},
            shape.threadsPerBlock, [&](ValueRange block, Value thread) {
              Value token = block[0];
              Value column = kb.add(kb.mul(block[1], kb.index(shape.threadsPerBlock)), thread);
              kb.ifThen(kb.ult(column, columns), [&] {
                Value sum = kb.forLoop(
                    kb.index(0), k, {kb.f32(0.0f)},
                    [&](Value j, ValueRange carried) -> SmallVector<Value> {
                      Value pair = kb.add(kb.mul(token, k), j);
                      Value slotI32 = memref::LoadOp::create(kb.b, slotOfPair, ValueRange{pair});
                      Value placed = arith::CmpIOp::create(
                          kb.b, arith::CmpIPredicate::sge, slotI32,
                          arith::ConstantIntOp::create(kb.b, kb.b.getI32Type(), 0));
                      Value added = kb.conditional(
                          placed,
                          [&] {
                            Value slot =
                                arith::IndexCastOp::create(kb.b, kb.b.getIndexType(), slotI32);
                            return kb.add(carried[0], kb.mul(kb.loadF32(weights, {token, j}),
                                                             kb.loadF32(expertOut, {slot, column})));
                          },
                          [&] { return carried[0]; });
                      return {added};
                    })[0];
                kb.storeF32(sum, result, {token, column});
              });
            });
    kb.replace(rewriter, op, {result});
    return success();
  }

  KernelShape shape;
};

struct LowerMoEKernelsToLoops : moec::impl::LowerMoEKernelsToLoopsBase<LowerMoEKernelsToLoops> {
  using LowerMoEKernelsToLoopsBase::LowerMoEKernelsToLoopsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    bool unsupported = false;
    module.walk([&](Operation *op) {
      if (!isa<RouteOp, PermuteOp, GatherRowsOp, GroupedMatmulOp, ExpertActivationOp,
               UnpermuteOp>(op))
        return;
      if (std::optional<std::string> reason = unsupportedReason(op)) {
        op->emitError() << *reason;
        unsupported = true;
      }
    });
    if (unsupported)
      return signalPassFailure();

    KernelShape shape{threadsPerBlock, matmulTileRows, matmulTileColumns, pairsPerChunk};
    for (auto [name, value] : {std::pair<StringRef, int64_t>{"threads-per-block", threadsPerBlock},
                               {"matmul-tile-rows", matmulTileRows},
                               {"matmul-tile-columns", matmulTileColumns},
                               {"pairs-per-chunk", pairsPerChunk}})
      if (value < 1) {
        module.emitError() << getArgument() << ": " << name << " must be positive, not "
                           << value;
        return signalPassFailure();
      }
    if (threadsPerBlock > kMaxThreadsPerBlock ||
        matmulTileRows * matmulTileColumns > kMaxThreadsPerBlock) {
      module.emitError() << getArgument() << ": a block has at most " << kMaxThreadsPerBlock
                         << " threads (threads-per-block, matmul-tile-rows x "
                            "matmul-tile-columns)";
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<RouteToLoops, PermuteToLoops, GatherRowsToLoops, GroupedMatmulToLoops,
                 ExpertActivationToLoops, UnpermuteToLoops>(&getContext(), shape);
    patterns.add<SplitCombineFromGroupedMatmul>(&getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
